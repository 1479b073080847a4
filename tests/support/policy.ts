import { unmetImageRequirement } from '../../lib/rollout/state';
import { credentialArguments, literalCredentialIn } from '../../lib/private/names';
import { K8sObject, containersOf, podMetadataOf, podSpecOf, where, workloads } from './manifest';

/**
 * The rules every workload of this repository follows; each returns readable violations. A pod may run as root only
 * when its template carries {@link RUN_AS_ROOT_ANNOTATION} with the reason.
 */
export const RUN_AS_ROOT_ANNOTATION = 'policy.obs-canary.io/runs-as-root';

const LONG_RUNNING = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);
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
  for (const workload of workloads(objects)) {
    for (const volume of podSpecOf(workload).volumes ?? []) {
      // read by owner and group (the pod's fsGroup) only: Kubernetes' default, 0644, lets every user of the pod read it;
      // a key's own mode overrides the volume's, and a projected volume's Secret sources count too
      const sources = [
        ...(volume.secret ? [{ defaultMode: volume.secret.defaultMode, items: volume.secret.items }] : []),
        ...(volume.projected?.sources ?? []).filter((s: any) => s.secret)
          .map((s: any) => ({ defaultMode: volume.projected.defaultMode, items: s.secret.items })),
      ];
      for (const { defaultMode, items } of sources) {
        const modes: Array<[string, number | undefined]> = [['defaultMode', defaultMode], ...(items ?? [])
          .filter((i: any) => i.mode !== undefined).map((i: any): [string, number] => [`the mode of key ${i.key}`, i.mode])];
        for (const [what, mode] of modes) {
          if (mode !== undefined && (mode & ~0o440 & 0o777) === 0) continue;
          out.push(`${workload.kind}/${workload.metadata.name}: Secret volume ${volume.name} must be mounted with ${what} 0440 or stricter, `
            + `got ${mode === undefined ? 'the default 0644' : `0${mode.toString(8)}`}`);
        }
      }
    }
  }
  for (const { workload, container } of containersOf(objects)) {
    for (const env of container.env ?? []) {
      // the rule the service files are held to, for every workload the platform renders too
      const why = literalCredentialIn(env.name, env.value);
      if (why === 'its name says it is one') {
        out.push(`${where(workload, container)}: env ${env.name} must come from a Secret reference, not a literal`);
      } else if (why === 'its value has one') {
        out.push(`${where(workload, container)}: env ${env.name} has a credential in its value`);
      }
    }
    for (const field of ['command', 'args'] as const) {
      const list: string[] = container[field] ?? [];
      for (const i of credentialArguments(list)) {
        // the flag that carries it: the argument itself (`--password=…`) or the one before (`--password`, then the value)
        const flag = list[i].startsWith('-') ? list[i] : (list[i - 1]?.startsWith('-') && !list[i - 1].includes('=') ? list[i - 1] : undefined);
        out.push(`${where(workload, container)}: argument ${flag ? flag.split('=')[0] : `${field}[${i}]`} carries a secret`);
      }
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

/** The volume types Pod Security `restricted` admits. */
const RESTRICTED_VOLUME_TYPES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);
/** The sysctls Pod Security `baseline` (and so `restricted`) admits. */
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.ip_unprivileged_port_start', 'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports', 'net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes',
]);
const SELINUX_TYPES = new Set([undefined, '', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);
const SECCOMP_TYPES = new Set(['RuntimeDefault', 'Localhost']);

/**
 * The rules of the Pod Security Standards' `restricted` level (its `baseline` rules included) each pod template
 * breaks: host namespaces, privileged containers, capabilities (drop ALL, add at most NET_BIND_SERVICE), hostPath and
 * every other volume type outside restricted's list, host ports, AppArmor, SELinux, /proc mount, sysctls, privilege
 * escalation, non-root (runAsNonRoot true, runAsUser never 0) and a RuntimeDefault or Localhost seccomp profile.
 *
 * @see https://kubernetes.io/docs/concepts/security/pod-security-standards/
 */
export function restrictedViolations(objects: readonly K8sObject[]): string[] {
  const out: string[] = [];
  for (const workload of workloads(objects)) {
    const spec = podSpecOf(workload);
    const pod = spec.securityContext ?? {};
    const at = where(workload);
    for (const field of ['hostNetwork', 'hostPID', 'hostIPC'] as const) if (spec[field] === true) out.push(`${at}: ${field} must not be true`);
    for (const volume of spec.volumes ?? []) {
      const type = Object.keys(volume).find(k => k !== 'name');
      if (!RESTRICTED_VOLUME_TYPES.has(type ?? '')) out.push(`${at}: volume ${volume.name} is ${type}, restricted admits only ${[...RESTRICTED_VOLUME_TYPES].join(', ')}`);
    }
    for (const sysctl of pod.sysctls ?? []) if (!SAFE_SYSCTLS.has(sysctl.name)) out.push(`${at}: sysctl ${sysctl.name} is not a safe one`);
    if (pod.runAsNonRoot !== undefined && pod.runAsNonRoot !== true) out.push(`${at}: the pod's runAsNonRoot must be true or unset`);
    if (pod.runAsUser === 0) out.push(`${at}: the pod's runAsUser must not be 0`);
    if (pod.seccompProfile !== undefined && !SECCOMP_TYPES.has(pod.seccompProfile.type)) out.push(`${at}: the pod's seccompProfile must be RuntimeDefault or Localhost`);
    if (pod.appArmorProfile !== undefined && !['RuntimeDefault', 'Localhost'].includes(pod.appArmorProfile.type)) out.push(`${at}: the pod's appArmorProfile must be RuntimeDefault or Localhost`);
    if (pod.seLinuxOptions && (!SELINUX_TYPES.has(pod.seLinuxOptions.type) || pod.seLinuxOptions.user || pod.seLinuxOptions.role)) out.push(`${at}: the pod's seLinuxOptions are not admitted`);
    if (pod.windowsOptions?.hostProcess === true) out.push(`${at}: hostProcess must not be true`);
    const containers = [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])];
    for (const container of containers) {
      const sc = container.securityContext ?? {};
      const c = where(workload, container);
      if (sc.privileged === true) out.push(`${c}: must not be privileged`);
      if (sc.windowsOptions?.hostProcess === true) out.push(`${c}: hostProcess must not be true`);
      for (const port of container.ports ?? []) if ((port.hostPort ?? 0) !== 0) out.push(`${c}: hostPort ${port.hostPort} must not be set`);
      if (sc.procMount !== undefined && sc.procMount !== 'Default') out.push(`${c}: procMount must be Default`);
      if (sc.appArmorProfile !== undefined && !['RuntimeDefault', 'Localhost'].includes(sc.appArmorProfile.type)) out.push(`${c}: appArmorProfile must be RuntimeDefault or Localhost`);
      if (sc.seLinuxOptions && (!SELINUX_TYPES.has(sc.seLinuxOptions.type) || sc.seLinuxOptions.user || sc.seLinuxOptions.role)) out.push(`${c}: seLinuxOptions are not admitted`);
      if (!(sc.capabilities?.drop ?? []).includes('ALL')) out.push(`${c}: capabilities must drop ALL`);
      const added = (sc.capabilities?.add ?? []).filter((cap: string) => cap !== 'NET_BIND_SERVICE');
      if (added.length > 0) out.push(`${c}: capabilities may add only NET_BIND_SERVICE, not ${added.join(', ')}`);
      if (sc.allowPrivilegeEscalation !== false) out.push(`${c}: allowPrivilegeEscalation must be false`);
      if ((sc.runAsNonRoot ?? pod.runAsNonRoot) !== true) out.push(`${c}: runAsNonRoot must be true`);
      if (sc.runAsUser === 0) out.push(`${c}: runAsUser must not be 0`);
      if (!SECCOMP_TYPES.has((sc.seccompProfile ?? pod.seccompProfile)?.type)) out.push(`${c}: seccompProfile must be RuntimeDefault or Localhost`);
    }
  }
  return out;
}

