import { Size, Testing } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { ServicesChart } from '../../lib/charts/services-chart';
import { currentPod } from '../../lib/charts/service-pods';
import { EnvironmentConfig } from '../../lib/config/environment';
import { ENVIRONMENTS } from '../../lib/config/environments';
import { podChanges } from '../../lib/rollout/pod';
import { POD_HASH_ANNOTATION } from '../../lib/slo/cluster-state';
import { RolloutState } from '../../lib/rollout/state';
import { Rollouts } from '../../lib/rollout/store';
import { Services } from '../../lib/services/catalog';
import { renderEnvironment } from '../../lib/synth';
import { SINGLE_CLUSTER_ENVIRONMENTS, K8sObject, find, fixtureRollouts, repoServices, servicesWithFixtures } from '../support/manifest';
import { testApp } from '../support/chart';

const SERVICES = repoServices();
const LOCAL = ENVIRONMENTS.local;
const STABLE = 'ghcr.io/example/obs-canary-gateway:1.0.0';
const CANARY = 'ghcr.io/example/obs-canary-gateway:1.1.0';

/** The objects of the `apps` chart rendered from these service files and states. */
function apps(rollouts: Rollouts, services: Services = SERVICES, env: EnvironmentConfig = LOCAL): K8sObject[] {
  const chart = new ServicesChart(testApp(), 'apps', { env, namespace: 'apps', services, rollouts, otlpEndpoint: 'http://collector:4317' });
  return Testing.synth(chart) as K8sObject[];
}

/** The gateway's container on one track. */
function container(objects: readonly K8sObject[], track: 'stable' | 'canary'): any {
  return find(objects, 'Deployment', `gateway-${track}`).spec.template.spec.containers[0];
}

const variable = (c: any, name: string): unknown => c.env.find((e: any) => e.name === name)?.value;

/** The repository's services, the gateway's file with one more variable. */
const changed: Services = { ...SERVICES, gateway: { ...SERVICES.gateway, env: { ...SERVICES.gateway.env, FEATURE_X: 'on' } } };
const before = currentPod(SERVICES.gateway, LOCAL, SERVICES);
const after = currentPod(changed.gateway, LOCAL, changed);

/** The fixture states, the gateway's as given. */
function withGateway(gateway: Partial<RolloutState>): Rollouts {
  const rollouts = fixtureRollouts('steady');
  return { ...rollouts, gateway: { ...rollouts.gateway, stable: { image: STABLE }, ...gateway } };
}

const canaryAt = (weight: number, extra: Partial<NonNullable<RolloutState['canary']>> = {}): RolloutState['canary'] => ({
  image: CANARY, weight, startedAt: '2026-11-01T10:00:00Z', weightChangedAt: '2026-11-01T10:00:00Z', failedChecks: 0, consecutiveHolds: 0, ...extra,
});

describe('a slow start (probes.startupSeconds)', () => {
  const slow: Services = { ...SERVICES, gateway: { ...SERVICES.gateway, probes: { ...SERVICES.gateway.probes, startupSeconds: 120 } } };

  test('a startup probe on the liveness check holds liveness off for the time the file gives; without it, none', () => {
    const c = container(apps(withGateway({}), slow), 'stable');
    expect(c.startupProbe).toEqual({ ...c.livenessProbe, periodSeconds: 5, failureThreshold: 24 });
    expect(container(apps(withGateway({})), 'stable').startupProbe).toBeUndefined();
  });

  test('stable\'s replicas must all be able to start within the progress deadline, or a promotion that passed would be rolled back', () => {
    const prod = ENVIRONMENTS.prod;
    const replicas = prod.apps.stableReplicas;
    const seconds = Math.ceil(600 / replicas);
    const tooSlow: Services = { ...SERVICES, gateway: { ...SERVICES.gateway, probes: { ...SERVICES.gateway.probes, startupSeconds: seconds } } };
    expect(() => apps(withGateway({}), tooSlow, prod)).toThrow(`'probes.startupSeconds' (${seconds}) × the stable replicas in prod (${replicas}) `
      + 'reaches \'analysis.progressDeadline\' (10m)');
    const given: Services = { ...tooSlow, gateway: { ...tooSlow.gateway, analysis: { progressDeadline: '30m' } } };
    expect(container(apps(withGateway({}), given, prod), 'stable').startupProbe.failureThreshold).toBe(Math.ceil(seconds / 5));
  });

  test('it is part of the release: canaried like any change of the pod, and a record without it keeps its hash', () => {
    const record = currentPod(slow.gateway, LOCAL, slow);
    expect(record.probes.startupSeconds).toBe(120);
    expect(podChanges(before, record)).toEqual(['probes']);
    expect(before.probes).not.toHaveProperty('startupSeconds');
    const objects = apps(withGateway({ stable: { image: STABLE, pod: before }, canary: canaryAt(10, { pod: record }) }), slow);
    expect([container(objects, 'stable').startupProbe, container(objects, 'canary').startupProbe?.failureThreshold]).toEqual([undefined, 24]);
  });
});

