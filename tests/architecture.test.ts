// The import rules of eslint.config.mjs (no-restricted-imports per files glob), through the ESLint Node API: fixture
// sources from tests/fixtures/architecture and one-line imports, linted as if they were files under lib/ or apps/.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Linter } from 'eslint';

const ROOT = path.resolve(__dirname, '..');
const FIXTURES = path.join(__dirname, 'fixtures', 'architecture');
const RULE = 'no-restricted-imports';

/**
 * Lints each `{ code, filePath }` read as JSON from stdin with the repository's config and prints the messages.
 * It runs in a child process because ESLint loads eslint.config.mjs with `import()`, which Jest's module sandbox
 * refuses without --experimental-vm-modules. Two changes to the config: typed linting (projectService) only opens
 * files on disk, and the import rules need no types, so it lints without type information and runs only the rule
 * under test; the files therefore need not exist.
 */
const LINT_AS = `
import { ESLint } from 'eslint';
let input = '';
for await (const chunk of process.stdin) input += chunk;
const eslint = new ESLint({
  cwd: process.cwd(),
  overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
  ruleFilter: ({ ruleId }) => ruleId === '${RULE}',
});
const results = [];
for (const { code, filePath } of JSON.parse(input)) results.push((await eslint.lintText(code, { filePath }))[0].messages);
process.stdout.write(JSON.stringify(results));
`;

/** Code to lint as the repository file `file`. */
interface LintCase {
  readonly code: string;
  readonly file: string;
}

const pending: LintCase[] = [];
let results: Linter.LintMessage[][] | undefined;

/** Queues `code` to be linted as `file`; the returned function gives its messages once beforeAll has linted the queue. */
function lintAs(code: string, file: string): () => Linter.LintMessage[] {
  const index = pending.push({ code, file }) - 1;
  return () => {
    if (results === undefined) throw new Error('the lint results are read before beforeAll linted the cases');
    return results[index];
  };
}

beforeAll(() => {
  const input = JSON.stringify(pending.map(({ code, file }) => ({ code, filePath: path.join(ROOT, file) })));
  results = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', LINT_AS], { cwd: ROOT, input, encoding: 'utf8' }));
}, 60_000);

