import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Yaml } from 'cdk8s';

/**
 * promtool's environment: Go's collector at GOGC=400 rather than 100. `test rules` allocates gigabytes over a long
 * scenario (GOGC=off grew one of ours to 4.7 GB), and the default collects so often that it costs a quarter of the
 * run: the largest rule test here took 12.8 to 15.1 CPU-s at 100 and 9.9 to 10.0 at 400 (three interleaved runs each),
 * its peak memory 66 MB and 116 MB.
 */
const PROMTOOL_ENV = { ...process.env, GOGC: '400' };

/** Runs promtool with `args` and then a file holding `content`; returns its output, throws with it when it fails. */
function promtool(args: readonly string[], fileName: string, content: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'promtool-'));
  const file = path.join(dir, fileName);
  fs.writeFileSync(file, content);
  try {
    return execFileSync('promtool', [...args, file], { encoding: 'utf8', stdio: 'pipe', env: PROMTOOL_ENV });
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

/** One `tests:` entry of a promtool unit-test file (the subset of 2.42's syntax the tests use). */
export interface PromtoolTestCase {
  readonly name?: string;
  readonly interval: string;
  readonly input_series: ReadonlyArray<{ readonly series: string; readonly values: string }>;
  readonly alert_rule_test?: ReadonlyArray<{
    readonly eval_time: string;
    readonly alertname: string;
    readonly exp_alerts: ReadonlyArray<{
      readonly exp_labels: Readonly<Record<string, string>>;
      readonly exp_annotations?: Readonly<Record<string, string>>;
    }>;
  }>;
  readonly promql_expr_test?: ReadonlyArray<{
    readonly expr: string;
    readonly eval_time: string;
    readonly exp_samples: ReadonlyArray<{ readonly labels: string; readonly value: number }>;
  }>;
}

/**
 * Runs `promtool test rules` (Debian's Prometheus 2.42) on rule groups and unit tests of them: the groups are written
 * as `rules.yml`, the tests as `tests.yml` beside it, evaluated every `evaluationInterval`.
 *
 * @returns promtool's output (`SUCCESS`); throws with it when a test fails or a file is refused
 */
export function promtoolTestRules(groups: readonly object[], tests: readonly PromtoolTestCase[], evaluationInterval = '1m'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'promtool-'));
  fs.writeFileSync(path.join(dir, 'rules.yml'), Yaml.stringify({ groups }));
  fs.writeFileSync(path.join(dir, 'tests.yml'), Yaml.stringify({ rule_files: ['rules.yml'], evaluation_interval: evaluationInterval, tests }));
  try {
    return execFileSync('promtool', ['test', 'rules', 'tests.yml'], { cwd: dir, encoding: 'utf8', stdio: 'pipe', env: PROMTOOL_ENV });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    throw new Error(`promtool test rules failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
