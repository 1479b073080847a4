import * as fs from 'node:fs';
import * as path from 'node:path';
import { ISTIO, NAMESPACE_LABEL, bucketOf } from '../../lib/slo/vocabulary';
import { REPO_ROOT } from './services';

/**
 * The names that only vocabulary.ts and the service files spell: Istio's (but the histogram's base name, which the
 * record names in SLO_RECORDS contain), and the demo's own metric names.
 */
const SPELLED_ELSEWHERE = [
  ...Object.values(ISTIO).filter(name => name.includes('_') && name !== ISTIO.duration),
  'http_requests_total', 'http_request_duration_seconds_bucket', 'status_code',
];
/** The files that write PromQL from the vocabulary. */
const WRITERS = ['lib/slo/recording-rules.ts', 'lib/slo/alerting-rules.ts', 'lib/slo/pipeline-alerts.ts', ...fs.readdirSync(path.join(REPO_ROOT, 'lib/dashboards')).filter(f => f.endsWith('.ts')).map(f => `lib/dashboards/${f}`)];

/** The code of a file without its comments, where names may be mentioned. */
function code(file: string): string {
  return fs.readFileSync(path.join(REPO_ROOT, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

describe('vocabulary', () => {
  test('bucketOf: the _bucket series of a histogram', () => {
    expect(bucketOf('http_request_duration_seconds')).toBe('http_request_duration_seconds_bucket');
    expect(bucketOf(ISTIO.duration)).toBe(ISTIO.durationBucket);
  });

  test('NAMESPACE_LABEL is the target label Prometheus sets', () => {
    expect(NAMESPACE_LABEL).toBe('namespace');
  });

  test.each(WRITERS)('%s spells no metric or label name of its own', file => {
    const text = code(file);
    expect(text.length).toBeGreaterThan(0);
    expect(SPELLED_ELSEWHERE.filter(name => text.includes(name))).toEqual([]);
  });

  test('the scan finds a name where one is spelled (the check can fail)', () => {
    expect(SPELLED_ELSEWHERE.filter(name => 'rate(istio_requests_total{destination_workload="x"}[5m])'.includes(name)))
      .toEqual(['istio_requests_total', 'destination_workload']);
  });
});
