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

/**
 * Object storage for Loki's chunks and index and Tempo's blocks: an S3-compatible store, Google Cloud Storage or Azure
 * Blob Storage, told apart by `kind` (S3 when it has none). Each is rendered with Loki's and Tempo's native backend
 * (`s3`, `gcs`, `azure`), which is what the cloud's workload identity needs.
 */
export type ObjectStorage = S3ObjectStorage | GcsObjectStorage | AzureObjectStorage;

/** The kinds of {@link ObjectStorage}. */
export type ObjectStorageKind = 's3' | 'gcs' | 'azure';

/** The kind of an object storage: its `kind`, else `s3`. */
export function objectStorageKind(storage: ObjectStorage): ObjectStorageKind {
  return storage.kind ?? 's3';
}

/** Where each component keeps its data: a bucket (an Azure container) of its own. */
export interface ObjectStorageBuckets {
  /** Bucket (Azure: container) for Loki chunks and index. */
  readonly lokiBucket: string;
  /** Bucket (Azure: container) for Tempo blocks. */
  readonly tempoBucket: string;
}

/** S3-compatible object storage (Amazon S3, MinIO, …), as Loki and Tempo use it. */
export interface S3ObjectStorage extends ObjectStorageBuckets {
  /**
   * The kind of storage.
   * @default 's3'
   */
  readonly kind?: 's3';
  /** `host[:port]` of the S3 API, without a scheme (for example `s3.eu-west-1.amazonaws.com` or `minio.minio:9000`). */
  readonly endpoint: string;
  /** Region of the buckets. */
  readonly region: string;
  /** Plain HTTP instead of HTTPS (an in-cluster MinIO, for example). */
  readonly insecure: boolean;
  /** Path-style addressing (`endpoint/bucket`), which MinIO and most S3-compatible stores need. */
  readonly forcePathStyle: boolean;
  /** How Loki and Tempo authenticate: static keys from a Secret, or the pods' AWS workload identity. */
  readonly credentials: S3Credentials;
}

/**
 * Google Cloud Storage (`storage.googleapis.com:443`), with Application Default Credentials from GKE Workload
 * Identity: the clients get their tokens from the GKE metadata server (169.254.169.254:80), no key anywhere.
 */
export interface GcsObjectStorage extends ObjectStorageBuckets {
  readonly kind: 'gcs';
  readonly credentials: GkeWorkloadIdentity;
}

/**
 * Azure Blob Storage (`<accountName>.blob.core.windows.net:443`), with Azure Workload Identity: the webhook injects
 * `AZURE_CLIENT_ID`, `AZURE_TENANT_ID`, `AZURE_FEDERATED_TOKEN_FILE` and a projected token, which the clients exchange
 * at Microsoft Entra ID (`login.microsoftonline.com:443`). The buckets are containers of this account.
 */
export interface AzureObjectStorage extends ObjectStorageBuckets {
  readonly kind: 'azure';
  /** The storage account: 3 to 24 lower-case letters and digits. */
  readonly accountName: string;
  readonly credentials: AzureWorkloadIdentity;
}

/** How Loki and Tempo authenticate to object storage. */
export type ObjectStorageCredentials = StaticKeyCredentials | WorkloadIdentityCredentials;

/** How Loki and Tempo authenticate to an S3-compatible store: keys, or an AWS workload identity. */
export type S3Credentials = StaticKeyCredentials | AwsWorkloadIdentity;

/** An access key pair, read from Secrets in the component's namespace and expanded into the config at start-up. */
export interface StaticKeyCredentials {
  readonly kind: 'secret';
  /** Access key id. */
  readonly accessKeyId: SecretKeyRef;
  /** Secret access key. */
  readonly secretAccessKey: SecretKeyRef;
}

/** The workload identities of the clouds: AWS's two for S3, GKE's for GCS, Azure's for Blob Storage. */
export type WorkloadIdentityCredentials = AwsWorkloadIdentity | GkeWorkloadIdentity | AzureWorkloadIdentity;

