import { Server, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { ENVOY_METRICS, serviceScrapeConfigs, sidecarsScrapeConfig } from '../../lib/constructs/istio-scrape';
import { annotatedPodsScrapeConfig } from '../../lib/constructs/prometheus-config';
import { ENVIRONMENTS } from '../../lib/config/environments';
import { SERVICE_SCRAPE_JOBS } from '../../lib/slo/vocabulary';
import { configFile, synthStack } from '../support/manifest';
import { PrometheusServer, startPrometheus } from '../support/prometheus-server';
import { waitFor } from '../support/wait';

describe('sidecarsScrapeConfig', () => {
  const job = sidecarsScrapeConfig('sidecars', ['apps', 'payments']);

  test('every pod of the namespaces that declares Envoy\'s port, on its path, labelled like the services\' own job', () => {
    expect(job.kubernetes_sd_configs).toEqual([{ role: 'pod', namespaces: { names: ['apps', 'payments'] } }]);
    expect(job.metrics_path).toBe('/stats/prometheus');
    expect(job.relabel_configs![0]).toEqual({ source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: 'http-envoy-prom', action: 'keep' });
    // the same labels and the same running pods as the job of the services' own metrics
    const own = annotatedPodsScrapeConfig('services', ['apps', 'payments']).relabel_configs!;
    expect(job.relabel_configs!.slice(1)).toEqual(own.slice(own.length - job.relabel_configs!.length + 1));
    expect(ENVOY_METRICS).toEqual({ declaredPort: 'http-envoy-prom', port: 15090, path: '/stats/prometheus' });
  });
});

test('serviceScrapeConfigs: the services\' own job and their sidecars\', over the same namespaces; none without a namespace', () => {
  expect(serviceScrapeConfigs([])).toEqual([]);
  const jobs = serviceScrapeConfigs(['apps', 'payments']);
  expect(jobs.map(j => [j.job_name, j.kubernetes_sd_configs])).toEqual([SERVICE_SCRAPE_JOBS.services, SERVICE_SCRAPE_JOBS.sidecars]
    .map(job => [job, [{ role: 'pod', namespaces: { names: ['apps', 'payments'] } }]]));
});

/**
 * What the rendered jobs keep, with Debian's Prometheus: a canary's merged endpoint (its own `/metrics` and its
 * sidecar's series, as Istio's agent serves them on 15020) that also serves witness series of its own making, and its
 * sidecar's Envoy port. Each job runs with the rendered `metric_relabel_configs`; static targets stand in for the pods.
 */
describe('the services\' jobs as rendered, on a real Prometheus', () => {
  const SIDECAR = 'istio_requests_total{reporter="destination",destination_workload_namespace="apps",destination_workload="gateway-canary",'
    + 'response_code="200"}';
  const MERGED = [
    // what the sidecar's agent merges in: Envoy's series, its own
    `${SIDECAR} 7`,
    'istio_agent_pilot_xds 1',
    // the application's own /metrics: its request counter, and what it has no business serving
    'http_requests_total{route="/flights",status_code="200"} 5',
    `${SIDECAR.replace('response_code="200"', 'response_code="200",forged="1"')} 1000000`,
    'kube_deployment_status_replicas_available{namespace="apps",deployment="gateway-canary"} 3',
    'envoy_cluster_upstream_rq_total 9',
    'up{forged="1"} 1',
    'workload_version:istio_requests:rate5m{destination_workload="gateway-canary"} 100',
  ];
  let merged: Server;
  let envoy: Server;
  let prometheus: PrometheusServer;

  const serve = async (lines: readonly string[]): Promise<[Server, string]> => {
    const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(`${lines.join('\n')}\n`));
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    return [server, `127.0.0.1:${(server.address() as AddressInfo).port}`];
  };

  /** The series an instant query answers, as label sets (with `__name__`). */
  async function series(promql: string): Promise<Array<Record<string, string>>> {
    const body = await (await fetch(`${prometheus.url}/api/v1/query?${new URLSearchParams({ query: promql })}`)).json() as {
      status: string; error?: string; data: { result: Array<{ metric: Record<string, string> }> };
    };
    if (body.status !== 'success') throw new Error(`${promql}: ${body.error}`);
    return body.data.result.map(r => r.metric);
  }

  beforeAll(async () => {
    const rendered = configFile(synthStack(ENVIRONMENTS.local).charts.observability, 'prometheus-config', 'prometheus.yml');
    /** The job `name` on the target `target`: the rendered job's metric relabelling, a static target for the pods. */
    const job = (name: string, target: string) => ({
      job_name: name, static_configs: [{ targets: [target] }],
      metric_relabel_configs: rendered.scrape_configs.find((j: any) => j.job_name === name).metric_relabel_configs,
    });
    const [mergedEnd, envoyEnd] = await Promise.all([serve(MERGED), serve([`${SIDECAR} 7`, 'envoy_cluster_upstream_rq_total 9'])]);
    [merged, envoy] = [mergedEnd[0], envoyEnd[0]];
    prometheus = await startPrometheus({
      interval: '250ms',
      scrapeConfigs: [job(SERVICE_SCRAPE_JOBS.services, mergedEnd[1]), job(SERVICE_SCRAPE_JOBS.sidecars, envoyEnd[1])],
    });
    await waitFor(async () => (await series('up')).length === 2 && (await series('http_requests_total')).length === 1
      && (await series('istio_requests_total')).length > 0, { what: 'a scrape of both jobs', timeoutMs: 30_000, intervalMs: 100 });
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
    await Promise.all([merged, envoy].map(s => new Promise<void>(resolve => (s ? s.close(() => resolve()) : resolve()))));
  });

  test('the sidecar\'s istio_* and envoy_* series come from Envoy\'s port only: what the application served under those names is gone', async () => {
    expect((await series('istio_requests_total')).map(m => [m.job, m.forged])).toEqual([[SERVICE_SCRAPE_JOBS.sidecars, undefined]]);
    expect((await series('envoy_cluster_upstream_rq_total')).map(m => m.job)).toEqual([SERVICE_SCRAPE_JOBS.sidecars]);
  });

  test('kube-state-metrics\' names, up and recording rules\' names served by the application are dropped; its own metrics are kept', async () => {
    expect(await series('kube_deployment_status_replicas_available')).toEqual([]);
    expect(await series('{__name__=~".*:.*"}')).toEqual([]);
    expect((await series('up')).map(m => [m.job, m.forged]).sort()).toEqual([[SERVICE_SCRAPE_JOBS.services, undefined], [SERVICE_SCRAPE_JOBS.sidecars, undefined]]);
    expect((await series('http_requests_total')).map(m => [m.job, m.route])).toEqual([[SERVICE_SCRAPE_JOBS.services, '/flights']]);
  });
});