/** The 1-based lines of `code` that import or re-export from a module. */
function importLines(code: string): number[] {
  return code.split('\n').flatMap((line, i) => (/^(import|export) .*['"];$/.test(line) && / from |^import '/.test(line) ? [i + 1] : []));
}

const MESSAGES = {
  constructs: /constructs must not import config, charts, services, rollout or delivery/,
  manifests: /manifest code \(lib\/, main\.ts, scripts\/\) must not import apps\//,
  services: /services \(apps\/\) must not import lib\//,
};

/** Reads a fixture. */
const fixture = (name: string): string => fs.readFileSync(path.join(FIXTURES, name), 'utf8');

describe.each([
  { fixture: 'construct-imports-config.ts', file: 'lib/constructs/fixture-violation.ts', message: MESSAGES.constructs },
  { fixture: 'construct-imports-layers.ts', file: 'lib/constructs/private/fixture-violation.ts', message: /must not import/ },
  { fixture: 'lib-imports-apps.ts', file: 'lib/charts/fixture-violation.ts', message: MESSAGES.manifests },
  { fixture: 'app-imports-lib.ts', file: 'apps/shared/fixture-violation.ts', message: MESSAGES.services },
])('$fixture linted as $file', ({ fixture: name, file, message }) => {
  const code = fixture(name);
  const messages = lintAs(code, file);

  test('reports a no-restricted-imports error on every import line, and nothing else', () => {
    expect(importLines(code).length).toBeGreaterThan(0);
    expect(messages().map(m => ({ ruleId: m.ruleId, severity: m.severity, line: m.line }))).toEqual(
      importLines(code).map(line => ({ ruleId: RULE, severity: 2, line })),
    );
    for (const m of messages()) expect(m.message).toMatch(message);
  });
});

describe('a construct importing apps/ and the layers above it', () => {
  const code = fixture('construct-imports-layers.ts');
  const messages = lintAs(code, 'lib/constructs/private/fixture-violation.ts');

  test('is told the rule each import breaks: apps/ is service code, the rest are layers above constructs', () => {
    const appsLine = code.split('\n').findIndex(l => l.includes("'../../../apps/contract'")) + 1;
    const [apps, layers] = [messages().filter(m => m.line === appsLine), messages().filter(m => m.line !== appsLine)];
    expect(apps.map(m => m.message)).toEqual([expect.stringMatching(MESSAGES.manifests)]);
    expect(layers.length).toBe(importLines(code).length - 1);
    for (const m of layers) expect(m.message).toMatch(MESSAGES.constructs);
  });
});

describe('a construct importing its own files and packages', () => {
  const code = fixture('construct-allowed.ts');
  const messages = lintAs(code, 'lib/constructs/fixture-allowed.ts');

  test('reports nothing', () => {
    expect(importLines(code)).toHaveLength(5);
    expect(messages()).toEqual([]);
  });
});

// one import per row: relative imports at any depth, the directory itself, roundabout paths, and look-alikes that
// must stay allowed (a file named *-config, package paths with an `apps` segment, other layers' own imports)
const IMPORTS = [
  // constructs
  { file: 'lib/constructs/x.ts', from: '../config/environment', restricted: true },
  { file: 'lib/constructs/x.ts', from: '../config', restricted: true },
  { file: 'lib/constructs/x.ts', from: '../../lib/config/environments', restricted: true },
  { file: 'lib/constructs/x.ts', from: '../charts/namespaces', restricted: true },
  { file: 'lib/constructs/x.ts', from: '../services/catalog', restricted: true },
  { file: 'lib/constructs/x.ts', from: '../rollout/defaults', restricted: true },
  { file: 'lib/constructs/x.ts', from: '../delivery/gate', restricted: true },
  { file: 'lib/constructs/x.ts', from: '../../apps/contract', restricted: true },
  { file: 'lib/constructs/private/x.ts', from: '../../config/environment', restricted: true },
  { file: 'lib/constructs/private/x.ts', from: '../../../apps/contract', restricted: true },
  { file: 'lib/constructs/a/b/c/x.ts', from: '../../../../config/environment', restricted: true },
  { file: 'lib/constructs/x.ts', from: './types', restricted: false },
  { file: 'lib/constructs/x.ts', from: './prometheus-config', restricted: false },
  { file: 'lib/constructs/private/x.ts', from: '../otel-collector-config', restricted: false },
  { file: 'lib/constructs/x.ts', from: '../private/units', restricted: false },
  { file: 'lib/constructs/x.ts', from: 'kubernetes-models/apps/v1/Deployment', restricted: false },
  // manifests: lib/, main.ts, scripts/
  { file: 'lib/charts/x.ts', from: '../../apps/contract', restricted: true },
  { file: 'lib/delivery/x.ts', from: '../../apps/contract', restricted: true },
  { file: 'lib/x.ts', from: '../apps/contract', restricted: true },
  { file: 'lib/dashboards/private/x.ts', from: '../../../apps/shared/backend-api', restricted: true },
  { file: 'main.ts', from: './apps/contract', restricted: true },
  { file: 'scripts/x.ts', from: '../apps/contract', restricted: true },
  { file: 'lib/charts/x.ts', from: '../config/environment', restricted: false },
  { file: 'lib/charts/x.ts', from: './apps-chart', restricted: false },
  { file: 'lib/charts/x.ts', from: 'kubernetes-models/apps/v1/Deployment', restricted: false },
  // services
  { file: 'apps/shared/x.ts', from: '../../lib/constructs/types', restricted: true },
  { file: 'apps/gateway/src/x.ts', from: '../../../lib/config/environment', restricted: true },
  { file: 'apps/x.ts', from: '../lib/private/units', restricted: true },
  { file: 'apps/gateway/src/x.ts', from: '../../shared/config', restricted: false },
  { file: 'apps/backend/src/x.ts', from: '../../contract', restricted: false },
  // outside the rules: tests and bench import both sides
  { file: 'tests/x.test.ts', from: '../apps/contract', restricted: false },
  { file: 'tests/x.test.ts', from: '../lib/constructs/types', restricted: false },
  { file: 'bench/x.ts', from: '../apps/contract', restricted: false },
].map(row => ({ ...row, messages: lintAs(`import { x } from '${row.from}';\nexport { x };\n`, row.file) }));

test.each(IMPORTS)('$file importing $from: restricted $restricted', ({ restricted, messages }) => {
  expect(messages().map(m => m.ruleId)).toEqual(restricted ? [RULE] : []);
});