/** The provider of a workload identity. */
export type WorkloadIdentityProvider = WorkloadIdentityCredentials['provider'];

/**
 * What every workload identity may add to Loki's and Tempo's objects. The provider's webhook or metadata server hands
 * out its own short-lived token (with its own audience), so the API-server token stays unmounted.
 */
export interface WorkloadIdentityMetadata {
  readonly kind: 'workloadIdentity';
  /**
   * Annotations of Loki's and Tempo's ServiceAccounts.
   * @default - none
   */
  readonly serviceAccountAnnotations?: Readonly<Record<string, string>>;
  /**
   * Labels added to Loki's and Tempo's pods, for webhooks that select pods by label.
   * @default - none
   */
  readonly podLabels?: Readonly<Record<string, string>>;
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
 */
export interface AwsWorkloadIdentity extends WorkloadIdentityMetadata {
  readonly provider: 'eks-irsa' | 'eks-pod-identity';
}

/**
 * GKE Workload Identity Federation: Loki's GCS client (Application Default Credentials) and Tempo's (the same, through
 * google.golang.org/api/transport/http) get tokens from the GKE metadata server on the node, which answers for the
 * pod's Kubernetes ServiceAccount. Either grant IAM roles on the buckets to that principal directly
 * (`principal://iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<project>.svc.id.goog/subject/ns/observability/sa/loki`),
 * which needs no annotation, or let it impersonate an IAM service account named by the annotation
 * `iam.gke.io/gcp-service-account: <name>@<project>.iam.gserviceaccount.com`. The node pools must run the GKE
 * metadata server (`--workload-metadata=GKE_METADATA`, always on Autopilot).
 *
 * @see https://cloud.google.com/kubernetes-engine/docs/concepts/workload-identity
 */
export interface GkeWorkloadIdentity extends WorkloadIdentityMetadata {
  readonly provider: 'gke';
}

/**
 * Azure Workload Identity: the webhook mutates pods labelled `azure.workload.identity/use: "true"` (added for you)
 * whose ServiceAccount names a client id (`azure.workload.identity/client-id`, from `clientId` or the annotations),
 * injecting `AZURE_CLIENT_ID`, `AZURE_TENANT_ID`, `AZURE_AUTHORITY_HOST`, `AZURE_FEDERATED_TOKEN_FILE` and its own
 * projected token volume (`azure-identity-token`, audience `api://AzureADTokenExchange`).
 *
 * @see https://azure.github.io/azure-workload-identity/docs/installation/mutating-admission-webhook.html
 * @see https://azure.github.io/azure-workload-identity/docs/topics/service-account-labels-and-annotations.html
 */
export interface AzureWorkloadIdentity extends WorkloadIdentityMetadata {
  readonly provider: 'azure';
  /**
   * Client id (a GUID) of the user-assigned managed identity or Entra application with the federated credential for
   * `system:serviceaccount:observability:loki` and `…:tempo`, rendered as `azure.workload.identity/client-id`.
   * @default - the `azure.workload.identity/client-id` of `serviceAccountAnnotations`, which must then be set
   */
  readonly clientId?: string;
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
  /**
   * How long the app may take to start: a startup probe (the liveness check every 5 s) holds the liveness probe off
   * until it passes, so a slow start (a JVM warming up) is not killed for it.
   * @default - no startup probe: liveness applies from the start
   */
  readonly startupSeconds?: number;
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

/**
 * What the stable and canary tracks of a service may run differently: its container but for what their one Service
 * shares (the port, its protocol) and what Prometheus scrapes through it.
 */
export type TrackPod = Omit<ServiceContainer, 'port' | 'protocol' | 'metricsScrape'> & {
  /**
   * The hash of the recorded configuration, carried by the track's Deployment so that the gate can see it run.
   * @default - none: the Deployment carries no hash
   */
  readonly hash?: string;
};

/** What the platform injects so that the service's spans reach the Collector. */
export interface ServiceTelemetry {
  readonly otlpEndpoint: string;
  readonly samplingRatio: number;
  /** `deployment.environment` of the spans. */
  readonly environment: string;
}