describe('each track renders the configuration its record holds', () => {
  test('without records (every state written before them) both tracks run what the service file says now', () => {
    const objects = apps(withGateway({ canary: canaryAt(10) }), changed);
    expect(variable(container(objects, 'stable'), 'FEATURE_X')).toBe('on');
    expect(variable(container(objects, 'canary'), 'FEATURE_X')).toBe('on');
  });

  test('stable renders its record, not a service file changed since', () => {
    const objects = apps(withGateway({ stable: { image: STABLE, pod: before } }), changed);
    expect(variable(container(objects, 'stable'), 'FEATURE_X')).toBeUndefined();
    expect(variable(container(objects, 'stable'), 'LOG_LEVEL')).toBe('info');
  });

  test('the canary in flight renders its own record, stable its own', () => {
    const objects = apps(withGateway({ stable: { image: STABLE, pod: before }, canary: canaryAt(10, { pod: after }) }), changed);
    expect(variable(container(objects, 'canary'), 'FEATURE_X')).toBe('on');
    expect(variable(container(objects, 'stable'), 'FEATURE_X')).toBeUndefined();
    // a file changed again after the canary started waits for the next release, on both tracks
    const again = apps(withGateway({ stable: { image: STABLE, pod: before }, canary: canaryAt(10, { pod: before }) }), changed);
    expect(variable(container(again, 'canary'), 'FEATURE_X')).toBeUndefined();
  });

  test('the canary\'s replicas are there before its traffic: sized for the next step, kept while traffic leaves it', () => {
    // prod's gateway: 2 stable replicas, steps 10 → 25 → 50 → 100
    const prod = ENVIRONMENTS.prod;
    const replicas = (canary: NonNullable<RolloutState['canary']>) =>
      find(apps(withGateway({ canary }), SERVICES, prod), 'Deployment', 'gateway-canary').spec.replicas;
    expect(find(apps(withGateway({ canary: canaryAt(0) }), SERVICES, prod), 'Deployment', 'gateway-stable').spec.replicas).toBe(2);
    expect([0, 10, 25, 50, 100].map(w => replicas(canaryAt(w)!))).toEqual([1, 1, 1, 2, 2]);
    // at 50 % it has the 2 pods 100 % needs; promoting keeps them; draining and rolling back never shrink
    expect(replicas(canaryAt(100, { phase: 'promoting' })!)).toBe(2);
    expect(replicas(canaryAt(0, { phase: 'draining' })!)).toBe(2);
    expect(replicas(canaryAt(0, { phase: 'rolling-back' })!)).toBe(2);
  });

  describe('a canary keeps its size and its pods from its last step to its removal (prod, 20 stable replicas)', () => {
    const prod = ENVIRONMENTS.prod;
    const large: Services = { ...SERVICES, gateway: { ...SERVICES.gateway, replicas: { prod: 20 } } };
    const deployment = (canary: NonNullable<RolloutState['canary']>, history: RolloutState['history'] = []) =>
      find(apps(withGateway({ canary, history }), large, prod), 'Deployment', 'gateway-canary');
    /** The history entry that ended the canary at `fromWeight`, as endCanary writes it. */
    const ended = (decision: 'rollback' | 'promote', fromWeight: number): RolloutState['history'] => [
      { at: '2026-11-01T11:00:00Z', decision: 'advance', by: 'gate', image: CANARY, fromWeight: 0, toWeight: fromWeight, reason: 'SLO met' },
      { at: '2026-11-01T12:00:00Z', decision, by: 'gate', image: CANARY, fromWeight, toWeight: 0, reason: 'ended' },
    ];
    const progressing = [0, 10, 25, 50].map(w => deployment(canaryAt(w)!).spec.replicas);

    test('progressing: sized for the next step (20 × 10 %, 25 %, 50 %, 100 %)', () => {
      expect(progressing).toEqual([2, 5, 10, 20]);
    });

    test('rolled back at any step: the pods it had, not stable\'s 20 of an image judged bad', () => {
      expect([0, 10, 25, 50].map(w => deployment(canaryAt(0, { phase: 'rolling-back' })!, ended('rollback', w)).spec.replicas)).toEqual(progressing);
      // without the entry (a trimmed history) it may have had anything up to 100 %
      expect(deployment(canaryAt(0, { phase: 'rolling-back' })!).spec.replicas).toBe(20);
    });

    test('promoted by hand at a step: kept while stable rolls out, and while its traffic drains', () => {
      expect([0, 10, 25, 50].map(w => deployment(canaryAt(w, { phase: 'promoting' })!).spec.replicas)).toEqual(progressing);
      expect([10, 25, 50].map(w => deployment(canaryAt(0, { phase: 'draining' })!, ended('promote', w)).spec.replicas)).toEqual(progressing.slice(1));
    });

    test('a change of replicas is no change of the pod template: no pod is replaced at a step', () => {
      // prod's own gateway (2 stable replicas): the canary goes from 1 pod to 2 at 50 %
      const deployments = [0, 10, 25, 50, 100].map(w => find(apps(withGateway({ canary: canaryAt(w) }), SERVICES, prod), 'Deployment', 'gateway-canary'));
      expect(deployments.map(d => d.spec.replicas)).toEqual([1, 1, 1, 2, 2]);
      const templates = deployments.map(d => d.spec.template);
      for (const template of templates) expect(template).toEqual(templates[0]);
      expect(templates[0].spec.topologySpreadConstraints).toHaveLength(2);
      // the budget only where it cannot block a drain: two replicas or more
      const budgets = (canary: NonNullable<RolloutState['canary']>) =>
        apps(withGateway({ canary }), SERVICES, prod).filter(o => o.kind === 'PodDisruptionBudget' && o.metadata.name === 'gateway-canary');
      expect([budgets(canaryAt(0)!), budgets(canaryAt(50)!)].map(b => b.length)).toEqual([0, 1]);
    });
  });

  test('each Deployment with a record carries its hash, for kube-state-metrics; one without carries none', () => {
    const annotation = (objects: readonly K8sObject[], track: 'stable' | 'canary') =>
      find(objects, 'Deployment', `gateway-${track}`).metadata.annotations?.[POD_HASH_ANNOTATION.name];
    const objects = apps(withGateway({ stable: { image: STABLE, pod: before }, canary: canaryAt(10, { pod: after }) }), changed);
    expect([annotation(objects, 'stable'), annotation(objects, 'canary')]).toEqual([before.hash, after.hash]);
    const promoting = apps(withGateway({ stable: { image: STABLE, pod: before }, canary: canaryAt(10, { phase: 'promoting', pod: after }) }), changed);
    expect(annotation(promoting, 'stable')).toBe(after.hash);
    expect(annotation(apps(withGateway({ canary: canaryAt(10) })), 'stable')).toBeUndefined();
  });

  test('while promoting, stable runs the canary\'s image and record', () => {
    const objects = apps(withGateway({ stable: { image: STABLE, pod: before }, canary: canaryAt(10, { phase: 'promoting', pod: after }) }), SERVICES);
    const stable = container(objects, 'stable');
    expect(stable.image).toBe(CANARY);
    expect(variable(stable, 'FEATURE_X')).toBe('on');
  });

  test('while rolling back, stable keeps its own record', () => {
    const objects = apps(withGateway({ stable: { image: STABLE, pod: before }, canary: canaryAt(0, { phase: 'rolling-back', pod: after }) }), changed);
    expect(variable(container(objects, 'stable'), 'FEATURE_X')).toBeUndefined();
    expect(variable(container(objects, 'canary'), 'FEATURE_X')).toBe('on');
  });

  test('an environment default (resources) is part of the record: changed, it is a change, and stable keeps the recorded one', () => {
    const bigger: EnvironmentConfig = { ...LOCAL, apps: { ...LOCAL.apps, resources: { ...LOCAL.apps.resources, memoryLimit: Size.gibibytes(2) } } };
    const now = currentPod(SERVICES.gateway, bigger, SERVICES);
    expect(podChanges(before, now)).toEqual(['resources']);
    expect(now.resources.memory.limit).toBe('2Gi');
    const objects = apps(withGateway({ stable: { image: STABLE, pod: before } }), SERVICES, bigger);
    expect(container(objects, 'stable').resources.limits.memory).toBe(before.resources.memory.limit);
    expect(container(objects, 'stable').resources.limits.memory).not.toBe('2Gi');
  });

  test('the port is shared by both tracks through one Service: it follows the service file at once, records or not', () => {
    const moved: Services = { ...SERVICES, gateway: { ...SERVICES.gateway, port: 8081 } };
    const objects = apps(withGateway({ stable: { image: STABLE, pod: before }, canary: canaryAt(10, { pod: before }) }), moved);
    for (const track of ['stable', 'canary'] as const) expect(container(objects, track).ports[0].containerPort).toBe(8081);
  });
});

