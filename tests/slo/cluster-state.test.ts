// appliedCanaryQuery against a real Prometheus (Debian's /usr/bin/prometheus) scraping kube-state-metrics' exposition
// as tests/fixtures/kube-state-metrics.prom records it, served from loopback: one series when the weight and the image
// are those the cluster runs, none when either differs or the rollout is not finished.
import * as fs from 'node:fs';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import * as path from 'node:path';
import {
  CLUSTER_STATE_METRICS, KSM_METRICS, POD_HASH_ANNOTATION, ROUTE_WEIGHT, WEIGHTED_ROUTE, appliedCanaryQuery, clusterSeenQuery, mostAvailableQuery,
  observedReleaseQuery,
} from '../../lib/slo/cluster-state';
import { promtoolTestRules } from '../support/promtool';
import { PrometheusServer, startPrometheus } from '../support/prometheus-server';
import { waitFor } from '../support/wait';

const FIXTURE = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'kube-state-metrics.prom'), 'utf8');
const CANARY = { service: 'backend', namespace: 'apps', weight: 25, image: 'registry.example.com/obs-canary/backend:1.5.0' };

/** The fixture moved to another namespace, with a change: the same cluster state in the middle of something. */
function variant(namespace: string, change: (text: string) => string): string {
  const moved = FIXTURE.split('\n').filter(l => !l.startsWith('#')).map(l => l.replace(/namespace="apps"/g, `namespace="${namespace}"`)).join('\n');
  return change(moved);
}

/** A pod of the canary's previous ReplicaSet, with the previous image, still terminating. */
const LINGERING_POD = [
  'kube_pod_owner{namespace="rolling",pod="backend-canary-5c8d7f9b4a-old01",uid="u-old",owner_kind="ReplicaSet",owner_name="backend-canary-5c8d7f9b4a",owner_is_controller="true"} 1',
  'kube_pod_container_info{namespace="rolling",pod="backend-canary-5c8d7f9b4a-old01",uid="u-old",container="backend",'
  + 'image_spec="registry.example.com/obs-canary/backend:1.4.9",image="registry.example.com/obs-canary/backend:1.4.9",image_id="",container_id="containerd://b1"} 1',
  // terminating, but still Running: its requests still go somewhere
  'kube_pod_status_phase{namespace="rolling",pod="backend-canary-5c8d7f9b4a-old01",uid="u-old",phase="Running"} 1',
].join('\n');

/** The configuration the canary Deployment carries (kube-state-metrics' annotation metric, with the allowlist the stack renders). */
const POD_ANNOTATION = `${KSM_METRICS.deploymentAnnotations}{namespace="apps",deployment="backend-canary",${POD_HASH_ANNOTATION.label}="abc123def456"} 1`;

/** Evicted pods (phase Failed) that keep their series: one of the canary's ReplicaSet, one of an older one. */
const EVICTED = (namespace: string, pod: string, replicaSet: string, image: string) => [
  `kube_pod_owner{namespace="${namespace}",pod="${pod}",uid="u-${pod}",owner_kind="ReplicaSet",owner_name="${replicaSet}",owner_is_controller="true"} 1`,
  `kube_pod_container_info{namespace="${namespace}",pod="${pod}",uid="u-${pod}",container="backend",image_spec="${image}",image="${image}",image_id="",container_id=""} 1`,
  `kube_pod_status_phase{namespace="${namespace}",pod="${pod}",uid="u-${pod}",phase="Failed"} 1`,
  `kube_pod_status_phase{namespace="${namespace}",pod="${pod}",uid="u-${pod}",phase="Running"} 0`,
].join('\n');

const BODY = [
  FIXTURE,
  POD_ANNOTATION,
  // evicted pods: the canary still runs its one live pod with its image
  variant('evicted', text => `${text}\n${EVICTED('evicted', 'backend-canary-6f7b9c8d5e-ev1', 'backend-canary-6f7b9c8d5e', 'registry.example.com/obs-canary/backend:1.5.0')}`
    + `\n${EVICTED('evicted', 'backend-canary-5c8d7f9b4a-ev2', 'backend-canary-5c8d7f9b4a', 'registry.example.com/obs-canary/backend:1.4.9')}`),
  // a rollout still going on: an old pod left
  variant('rolling', text => `${text}\n${LINGERING_POD}`),
  // a new generation not yet observed by the controller
  variant('pending', text => text.replace('kube_deployment_metadata_generation{namespace="pending",deployment="backend-canary"} 3',
    'kube_deployment_metadata_generation{namespace="pending",deployment="backend-canary"} 4')),
  // fewer canary pods available than desired
  variant('unavailable', text => text.replace('kube_deployment_status_replicas_available{namespace="unavailable",deployment="backend-canary"} 1',
    'kube_deployment_status_replicas_available{namespace="unavailable",deployment="backend-canary"} 0')),
].join('\n').replace(/\n+/g, '\n');

