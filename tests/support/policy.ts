import { unmetImageRequirement } from '../../lib/rollout/state';
import { K8sObject, containersOf, podMetadataOf, podSpecOf, where, workloads } from './manifest';

/**
 * The rules every workload of this repository follows; each returns readable violations. A pod may run as root only
 * when its template carries {@link RUN_AS_ROOT_ANNOTATION} with the reason.
 */
export const RUN_AS_ROOT_ANNOTATION = 'policy.obs-canary.io/runs-as-root';

const LONG_RUNNING = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);
const SECRET_ENV = /(PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIAL)/i;
// a key that names a secret, followed by a literal value in YAML (`key: value`) or INI (`key = value`)
const SECRET_CONFIG_LINE =
  /^\s*-?\s*([A-Za-z0-9_.-]*(password|passwd|secret|token|access_key|secret_key|api_key)[A-Za-z0-9_.-]*)\s*[:=]\s*(.+?)\s*$/i;

/** Requests and limits for CPU and memory on every container. */
export function resourceViolations(objects: readonly K8sObject[]): string[] {
  return containersOf(objects).flatMap(({ workload, container }) => ['requests', 'limits'].flatMap(kind =>
    ['cpu', 'memory'].filter(r => container.resources?.[kind]?.[r] === undefined)
      .map(r => `${where(workload, container)}: no ${kind}.${r}`)));
}

/** Readiness and liveness probes on an HTTP, gRPC or TCP endpoint of a declared port, for long-running containers. */
export function probeViolations(objects: readonly K8sObject[]): string[] {
  return containersOf(objects).filter(({ workload, init }) => !init && LONG_RUNNING.has(workload.kind))
    .flatMap(({ workload, container }) => ['readinessProbe', 'livenessProbe'].flatMap(probe => {
      const p = container[probe];
      if (!p) return [`${where(workload, container)}: no ${probe}`];
      const action = p.httpGet ?? p.grpc ?? p.tcpSocket;
      if (!action) return [`${where(workload, container)}: ${probe} must call an endpoint (httpGet, grpc or tcpSocket), not exec`];
      const ports = (container.ports ?? []).flatMap((cp: any) => [cp.name, cp.containerPort]);
      return ports.includes(action.port) ? [] : [`${where(workload, container)}: ${probe} targets port ${action.port}, which the container does not declare`];
    }));
}

/** Non-root (unless annotated), read-only root file system, no privilege escalation, no capabilities, RuntimeDefault seccomp. */
export function securityViolations(objects: readonly K8sObject[]): string[] {
  return containersOf(objects).flatMap(({ workload, container }) => {
    const pod = podSpecOf(workload).securityContext ?? {};
    const sc = container.securityContext ?? {};
    const at = where(workload, container);
    const out: string[] = [];
    if (sc.allowPrivilegeEscalation !== false) out.push(`${at}: allowPrivilegeEscalation must be false`);
    if (sc.privileged === true) out.push(`${at}: must not be privileged`);
    if (sc.readOnlyRootFilesystem !== true) out.push(`${at}: readOnlyRootFilesystem must be true`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) out.push(`${at}: capabilities must drop ALL`);
    if ((sc.capabilities?.add ?? []).length > 0) out.push(`${at}: must not add capabilities`);
    if ((sc.seccompProfile ?? pod.seccompProfile)?.type !== 'RuntimeDefault') out.push(`${at}: seccompProfile must be RuntimeDefault`);
    const reason = podMetadataOf(workload)?.annotations?.[RUN_AS_ROOT_ANNOTATION];
    const nonRoot = (sc.runAsNonRoot ?? pod.runAsNonRoot) === true;
    if (!nonRoot && !reason) out.push(`${at}: runAsNonRoot must be true (or the pod must carry ${RUN_AS_ROOT_ANNOTATION} with the reason)`);
    return out;
  });
}

