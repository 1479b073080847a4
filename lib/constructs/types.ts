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