/** Pods of one namespace, as a NetworkPolicy's `podSelector` picks them (`{}`: all of them). */
export interface PodSelection {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** Egress a test allows to leave the cluster (or must find): from exactly these pods, to these peers, on these ports. */
export interface AllowedEgress {
  /** What it is, for the messages. */
  readonly what: string;
  /** The pods that must have this egress, and the only ones that may reach its peers. */
  readonly from: readonly PodSelection[];
  /** The rule's `to`, exactly (order aside). */
  readonly to: readonly unknown[];
  /** The rule's ports with their protocols, exactly (order aside). */
  readonly ports: ReadonlyArray<{ readonly port: number; readonly protocol: string }>;
}

const canonical = (value: unknown): string => JSON.stringify(value, (_k, v) => (v && typeof v === 'object' && !Array.isArray(v)
  ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v));
const sameSet = (a: readonly unknown[], b: readonly unknown[]): boolean =>
  a.length === b.length && [...a.map(canonical)].sort().join('\n') === [...b.map(canonical)].sort().join('\n');
const describeSelection = (s: PodSelection): string => `${s.namespace}/${Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(',') || '*'}`;

/**
 * What leaves the cluster that should not, and what `allowed` asks for that is missing, over every NetworkPolicy:
 *
 * - every egress rule has a `to`, and each ipBlock in it belongs to an allowed egress of exactly those pods, ports and
 *   peers (pod and namespace selectors are in-cluster and need no allowance);
 * - a peer of an allowed egress is reached by no pods outside its `from`;
 * - each pod selection of each allowed egress has a rule with exactly its peers and ports.
 */
export function egressViolations(objects: readonly K8sObject[], allowed: readonly AllowedEgress[]): string[] {
  const out: string[] = [];
  const rules = objects.filter(o => o.kind === 'NetworkPolicy' && (o.spec.policyTypes ?? []).includes('Egress'))
    .flatMap(policy => (policy.spec.egress ?? []).map((rule: any) => ({
      policy: policy.metadata.name as string,
      from: { namespace: policy.metadata.namespace as string, labels: policy.spec.podSelector?.matchLabels ?? {} } as PodSelection,
      to: (rule.to ?? []) as unknown[],
      ports: (rule.ports ?? []).map((p: any) => ({ port: p.port, protocol: p.protocol ?? 'TCP' })),
    })));
  const isFrom = (entry: AllowedEgress, from: PodSelection) => entry.from.some(s => canonical(s) === canonical(from));
  for (const rule of rules) {
    const at = `NetworkPolicy ${rule.from.namespace}/${rule.policy}`;
    if (rule.to.length === 0) {
      out.push(`${at}: egress to anywhere${rule.ports.length > 0 ? ` on ${rule.ports.map((p: any) => p.port).join(', ')}` : ''}`);
      continue;
    }
    for (const peer of rule.to) {
      const owners = allowed.filter(entry => entry.to.some(p => canonical(p) === canonical(peer)));
      const isBlock = (peer as any).ipBlock !== undefined;
      if (owners.length === 0 && isBlock) {
        out.push(`${at}: egress to ${(peer as any).ipBlock.cidr}, which is no named dependency's`);
      } else if (owners.length > 0 && !owners.some(entry => isFrom(entry, rule.from))) {
        out.push(`${at}: egress from ${describeSelection(rule.from)} to ${canonical(peer)}, which only ${owners.map(o => o.what).join(' or ')} `
          + `allows, and only from ${owners.flatMap(o => o.from).map(describeSelection).join(', ')}`);
      } else if (owners.length > 0 && !owners.some(e => isFrom(e, rule.from) && sameSet(e.to, rule.to) && sameSet(e.ports, rule.ports))) {
        out.push(`${at}: egress to ${canonical(peer)} with other peers or ports than ${owners.map(o => o.what).join(' or ')} names`);
      }
    }
  }
  for (const entry of allowed) {
    for (const from of entry.from) {
      if (!rules.some(rule => canonical(rule.from) === canonical(from) && sameSet(rule.to, entry.to) && sameSet(rule.ports, entry.ports))) {
        out.push(`${entry.what}: no egress from ${describeSelection(from)} to ${entry.to.map(canonical).join(', ')} on `
          + `${entry.ports.map(p => `${p.port}/${p.protocol}`).join(', ')}`);
      }
    }
  }
  return out;
}