/** Images pinned by tag or digest, never `latest`: the rule the canary CLI holds release images to. */
export function imageViolations(objects: readonly K8sObject[]): string[] {
  return containersOf(objects).flatMap(({ workload, container }) => {
    const requirement = unmetImageRequirement(container.image ?? '');
    return requirement ? [`${where(workload, container)}: image ${container.image ?? '(none)'} ${requirement}`] : [];
  });
}

/** No secret value in plain text: no Secret objects, secret-looking env vars only from references, no literal secrets in config. */
export function secretViolations(objects: readonly K8sObject[]): string[] {
  const out: string[] = [];
  for (const obj of objects) {
    if (obj.kind === 'Secret') out.push(`Secret/${obj.metadata.name}: Secrets must be referenced, never rendered`);
    if (obj.kind === 'ConfigMap') {
      for (const [key, text] of Object.entries<string>(obj.data ?? {})) {
        for (const line of text.split('\n')) {
          const m = SECRET_CONFIG_LINE.exec(line);
          if (!m) continue;
          const value = m[3].replace(/^["']|["']$/g, '');
          // allowed: empty, an environment reference expanded at start-up, a file path, or a boolean switch
          if (value === '' || /^\$\{[^}]+\}$/.test(value) || value.startsWith('/') || /^(true|false)$/.test(value)) continue;
          out.push(`ConfigMap/${obj.metadata.name}[${key}]: ${m[1]} has a literal value`);
        }
      }
    }
  }
  for (const { workload, container } of containersOf(objects)) {
    for (const env of container.env ?? []) {
      if (SECRET_ENV.test(env.name) && env.value !== undefined && !/_FILE$|__FILE$/.test(env.name)) {
        out.push(`${where(workload, container)}: env ${env.name} must come from a Secret reference, not a literal`);
      }
    }
    for (const arg of [...(container.args ?? []), ...(container.command ?? [])]) {
      if (/(password|secret|token)=\S/i.test(arg)) out.push(`${where(workload, container)}: argument ${arg.split('=')[0]} carries a secret`);
    }
  }
  return out;
}

/**
 * A service-account token only where the workload calls the API: a pod (and its ServiceAccount) mounts the token
 * exactly when a RoleBinding or ClusterRoleBinding grants its ServiceAccount something.
 */
export function serviceAccountViolations(objects: readonly K8sObject[]): string[] {
  const bound = new Set(objects.filter(o => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding')
    .flatMap(b => (b.subjects ?? []).filter((s: any) => s.kind === 'ServiceAccount').map((s: any) => `${s.namespace ?? b.metadata.namespace}/${s.name}`)));
  const out: string[] = [];
  for (const sa of objects.filter(o => o.kind === 'ServiceAccount')) {
    const needs = bound.has(`${sa.metadata.namespace}/${sa.metadata.name}`);
    if (sa.automountServiceAccountToken !== needs) {
      out.push(`ServiceAccount/${sa.metadata.name}: automountServiceAccountToken must be ${needs} (${needs ? 'it is bound to a role' : 'nothing grants it API access'})`);
    }
  }
  for (const w of workloads(objects)) {
    const spec = podSpecOf(w);
    if (!spec.serviceAccountName || spec.serviceAccountName === 'default') {
      out.push(`${where(w)}: must run under its own ServiceAccount, not default`);
      continue;
    }
    const needs = bound.has(`${w.metadata.namespace}/${spec.serviceAccountName}`);
    if (spec.automountServiceAccountToken !== needs) {
      out.push(`${where(w)}: automountServiceAccountToken must be ${needs} (${needs ? 'its ServiceAccount is bound to a role' : 'it does not call the API'})`);
    }
  }
  return out;
}

/** Every rule at once. */
export function policyViolations(objects: readonly K8sObject[]): string[] {
  return [
    ...resourceViolations(objects), ...probeViolations(objects), ...securityViolations(objects),
    ...imageViolations(objects), ...secretViolations(objects), ...serviceAccountViolations(objects),
  ];
}
