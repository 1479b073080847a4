// `npm run checks`: the type check and ESLint on one TypeScript program. ESLint's type-aware rules need the program
// that `tsc --noEmit` builds; building it once here instead of in two processes saves about a third of the CPU time
// both took apart (tsc 10 s and ESLint 13 s on two cores, ESLint's own 10 s of it spent type-checking again).
//
// The program is incremental (node_modules/.cache/tsc), as `npm run typecheck` is. Exit 1 on a type error or a lint
// error, after printing all of both. An argument names another project directory (the tests check one).
import * as path from 'node:path';
import { ESLint } from 'eslint';
import * as ts from 'typescript';

const root = path.resolve(process.argv[2] ?? path.join(__dirname, '..'));
// the file `npm run typecheck` keeps too (its --tsBuildInfoFile in package.json): either run starts from the other's
const BUILD_INFO = path.join(root, 'node_modules', '.cache', 'tsc', 'tsconfig.tsbuildinfo');

/** The root tsconfig's program, built incrementally, and its diagnostics as tsc prints them. */
function typecheck(): { program: ts.Program; report: string; errors: number } {
  const configFile = ts.findConfigFile(root, ts.sys.fileExists, 'tsconfig.json');
  if (!configFile) throw new Error(`no tsconfig.json in ${root}`);
  const parsed = ts.getParsedCommandLineOfConfigFile(configFile, { incremental: true, tsBuildInfoFile: BUILD_INFO }, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: d => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); },
  });
  if (!parsed) throw new Error(`cannot read ${configFile}`);
  const builder = ts.createIncrementalProgram({ rootNames: parsed.fileNames, options: parsed.options, projectReferences: parsed.projectReferences });
  // the builder's own: it answers from the build info for the files that did not change (the program's would not)
  const diagnostics = [
    ...parsed.errors, ...builder.getConfigFileParsingDiagnostics(), ...builder.getOptionsDiagnostics(), ...builder.getGlobalDiagnostics(),
    ...builder.getSyntacticDiagnostics(), ...builder.getSemanticDiagnostics(),
  ];
  // writes the build info only (noEmit): the next run re-checks only what changed
  builder.emit();
  const host: ts.FormatDiagnosticsHost = { getCanonicalFileName: f => f, getCurrentDirectory: () => root, getNewLine: () => '\n' };
  const format = process.stdout.isTTY ? ts.formatDiagnosticsWithColorAndContext : ts.formatDiagnostics;
  return {
    program: builder.getProgram(),
    report: diagnostics.length ? format(diagnostics, host) : '',
    errors: diagnostics.filter(d => d.category === ts.DiagnosticCategory.Error).length,
  };
}

async function main(): Promise<number> {
  const { program, report, errors } = typecheck();
  if (report) process.stdout.write(report);
  const eslint = new ESLint({
    cwd: root,
    // the one config, named: ESLint would otherwise look for one from each file's directory up, and a directory that
    // another process removes meanwhile (the smoke tests run beside the checks) fails the whole run with
    // "Could not find config file"
    overrideConfigFile: path.join(root, 'eslint.config.mjs'),
    // the TypeScript files' rules read this program instead of building their own (eslint.config.mjs names the files)
    overrideConfig: { files: ['**/*.ts'], languageOptions: { parserOptions: { projectService: false, programs: [program] } } },
  });
  const results = await eslint.lintFiles(['.']);
  const formatter = await eslint.loadFormatter('stylish');
  const lint = await formatter.format(results);
  if (lint) process.stdout.write(lint);
  const lintErrors = results.reduce((n, r) => n + r.errorCount, 0);
  if (errors || lintErrors) {
    console.error(`checks failed: ${errors} type error(s), ${lintErrors} lint error(s)`);
    return 1;
  }
  return 0;
}

main().then(code => { process.exitCode = code; }, (error: unknown) => {
  // a crash in a rule, the parser or a config loader: where it happened matters
  console.error(error instanceof Error ? error.stack : error);
  process.exitCode = 1;
});
