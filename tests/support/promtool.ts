import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Yaml } from 'cdk8s';

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
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'promtool-'));
  const file = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(file, Yaml.stringify(copy));
  try {
    return execFileSync('promtool', ['check', 'config', '--syntax-only', file], { encoding: 'utf8', stdio: 'pipe' });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    throw new Error(`promtool check config failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
