import { SchemaObject } from 'ajv';
import { ROLLOUT_SETTINGS_PROPERTIES, STARTUP_SECONDS } from '../rollout/state-schema';
import { DNS_1035_LABEL_PATTERN, DNS_LABEL_PATTERN, LABEL_KEY_PATTERN, LABEL_VALUE_PATTERN } from '../private/names';

const ENV_NAME = '^[A-Za-z_][A-Za-z0-9_]*$';
const PATH = '^/[^\\s?#]*$';
const METRIC_NAME = '^[a-zA-Z_:][a-zA-Z0-9_:]*$';
const LABEL_NAME = '^[a-zA-Z_][a-zA-Z0-9_]*$';
const HOST = '^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$';
const PORT = { type: 'integer', minimum: 1, maximum: 65535 } as const;
const CPU = { type: 'string', pattern: '^([1-9][0-9]*m|[0-9]+(\\.[0-9]{1,3})?)$', description: 'CPU as a Kubernetes quantity: 250m, 0.5 or 2' };
const MEMORY = { type: 'string', pattern: '^[1-9][0-9]*(Mi|Gi)$', description: 'memory in Mi or Gi: 128Mi, 1Gi' };

/** A value per environment: an object keyed by environment name (which names exist is checked at load time). */
function perEnvironment(value: SchemaObject, description: string): SchemaObject {
  return {
    type: 'object', description, minProperties: 1,
    propertyNames: { pattern: DNS_LABEL_PATTERN }, additionalProperties: value,
  };
}

const PROBE: SchemaObject = {
  type: 'object', additionalProperties: false, minProperties: 1, maxProperties: 1,
  description: 'one of { http: /path } (an HTTP GET), { tcp: true } (a TCP connect) or { grpc: true } (a gRPC health check) on the service port',
  properties: {
    http: { type: 'string', pattern: PATH, description: 'a path starting with "/", without spaces, query or fragment' },
    tcp: { const: true },
    grpc: { const: true },
  },
};

const RESOURCES: SchemaObject = {
  type: 'object', additionalProperties: false, required: ['cpu', 'memory'],
  properties: {
    cpu: { type: 'object', additionalProperties: false, required: ['request', 'limit'], properties: { request: CPU, limit: CPU } },
    memory: { type: 'object', additionalProperties: false, required: ['request', 'limit'], properties: { request: MEMORY, limit: MEMORY } },
  },
};