describe.each(SINGLE_CLUSTER_ENVIRONMENTS.map(env => ({ env, name: env.name })))('$name: a record of what the files give renders as the files do', ({ env }) => {
  // the ledger has what the demo's services lack: arguments, secrets, writable paths, resources of its own in prod
  const services = servicesWithFixtures('ledger');

  test('every service, stable and canary, byte for byte', () => {
    const plain = fixtureRollouts('canary', services);
    const recorded: Rollouts = Object.fromEntries(Object.entries(plain).map(([name, state]) => {
      const pod = currentPod(services[name], env, services);
      return [name, { ...state, stable: { ...state.stable, pod }, canary: state.canary && { ...state.canary, pod } }];
    }));
    expect(Object.values(recorded).some(state => state.canary?.pod)).toBe(true);
    // the same objects, but that each Deployment of a recorded track says which record it runs
    const objects = (rollouts: Rollouts) =>
      renderEnvironment({ env, services, rollouts }).flatMap(f => parseAllDocuments(f.content).map(d => d.toJS()));
    const withRecords = objects(recorded);
    const hashes = withRecords.filter(o => o.metadata?.annotations?.[POD_HASH_ANNOTATION.name]).map(o => o.metadata.name).sort();
    expect(hashes).toEqual(Object.values(recorded).flatMap(st => [`${st.service}-stable`, ...(st.canary ? [`${st.service}-canary`] : [])]).sort());
    for (const o of withRecords) {
      if (!o.metadata?.annotations?.[POD_HASH_ANNOTATION.name]) continue;
      delete o.metadata.annotations[POD_HASH_ANNOTATION.name];
      if (Object.keys(o.metadata.annotations).length === 0) delete o.metadata.annotations;
    }
    expect(withRecords).toEqual(objects(plain));
  });
});