describe('clusterSeenQuery', () => {
  test('asks for the series the observation reads that exist whether or not it is applied: the stable Deployment, the route weights', () => {
    expect(clusterSeenQuery({ service: 'gateway', namespace: 'apps', canaryWeight: 10 })).toBe(
      'count(kube_deployment_spec_replicas{namespace="apps",deployment="gateway-stable"})'
      + ' and on () count(kube_customresource_virtualservice_route_weight{namespace="apps",virtualservice="gateway",route="weighted"})',
    );
    // what the observation does not check, the query does not ask for
    expect(clusterSeenQuery({ service: 'gateway', namespace: 'apps' })).toBe('count(kube_deployment_spec_replicas{namespace="apps",deployment="gateway-stable"})');
  });
});

describe('appliedCanaryQuery', () => {
  test('names the canary Deployment, the weighted route\'s canary subset and the image, and only allowlisted metrics', () => {
    const query = appliedCanaryQuery(CANARY);
    const withPod = observedReleaseQuery({ ...CANARY, track: 'canary', canaryWeight: CANARY.weight, podHash: 'abc123def456' });
    expect(withPod).toContain(`${KSM_METRICS.deploymentAnnotations}{namespace="apps",deployment="backend-canary",${POD_HASH_ANNOTATION.label}="abc123def456"} == 1`);
    expect(query).toContain(`${ROUTE_WEIGHT.metric}{namespace="apps",virtualservice="backend",route="${WEIGHTED_ROUTE}",subset="canary"} == 25`);
    expect(query).toContain('deployment="backend-canary"');
    expect(query).toContain('image_spec="registry.example.com/obs-canary/backend:1.5.0"');
    const used = [...withPod.matchAll(/\b(kube_[a-z_]+)\{/g)].map(m => m[1]);
    expect(query).not.toContain(KSM_METRICS.deploymentAnnotations);
    expect(new Set(used)).toEqual(new Set(CLUSTER_STATE_METRICS));
    expect(CLUSTER_STATE_METRICS).toContain(KSM_METRICS.podOwner);
  });

  test('quotes label values as PromQL strings', () => {
    expect(appliedCanaryQuery({ ...CANARY, image: 'a"b\\c' })).toContain('image_spec="a\\"b\\\\c"');
  });

  test.each([
    ['weight -1', { weight: -1 }, /'weight' must be an integer from 0 to 100, got -1/],
    ['weight 101', { weight: 101 }, /'weight' must be an integer from 0 to 100/],
    ['a fractional weight', { weight: 2.5 }, /'weight' must be an integer/],
    ['an empty image', { image: ' ' }, /'image' must name the canary's image, got " "/],
    ['a service that is no DNS label', { service: 'Backend' }, /'service' must be a DNS label, got "Backend"/],
    ['a namespace that is no DNS label', { namespace: 'apps"}' }, /'namespace' must be a DNS label/],
  ])('fails on %s', (_what, change, message) => {
    expect(() => appliedCanaryQuery({ ...CANARY, ...change })).toThrow(message);
  });
});

describe('appliedCanaryQuery against Prometheus', () => {
  let server: http.Server;
  let prometheus: PrometheusServer;

  beforeAll(async () => {
    server = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(BODY));
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    const target = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    // the labels as kube-state-metrics exports them: the job kube-state-metrics renders honours them
    prometheus = await startPrometheus({ scrapeConfigs: [{ job_name: 'kube-state-metrics', honor_labels: true, static_configs: [{ targets: [target] }] }] });
    await waitFor(async () => (await query(`count(${ROUTE_WEIGHT.metric})`)).length > 0, { what: 'the first scrape', timeoutMs: 30_000, intervalMs: 200 });
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
    await new Promise<void>(resolve => (server ? server.close(() => resolve()) : resolve()));
  });

  type Sample = { metric: Record<string, string>; value: [number, string] };
  async function query(promql: string): Promise<Sample[]> {
    const response = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = await response.json() as { status: string; error?: string; data: { result: Sample[] } };
    if (body.status !== 'success') throw new Error(`${promql}: ${body.error}`);
    return body.data.result;
  }

  test('the weight and image the cluster runs: one series, the canary destination at its weight', async () => {
    const promql = appliedCanaryQuery(CANARY);
    const result = await query(promql);
    expect(result).toHaveLength(1);
    expect(result[0].metric).toMatchObject({ namespace: 'apps', virtualservice: 'backend', route: 'weighted', subset: 'canary' });
    expect(result[0].value[1]).toBe('25');
    // with CLUSTER_STATE_SAMPLE_OUT set to a file, keeps the query and its real answer for the documentation
    if (process.env.CLUSTER_STATE_SAMPLE_OUT) fs.writeFileSync(process.env.CLUSTER_STATE_SAMPLE_OUT, `${promql}\n${JSON.stringify(result, null, 2)}\n`);
  });

  test.each([
    ['another weight', { weight: 50 }],
    ['another image', { image: 'registry.example.com/obs-canary/backend:1.4.0' }],
    ['the stable track\'s image', { image: 'registry.example.com/obs-canary/backend:1.4.0', weight: 75 }],
    ['a service without a canary', { service: 'gateway', image: 'registry.example.com/obs-canary/gateway:2.0.1', weight: 100 }],
    ['an old pod still running', { namespace: 'rolling' }],
    ['a generation not yet observed', { namespace: 'pending' }],
    ['a replica not available', { namespace: 'unavailable' }],
  ])('%s: nothing', async (_what, change) => {
    expect(await query(appliedCanaryQuery({ ...CANARY, ...change }))).toEqual([]);
  });

  test('a track without the route: stable ready with its image (a promotion\'s first half), the route at 0 (a roll back\'s)', async () => {
    const stable = { service: 'backend', namespace: 'apps', track: 'stable', image: 'registry.example.com/obs-canary/backend:1.4.0' } as const;
    expect(await query(observedReleaseQuery(stable))).toHaveLength(1);
    expect(await query(observedReleaseQuery({ ...stable, service: 'gateway', image: 'registry.example.com/obs-canary/gateway:2.0.1' }))).toHaveLength(1);
    // stable still runs 1.4.0: the canary's image is not there yet
    expect(await query(observedReleaseQuery({ ...stable, image: CANARY.image }))).toEqual([]);
    // the route gives the canary 25, not 0: the roll back is not applied yet
    expect(await query(observedReleaseQuery({ ...stable, canaryWeight: 0 }))).toEqual([]);
    expect(await query(observedReleaseQuery({ ...stable, canaryWeight: 25 }))).toHaveLength(1);
  });

  test('evicted pods (their series stay until garbage collection) do not hide that the canary runs', async () => {
    expect(await query(appliedCanaryQuery({ ...CANARY, namespace: 'evicted' }))).toHaveLength(1);
    expect(await query(`count(${KSM_METRICS.podContainerInfo}{namespace="evicted"})`)).toEqual([expect.objectContaining({ value: [expect.any(Number), '7'] })]);
  });

  test('with a recorded configuration: the Deployment must carry its hash', async () => {
    const release = { service: 'backend', namespace: 'apps', track: 'canary', image: CANARY.image, canaryWeight: 25 } as const;
    expect(await query(observedReleaseQuery({ ...release, podHash: 'abc123def456' }))).toHaveLength(1);
    // Argo CD has not applied the new configuration yet: the image alone is no proof
    expect(await query(observedReleaseQuery({ ...release, podHash: '0123456789ab' }))).toEqual([]);
  });

  test('the variants are scraped: their empty answers come from the query, not from missing series', async () => {
    expect(await query(`count(${KSM_METRICS.podContainerInfo}{namespace="rolling"})`)).toEqual([expect.objectContaining({ value: [expect.any(Number), '6'] })]);
    expect(await query(`count(${KSM_METRICS.podContainerInfo}{namespace="pending"})`)).toEqual([expect.objectContaining({ value: [expect.any(Number), '5'] })]);
  });
});

describe('mostAvailableQuery (promtool: Prometheus 2.42\'s evaluation of series over time)', () => {
  const series = (deployment: string, values: string, instance = 'ksm-a') => ({
    series: `${KSM_METRICS.deploymentReplicasAvailable}{namespace="apps",deployment="${deployment}",instance="${instance}"}`, values,
  });
  const at20m = (service: string, value: number | undefined) => ({
    expr: mostAvailableQuery({ service, namespace: 'apps', track: 'canary' }, '5m'), eval_time: '20m',
    exp_samples: value === undefined ? [] : [{ labels: '{}', value }],
  });

  test('0 only for a Deployment without a ready pod all window that existed before it; one answer across a replaced exporter', () => {
    expect(promtoolTestRules([], [{
      name: 'the canary\'s available replicas', interval: '1m',
      input_series: [
        // ready pods until 10m, none since: its share failed for the whole window
        series('gone-canary', '1x10 0x10'),
        // one ready minute in the window: the other checks decide
        series('blip-canary', '0x17 1 0 0'),
        // created at 18m (a cluster that joined, a recreated Deployment): not without pods all window
        series('new-canary', '_x17 0x3'),
        // kube-state-metrics replaced at 16m: two series of the same Deployment in the window, one answer
        series('moved-canary', '0x17'), series('moved-canary', '_x15 0x5', 'ksm-b'),
      ],
      promql_expr_test: [at20m('gone', 0), at20m('blip', 1), at20m('new', undefined), at20m('moved', 0)],
    }])).toContain('SUCCESS');
  });
});
