import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Yaml } from 'cdk8s';

/** Runs promtool with `args` and then a file holding `content`; returns its output, throws with it when it fails. */
function promtool(args: readonly string[], fileName: string, content: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'promtool-'));
  const file = path.join(dir, fileName);
  fs.writeFileSync(file, content);
  try {
    return execFileSync('promtool', [...args, file], { encoding: 'utf8', stdio: 'pipe' });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    // named by its subcommand (`promtool check config failed`), flags left out
    throw new Error(`promtool ${args.filter(a => !a.startsWith('-')).join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs `promtool check config --syntax-only` (Debian's Prometheus 2.42) on a copy of a rendered Prometheus config,
 * adapted to what that promtool knows: Kubernetes discovery blocks become `file_sd_configs` (2.42's check cannot reach
 * a cluster) and `storage.tsdb.retention` (a Prometheus 3.8 key) is removed; both are asserted by other tests.
 *
 * @returns promtool's output; throws with it when the check fails
 */
export function promtoolCheckConfig(config: any): string {
  const copy = JSON.parse(JSON.stringify(config));
  for (const job of copy.scrape_configs ?? []) {
    if (job.kubernetes_sd_configs) {
      delete job.kubernetes_sd_configs;
      job.file_sd_configs = [{ files: [`/etc/prometheus/targets/${job.job_name}.json`] }];
    }
  }
  if (copy.storage?.tsdb) delete copy.storage.tsdb.retention;
  return promtool(['check', 'config', '--syntax-only'], 'prometheus.yml', Yaml.stringify(copy));
}

/**
 * Runs `promtool check rules` (Debian's Prometheus 2.42) on rule groups, as a Prometheus rule file holds them.
 *
 * @returns promtool's output (`SUCCESS: N rules found`); throws with it when the check fails
 */
export function promtoolCheckRules(groups: readonly object[]): string {
  return promtool(['check', 'rules'], 'rules.yml', Yaml.stringify({ groups }));
}

/**
 * Runs `promtool check rules` on one recording rule per expression, so that every expression is parsed by Prometheus
 * itself.
 *
 * @returns promtool's output; throws with it when the check fails
 */
export function promtoolCheckExpressions(exprs: readonly string[]): string {
  return promtoolCheckRules([{ name: 'expressions', rules: exprs.map((expr, i) => ({ record: `check:expression_${i}:promql`, expr })) }]);
}