describe('the methods the edge lets through to an exposed service', () => {
  const { methods: _listed, ...expose } = SERVICES.gateway.expose!;
  const grpc = (methods?: readonly string[]): Services => ({
    ...SERVICES, gateway: { ...SERVICES.gateway, protocol: 'grpc', expose: { ...expose, ...(methods ? { methods } : {}) } },
  });
  const edgeMethods = (services: Services): unknown => find(apps(fixtureRollouts('steady', services), services), 'AuthorizationPolicy', 'ingress-to-gateway')
    .spec.rules.map((rule: any) => rule.to[0].operation.methods);

  test('lets POST through, as every gRPC call is a POST, when the file lists no methods', () => {
    expect(edgeMethods(grpc())).toEqual([['POST']]);
  });

  test('lets exactly the listed methods through when the file lists some', () => {
    expect(edgeMethods(grpc(['GET']))).toEqual([['GET']]);
  });

  test('an HTTP service that lists none: GET and HEAD', () => {
    const http: Services = { ...SERVICES, gateway: { ...SERVICES.gateway, expose } };
    expect(edgeMethods(http)).toEqual([['GET', 'HEAD']]);
  });
});

describe('a serviceUrl', () => {
  const urlOfBackend = (services: Services): unknown =>
    find(apps(fixtureRollouts('steady', services), services), 'Deployment', 'gateway-stable').spec.template.spec.containers[0].env
      .find((e: any) => e.name === 'BACKEND_URL')?.value;

  test('of an HTTP service is its http:// URL', () => {
    expect(urlOfBackend(SERVICES)).toBe(`http://backend.apps.svc.cluster.local:${SERVICES.backend.port}`);
  });

  test('of a gRPC service is the target gRPC clients resolve, dns:///host:port', () => {
    const services: Services = { ...SERVICES, backend: { ...SERVICES.backend, protocol: 'grpc' } };
    expect(urlOfBackend(services)).toBe(`dns:///backend.apps.svc.cluster.local:${SERVICES.backend.port}`);
  });
});
