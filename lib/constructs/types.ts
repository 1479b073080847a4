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
  /** Access key id, read from a Secret in the component's namespace. */
  readonly accessKeyId: SecretKeyRef;
  /** Secret access key, read from a Secret in the component's namespace. */
  readonly secretAccessKey: SecretKeyRef;
  /** Bucket for Loki chunks and index. */
  readonly lokiBucket: string;
  /** Bucket for Tempo blocks. */
  readonly tempoBucket: string;
}

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
