// The pure core of `npm run import` (scripts/import.ts): its command line, the import specs of cdk8s.yaml and the
// mirror table (cdk8s.mirror.json), checked and joined. No files, network or processes here.

/** The file beside cdk8s.yaml that maps each upstream URL to its file name in a `--mirror` directory. */
export const MIRROR_TABLE_FILE = 'cdk8s.mirror.json';

/** How to call `npm run import`. */
export const IMPORT_USAGE = `usage: npm run import [-- --mirror DIR]

  without --mirror   download each URL in cdk8s.yaml 'imports'
  --mirror DIR       read each URL's file from DIR, a directory holding the upstream files, under the file
                     name ${MIRROR_TABLE_FILE} gives for that URL`;

/** A command-line mistake: the shell prints it with {@link IMPORT_USAGE} and exits with 2. */
export class ImportUsageError extends Error {}

/** A parsed `npm run import` command line. */
export interface ImportArgs {
  /** `--help`: print the usage, import nothing. */
  readonly help: boolean;
  /**
   * `--mirror DIR`, as given (the shell resolves it against the caller's directory).
   *
   * @default - download the URLs
   */
  readonly mirror?: string;
}

/**
 * Parses the arguments of `npm run import`: `--mirror DIR` (or `--mirror=DIR`) and `--help`.
 *
 * @throws {@link ImportUsageError} naming the argument and what is allowed
 */
export function parseImportArgs(argv: readonly string[]): ImportArgs {
  let mirror: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') return { help: true };
    if (arg !== '--mirror' && !arg.startsWith('--mirror=')) {
      throw new ImportUsageError(`unknown argument ${JSON.stringify(arg)}; allowed: --mirror DIR, --help`);
    }
    if (mirror !== undefined) throw new ImportUsageError(`--mirror given more than once (first ${JSON.stringify(mirror)}); give one directory`);
    const value = arg === '--mirror' ? argv[++i] : arg.slice('--mirror='.length);
    // a flag after --mirror means its directory was left out, not a directory named like a flag
    if (value === undefined || value === '' || value.startsWith('-')) {
      throw new ImportUsageError(`--mirror needs a directory holding the upstream files, got ${value === undefined ? 'nothing' : JSON.stringify(value)}`);
    }
    mirror = value;
  }
  return mirror === undefined ? { help: false } : { help: false, mirror };
}

/** One entry of cdk8s.yaml `imports`: `[NAME:=]URL`. */
export interface ImportSpec {
  /**
   * The module name prefix of the generated file (`argocd-application` makes `argocd-application-argoproj.io.ts`).
   *
   * @default - none: the file is named after the CRD group
   */
  readonly prefix?: string;
  /** The upstream file, an `https://` URL pinned to a release. */
  readonly url: string;
}

/**
 * Checks cdk8s.yaml `imports`: a non-empty list of `[NAME:=]https://URL`, each URL once.
 *
 * @param imports the parsed `imports` value of cdk8s.yaml
 * @throws naming the entry, its value and what is allowed
 */
export function parseImportSpecs(imports: unknown): ImportSpec[] {
  if (!Array.isArray(imports) || imports.length === 0) {
    throw new Error(`cdk8s.yaml 'imports' must be a non-empty list of [NAME:=]https://URL, got ${JSON.stringify(imports) ?? 'nothing'}`);
  }
  const specs = imports.map((entry: unknown, i): ImportSpec => {
    const at = `cdk8s.yaml 'imports[${i}]'`;
    if (typeof entry !== 'string') throw new Error(`${at} must be a string [NAME:=]https://URL, got ${JSON.stringify(entry)}`);
    const delimiter = entry.indexOf(':=');
    const prefix = delimiter === -1 ? undefined : entry.slice(0, delimiter);
    const url = delimiter === -1 ? entry : entry.slice(delimiter + 2);
    if (prefix !== undefined && !/^[a-z0-9][a-z0-9-]*$/.test(prefix)) {
      throw new Error(`${at} has module name ${JSON.stringify(prefix)}; allowed: lower-case letters, digits and '-'`);
    }
    if (!isHttpsUrl(url)) {
      throw new Error(`${at} must be an https:// URL of an upstream release file, got ${JSON.stringify(entry)}; remove local paths (for local copies use npm run import -- --mirror DIR)`);
    }
    return prefix === undefined ? { url } : { prefix, url };
  });
  const urls = specs.map(s => s.url);
  const twice = urls.find((url, i) => urls.indexOf(url) !== i);
  if (twice !== undefined) throw new Error(`cdk8s.yaml 'imports' lists ${twice} more than once`);
  return specs;
}

/**
 * Checks the mirror table: a JSON object from `https://` URL to a plain file name.
 *
 * @param table the parsed content of {@link MIRROR_TABLE_FILE}
 * @throws naming the entry, its value and what is allowed
 */
export function parseMirrorTable(table: unknown): ReadonlyMap<string, string> {
  if (typeof table !== 'object' || table === null || Array.isArray(table)) {
    throw new Error(`${MIRROR_TABLE_FILE} must be an object from upstream URL to mirror file name, got ${JSON.stringify(table)}`);
  }
  for (const [url, file] of Object.entries(table)) {
    if (!isHttpsUrl(url)) throw new Error(`${MIRROR_TABLE_FILE} keys must be https:// URLs, got ${JSON.stringify(url)}`);
    // a bare name keeps every read inside the mirror directory
    if (typeof file !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(file)) {
      throw new Error(`${MIRROR_TABLE_FILE} maps ${url} to ${JSON.stringify(file)}; allowed: a file name without a directory`);
    }
  }
  return new Map(Object.entries(table as Record<string, string>));
}

/**
 * The file name in a `--mirror` directory that holds `url`.
 *
 * @throws naming the URL and the table when the table has no entry for it
 */
export function mirrorFileOf(url: string, table: ReadonlyMap<string, string>): string {
  const file = table.get(url);
  if (file === undefined) {
    throw new Error(`${url} (in cdk8s.yaml) has no entry in ${MIRROR_TABLE_FILE}; add "${url}": "<its file name in the mirror directory>"`);
  }
  return file;
}

function isHttpsUrl(text: string): boolean {
  return URL.canParse(text) && new URL(text).protocol === 'https:';
}
