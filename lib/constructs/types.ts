import { Size } from 'cdk8s';

/** A key of a Kubernetes Secret; the manifests only ever reference Secrets, they never contain one. */
export interface SecretKeyRef {
  /** Name of the Secret, in the namespace of the workload that reads it. */
  readonly name: string;
  /** Key inside the Secret. */
  readonly key: string;
}

/** CPU and memory for one container: requests are what the scheduler reserves, limits what the kubelet enforces. */
export interface ContainerResources {
  /** CPU the scheduler reserves, in millicores. */
  readonly cpuRequestMillis: number;
  /** CPU the container may use, in millicores. */
  readonly cpuLimitMillis: number;
  /** Memory the scheduler reserves. */
  readonly memoryRequest: Size;
  /** Memory above which the container is killed. */
  readonly memoryLimit: Size;
}

/** S3-compatible object storage, as Loki and Tempo use it. */
export interface ObjectStorage {
  /** `host[:port]` of the S3 API, without a scheme (for example `s3.eu-west-1.amazonaws.com` or `minio.minio:9000`). */
  readonly endpoint: string;
  /** Region of the buckets. */
  readonly region: string;
  /** Plain HTTP instead of HTTPS (an in-cluster MinIO, for example). */
  readonly insecure: boolean;
  /** Path-style addressing (`endpoint/bucket`), which MinIO and most S3-compatible stores need. */
  readonly forcePathStyle: boolean;
  /** How Loki and Tempo authenticate: static keys from a Secret, or the pods' workload identity. */
  readonly credentials: ObjectStorageCredentials;
  /** Bucket for Loki chunks and index. */
  readonly lokiBucket: string;
  /** Bucket for Tempo blocks. */
  readonly tempoBucket: string;
}

/** How Loki and Tempo authenticate to object storage. */
export type ObjectStorageCredentials = StaticKeyCredentials | WorkloadIdentityCredentials;

/** An access key pair, read from Secrets in the component's namespace and expanded into the config at start-up. */
export interface StaticKeyCredentials {
  readonly kind: 'secret';
  /** Access key id. */
  readonly accessKeyId: SecretKeyRef;
  /** Secret access key. */
  readonly secretAccessKey: SecretKeyRef;
}

/**
 * The workload identities the S3 clients of Loki 3.7 (aws-sdk-go's default chain) and Tempo 3.0 (minio-go's chain)
 * pick up when no keys are configured:
 *
 * - `eks-irsa`: IAM roles for service accounts. The EKS pod identity webhook sees the ServiceAccount's
 *   `eks.amazonaws.com/role-arn` annotation and injects `AWS_ROLE_ARN`, `AWS_WEB_IDENTITY_TOKEN_FILE` and a projected
 *   token (audience `sts.amazonaws.com`); the clients exchange it at the regional STS endpoint.
 * - `eks-pod-identity`: EKS Pod Identity. A pod identity association (EKS API) names the ServiceAccount; the webhook
 *   injects `AWS_CONTAINER_CREDENTIALS_FULL_URI` and a projected token, and the clients fetch credentials from the
 *   Pod Identity Agent on the node (169.254.170.23:80).
 *
 * GKE and Azure workload identity need Loki's and Tempo's `gcs` and `azure` backends, which this project does not render.
 */
export type WorkloadIdentityProvider = 'eks-irsa' | 'eks-pod-identity';

/**
 * Credentials from the pods' identity: no keys anywhere. The provider's webhook projects its own short-lived token
 * (with its own audience) into the pods, so the API-server token stays unmounted.
 */
export interface WorkloadIdentityCredentials {
  readonly kind: 'workloadIdentity';
  readonly provider: WorkloadIdentityProvider;
  /** Annotations of Loki's and Tempo's ServiceAccounts (IRSA: `eks.amazonaws.com/role-arn`). */
  readonly serviceAccountAnnotations?: Readonly<Record<string, string>>;
  /** Labels added to Loki's and Tempo's pods, for webhooks that select pods by label. */
  readonly podLabels?: Readonly<Record<string, string>>;
}

/** An HTTP CONNECT proxy a component sends its outbound HTTP(S) through, as `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY`. */
export interface EgressProxyEnv {
  /** `http://host:port` of the proxy. */
  readonly url: string;
  /** Hosts, domains (`.svc`) and CIDR blocks reached directly, never through the proxy. */
  readonly noProxy: readonly string[];
}

/**
 * A level of the Pod Security Standards, from the most open to the most hardened.
 *
 * @see https://kubernetes.io/docs/concepts/security/pod-security-standards/
 */
export type PodSecurityLevel = 'privileged' | 'baseline' | 'restricted';

/** The pods of a workload, as network policies and scrape jobs select them. */
export interface WorkloadPeer {
  /** Workload name, used to name the policies that concern it. */
  readonly name: string;
  readonly namespace: string;
  /** Labels its pods carry. */
  readonly selector: Readonly<Record<string, string>>;
}

/** How Kubernetes checks a container: an HTTP GET of a path, a TCP connect or a gRPC health check on the service port. */
export type ProbeCheck =
  | { readonly http: string }
  | { readonly tcp: true }
  | { readonly grpc: true };

/**
 * The value of a container's environment variable: literal text, or a field of the pod (the Kubernetes downward API,
 * such as `metadata.labels['version']`).
 */
export type EnvValue = string | { readonly fieldRef: string };

/** An environment variable read from a key of a Secret in the workload's namespace. */
export interface SecretEnvVar {
  /** The variable's name. */
  readonly name: string;
  /** The Secret's name. */
  readonly secret: string;
  /** The key inside the Secret. */
  readonly key: string;
}

/** How a service's container runs: what its image needs from the platform. */
export interface ServiceContainer {
  /** The container and Service port of the API. */
  readonly port: number;
  /** `http` or `grpc`: the port's name and app protocol, which tell Istio how to route it. */
  readonly protocol: 'http' | 'grpc';
  readonly readiness: ProbeCheck;
  readonly liveness: ProbeCheck;
  /** The uid; never 0. */
  readonly runAsUser: number;
  /** The gid. */
  readonly runAsGroup: number;
  /** Absolute paths that get an empty directory each; the root filesystem stays read-only. */
  readonly writablePaths: readonly string[];
  /** The service's own variables, literal or from pod fields. */
  readonly env: Readonly<Record<string, EnvValue>>;
  /** Variables from Secret keys. */
  readonly secretEnv: readonly SecretEnvVar[];
  /** The container's command, when the image's entrypoint is not right. */
  readonly command?: readonly string[];
  /** The container's arguments. */
  readonly args?: readonly string[];
  readonly resources: ContainerResources;
  readonly terminationGracePeriodSeconds: number;
  /** Where Prometheus scrapes the service's own metrics, if it has any. */
  readonly metricsScrape?: { readonly port: number; readonly path: string };
}

/** What the platform injects so that the service's spans reach the Collector. */
export interface ServiceTelemetry {
  readonly otlpEndpoint: string;
  readonly samplingRatio: number;
  /** `deployment.environment` of the spans. */
  readonly environment: string;
}