const HOSTS: SchemaObject = { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', pattern: HOST } };
/**
 * The pod fields a variable may take (Kubernetes 1.28's `fieldRef` of an env var; the API server refuses any other):
 * a label's or an annotation's value by key, the pod's names and addresses.
 */
export const FIELD_REF = '^(metadata\\.(name|namespace|uid)|spec\\.(nodeName|serviceAccountName)|status\\.(hostIP|podIP|podIPs)'
  + `|metadata\\.(labels|annotations)\\['${LABEL_KEY_PATTERN.slice(1, -1)}'\\])$`;
export const FIELD_REF_WORDS = 'a pod field Kubernetes sets a variable from: metadata.name, metadata.namespace, metadata.uid, metadata.labels[\'<key>\'], '
  + 'metadata.annotations[\'<key>\'], spec.nodeName, spec.serviceAccountName, status.hostIP, status.podIP or status.podIPs';
const CIDRS: SchemaObject = { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', pattern: '^[0-9./]+$' } };

/** An image repository, without a tag or a digest (those live in the rollout state). */
const REPOSITORY = { type: 'string', pattern: '^[a-z0-9][a-z0-9._/:-]*[a-z0-9]$', not: { pattern: '(:[A-Za-z0-9_][A-Za-z0-9_.-]*|@sha256:.*)$' } } as const;

/**
 * The JSON Schema of a service file, `services/<name>.yaml` (`services/schema.json` is this, for editors). It mirrors
 * `ServiceFile` (service.ts); what a schema cannot say (environment names, other services, duplicate names) is checked
 * when the files are loaded together.
 */
export const SERVICE_SCHEMA: SchemaObject = {
  $id: 'https://obs-canary.dev/schemas/service.json',
  title: 'obs-canary service',
  description: 'A service released by canary: services/<name>.yaml',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'image', 'port'],
  properties: {
    name: {
      type: 'string', pattern: DNS_1035_LABEL_PATTERN, maxLength: 33,
      description: 'a DNS label of at most 33 characters that starts with a letter (a Service\'s name must): the app label, Service, DestinationRule, '
        + 'VirtualService and <name>-<track> Deployments',
    },
    namespace: {
      type: 'string', pattern: DNS_LABEL_PATTERN,
      description: 'a DNS label (lower-case letters, digits and "-") such as payments, the namespace (default apps); created with the same mesh, '
        + 'Pod Security and default-deny policies',
    },
    image: { ...REPOSITORY, description: 'the image repository without tag or digest; those live in the rollout state' },
    port: { ...PORT, description: 'the container and Service port of the API' },
    previousImage: {
      ...REPOSITORY,
      description: 'during a registry move, the repository image named before: what the rollout state still runs from it keeps running until a '
        + 'release replaces it; remove it then',
    },
    protocol: { type: 'string', enum: ['http', 'grpc'], description: 'the API protocol (default http)' },
    probes: {
      type: 'object', additionalProperties: false,
      properties: {
        readiness: PROBE, liveness: PROBE,
        startupSeconds: {
          ...STARTUP_SECONDS,
          description: 'how long the app may take to start, 30 to 3600 seconds: a startup probe (the liveness check) holds the liveness probe off until '
            + 'then (default: none, liveness from the start, which kills an app not live within about 30 s); each stable pod of a promotion may take '
            + 'that long, so replicas × it must stay under analysis.progressDeadline',
        },
      },
      description: 'default: a TCP connect on the port for both',
    },
    runAsUser: { type: 'integer', minimum: 1, maximum: 2147483647, description: 'the uid, never 0 (default 65532)' },
    runAsGroup: { type: 'integer', minimum: 1, maximum: 2147483647, description: 'the gid (default: runAsUser)' },
    writablePaths: {
      type: 'array', uniqueItems: true,
      items: { type: 'string', pattern: '^/[^\\s]*[^/\\s]$', description: 'an absolute path without spaces or a trailing "/", such as /var/cache/ledger' },
      description: 'absolute paths that get an empty directory (the root filesystem stays read-only)',
    },
    env: {
      type: 'object', propertyNames: { pattern: ENV_NAME },
      additionalProperties: {
        description: 'a string, a pod field ({ fieldRef: metadata.labels[\'version\'] }) or a service\'s in-cluster URL ({ serviceUrl: <a service name> })',
        oneOf: [
          { type: 'string' },
          {
            type: 'object', additionalProperties: false, required: ['fieldRef'],
            properties: { fieldRef: { type: 'string', pattern: FIELD_REF, description: FIELD_REF_WORDS } },
          },
          { type: 'object', additionalProperties: false, required: ['serviceUrl'], properties: { serviceUrl: { type: 'string', pattern: DNS_LABEL_PATTERN } } },
        ],
      },
      description: 'literal variables, pod fields ({ fieldRef: metadata.labels[\'version\'] }) or another service\'s in-cluster URL ({ serviceUrl: name }: http://<host>:<port>, or dns:///<host>:<port> for a gRPC service)',
    },
    secretEnv: {
      type: 'array',
      items: {
        type: 'object', additionalProperties: false, required: ['name', 'secret', 'key'],
        properties: {
          name: { type: 'string', pattern: ENV_NAME },
          secret: { type: 'string', pattern: DNS_LABEL_PATTERN, description: 'the name of a Secret in the service\'s own namespace (a DNS label, no namespace/)' },
          key: { type: 'string', pattern: '^[-._a-zA-Z0-9]+$' },
        },
      },
      description: 'variables from keys of Secrets in the service\'s namespace',
    },
    command: { type: 'array', minItems: 1, items: { type: 'string' }, description: 'the container\'s command, when the image\'s entrypoint is not right' },
    args: { type: 'array', items: { type: 'string' }, description: 'the container\'s arguments' },
    telemetry: { type: 'boolean', description: 'inject OTEL_SERVICE_NAME, the Collector endpoint, the sampler and resource attributes (default true)' },
    replicas: perEnvironment({ type: 'integer', minimum: 1, maximum: 50 }, 'stable replicas per environment (default: the environment\'s)'),
    resources: perEnvironment(RESOURCES, 'CPU and memory per environment (default: the environment\'s)'),
    terminationGracePeriodSeconds: { type: 'integer', minimum: 1, maximum: 3600, description: 'time between SIGTERM and SIGKILL (default 30)' },
    timeout: { type: 'string', pattern: '^([1-9][0-9]*(ms|s|m))+$', description: 'a route timeout longer than 0 in ms, s or m, such as 500ms, 5s or 1m (default 5s; none for gRPC, whose streams it would cut)' },
    keepAliveTimeout: {
      type: 'string', pattern: '^([1-9][0-9]*(ms|s|m))+$',
      description: 'the idle (keep-alive) timeout of the service\'s own server, longer than 0 in ms, s or m, such as 5s (default 5s, Node.js\'s; gunicorn\'s is 2s); '
        + 'the sidecars close idle connections to it at four fifths of it. Both tracks share it: the shortest of any version in flight',
    },
    callers: { type: 'array', uniqueItems: true, items: { type: 'string', pattern: DNS_LABEL_PATTERN }, description: 'the services allowed to call it' },
    callerIdentities: {
      type: 'array',
      items: {
        type: 'object', additionalProperties: false, required: ['namespace', 'serviceAccount'],
        properties: { namespace: { type: 'string', pattern: DNS_LABEL_PATTERN }, serviceAccount: { type: 'string', pattern: DNS_LABEL_PATTERN } },
      },
      description: 'other workloads allowed to call it, by namespace and ServiceAccount',
    },
    expose: {
      type: 'object', additionalProperties: false, required: ['hosts', 'paths'],
      properties: {
        hosts: {
          oneOf: [HOSTS, perEnvironment(HOSTS, 'hosts per environment')],
          description: 'external host names in lower case (shop.example.com, *.example.com) as a list, or per environment ({ prod: [shop.example.com] })',
        },
        paths: {
          type: 'array', minItems: 1, uniqueItems: true,
          items: {
            type: 'string', pattern: '^/[^\\s?#*]*\\*?$',
            description: 'an exact path (/api/orders) or a prefix ending in * (/api/*), starting with "/", without spaces, query or fragment',
          },
          description: 'the only paths served from outside: exact (/api/orders) or a prefix ending in * (/api/*)',
        },
        methods: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', enum: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] }, description: 'default GET and HEAD; POST for protocol: grpc' },
        tls: perEnvironment({
          type: 'object', additionalProperties: false, required: ['credentialName'],
          properties: { credentialName: { type: 'string', pattern: DNS_LABEL_PATTERN } },
        }, 'per environment, a TLS Secret in the ingress gateway\'s namespace for HTTPS on the hosts (default: plain HTTP)'),
        gateway: {
          type: 'string', pattern: '^[a-z0-9-]+/[a-z0-9-]+$',
          description: 'an existing Istio Gateway, namespace/name (default: the environment\'s); needs gatewayPods',
        },
        gatewayPods: {
          type: 'object', additionalProperties: false, required: ['namespace', 'serviceAccount', 'labels'],
          properties: {
            namespace: { type: 'string', pattern: DNS_LABEL_PATTERN },
            serviceAccount: { type: 'string', pattern: DNS_LABEL_PATTERN },
            labels: {
              type: 'object', minProperties: 1, additionalProperties: { type: 'string', pattern: LABEL_VALUE_PATTERN },
              propertyNames: { pattern: LABEL_KEY_PATTERN },
            },
          },
          description: 'the pods that serve gateway: their namespace, ServiceAccount (the identity the service lets in) and labels (the network policy\'s peer)',
        },
      },
    },
    egress: {
      type: 'array', maxItems: 20,
      items: {
        type: 'object', additionalProperties: false, required: ['name', 'ports'],
        description: 'one thing the pods call that is no service here: { name, cidrs, ports } by address, or { name, namespace, podLabels, ports } by pods',
        properties: {
          name: { type: 'string', pattern: DNS_LABEL_PATTERN, maxLength: 30, description: 'a DNS label of at most 30 characters naming it, such as ledger-db' },
          cidrs: {
            oneOf: [CIDRS, perEnvironment(CIDRS, 'CIDR blocks per environment')],
            description: 'its IPv4 CIDR blocks, as a list or per environment ({ prod: [10.20.4.0/24] }: none in the others)',
          },
          namespace: { type: 'string', pattern: DNS_LABEL_PATTERN, description: 'the namespace of its pods (a DNS label)' },
          podLabels: {
            type: 'object', minProperties: 1, additionalProperties: { type: 'string', pattern: LABEL_VALUE_PATTERN },
            propertyNames: { pattern: LABEL_KEY_PATTERN }, description: 'the labels of its pods, such as { app.kubernetes.io/name: postgres }',
          },
          ports: { type: 'array', minItems: 1, uniqueItems: true, items: PORT, description: 'its TCP ports: the pods\' own (container) ports, not a Service\'s, for pods' },
        },
      },
      description: 'what else the pods may call (a database, a queue, an API outside the cluster): the namespace denies every other connection',
    },
    smoke: {
      type: 'array', maxItems: 20,
      items: {
        type: 'object', additionalProperties: false, required: ['path'],
        properties: {
          path: { type: 'string', pattern: '^/[^\\s#]*$', description: 'a path (and query) starting with "/"' },
          status: { type: 'integer', minimum: 100, maximum: 599, description: 'the status the canary must answer (default 200)' },
          header: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]*$', description: 'a response header that must be there, such as x-trace-id' },
        },
      },
      description: 'GET requests the gate sends to the canary through the pin before its first weighted step; one failure rolls it back',
    },
    metrics: {
      type: 'object', additionalProperties: false,
      properties: {
        source: { type: 'string', enum: ['istio', 'http'], description: 'what the SLO gate reads (default istio)' },
        http: {
          type: 'object', additionalProperties: false, required: ['requests', 'duration', 'codeLabel', 'scrape'],
          properties: {
            requests: { type: 'string', pattern: METRIC_NAME },
            duration: { type: 'string', pattern: METRIC_NAME },
            durationUnit: { type: 'string', enum: ['seconds', 'milliseconds'] },
            codeLabel: { type: 'string', pattern: LABEL_NAME },
            errorCodes: {
              // alternatives of plain values, where "." is any character: a pattern that means the same in RE2
              // (Prometheus) as anywhere else, and cannot break a rule file
              type: 'string', pattern: '^[A-Za-z0-9_.]+(\\|[A-Za-z0-9_.]+)*$',
              description: 'the values of codeLabel that count against the SLO, separated by | ("." matches any character): '
                + 'such as 5.. (the default), or Unknown|DeadlineExceeded|Unimplemented|Internal|Unavailable|DataLoss for gRPC\'s grpc_server_handled_total',
            },
            routeLabel: { type: 'string', pattern: LABEL_NAME },
            ignoreRoutes: { type: 'array', items: { type: 'string', minLength: 1 } },
            scrape: {
              type: 'object', additionalProperties: false, required: ['port', 'path'],
              properties: { port: PORT, path: { type: 'string', pattern: PATH } },
            },
          },
          description: 'the service\'s own request counter and histogram, and where Prometheus scrapes them',
        },
      },
    },
    ...ROLLOUT_SETTINGS_PROPERTIES,
  },
};
