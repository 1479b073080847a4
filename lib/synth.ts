import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Chart, Yaml } from 'cdk8s';
import { EnvironmentConfig } from './config/environment';
import { defineStack } from './stack';

/** One rendered manifest file, relative to the environment's directory. */
export interface RenderedFile {
  /** `<chart>/<Kind>.<name>.yaml` */
  readonly path: string;
  readonly content: string;
}

/**
 * Renders the charts of an app to files: one directory per chart (one Argo CD Application each), one file per
 * object named `<Kind>.<name>.yaml`, in a stable order.
 *
 * @throws if validation fails or two objects of a chart would share a file
 */
export function renderApp(app: App): RenderedFile[] {
  const files: RenderedFile[] = [];
  const charts = app.node.children.filter((c): c is Chart => c instanceof Chart);
  for (const chart of charts) {
    const seen = new Set<string>();
    for (const obj of chart.toJson()) {
      const file = `${chart.node.id}/${obj.kind}.${obj.metadata.name}.yaml`;
      if (seen.has(file)) throw new Error(`chart ${chart.node.id} renders two objects into ${file}`);
      seen.add(file);
      files.push({ path: file, content: Yaml.stringify(obj) });
    }
  }
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

/** Defines and renders every chart of an environment. */
export function renderEnvironment(env: EnvironmentConfig): RenderedFile[] {
  const app = new App();
  defineStack(app, env);
  return renderApp(app);
}

/** Writes files below `dir`, creating directories as needed. */
export function writeFiles(dir: string, files: readonly RenderedFile[]): void {
  for (const file of files) {
    const target = path.join(dir, file.path);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, file.content);
  }
}

/**
 * Renders every environment into a temporary directory beside `distDir`, then swaps it in. When anything fails,
 * `distDir` is left exactly as it was and the error is thrown.
 *
 * @param distDir the directory to replace (`dist/`)
 * @param environments the environments to render, each into `<distDir>/<name>/`; each is already validated
 * @returns the number of files written
 */
export function synthesizeAll(distDir: string, environments: ReadonlyArray<() => EnvironmentConfig>): number {
  const parent = path.dirname(path.resolve(distDir));
  const staging = path.join(parent, `.dist-${randomBytes(4).toString('hex')}`);
  let count = 0;
  try {
    fs.mkdirSync(staging);
    for (const load of environments) {
      const env = load();
      const files = renderEnvironment(env);
      writeFiles(path.join(staging, env.name), files);
      count += files.length;
    }
    replaceDirectory(distDir, staging);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  return count;
}

/**
 * Replaces `target` with `replacement` by two renames on the same file system; if the second fails, the first is
 * undone, so `target` is either the old or the new tree.
 */
export function replaceDirectory(target: string, replacement: string): void {
  const old = `${replacement}-old`;
  const hadTarget = fs.existsSync(target);
  if (hadTarget) fs.renameSync(target, old);
  try {
    fs.renameSync(replacement, target);
  } catch (error) {
    if (hadTarget) fs.renameSync(old, target);
    throw error;
  }
  fs.rmSync(old, { recursive: true, force: true });
}

/**
 * The repository root: the nearest directory at or above `start` that holds `cdk8s.yaml`.
 *
 * @throws if there is none
 */
export function findRepoRoot(start: string): string {
  let dir = path.resolve(start);
  for (;;) {
    if (fs.existsSync(path.join(dir, 'cdk8s.yaml'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no cdk8s.yaml at or above ${start}; run this from the repository`);
    dir = parent;
  }
}
