import { AzureObjectStorage, GcsObjectStorage, S3ObjectStorage } from '../../lib/constructs/types';

/** Object storage as a test would configure it (a MinIO in the cluster). */
export const MINIO: S3ObjectStorage = {
  endpoint: 'minio.minio.svc.cluster.local:9000',
  region: 'us-east-1',
  insecure: true,
  forcePathStyle: true,
  credentials: {
    kind: 'secret',
    accessKeyId: { name: 'object-storage', key: 'access-key-id' },
    secretAccessKey: { name: 'object-storage', key: 'secret-access-key' },
  },
  lokiBucket: 'loki-chunks',
  tempoBucket: 'tempo-blocks',
};

/** Amazon S3 with IAM roles for service accounts: no keys, a role ARN on the ServiceAccounts. */
export const S3_IRSA: S3ObjectStorage = {
  endpoint: 's3.eu-west-1.amazonaws.com',
  region: 'eu-west-1',
  insecure: false,
  forcePathStyle: false,
  credentials: {
    kind: 'workloadIdentity',
    provider: 'eks-irsa',
    serviceAccountAnnotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/obs-canary-storage' },
  },
  lokiBucket: 'irsa-loki',
  tempoBucket: 'irsa-tempo',
};

/** Google Cloud Storage with GKE Workload Identity, impersonating an IAM service account: no keys, an annotation. */
export const GCS_GKE: GcsObjectStorage = {
  kind: 'gcs',
  credentials: {
    kind: 'workloadIdentity',
    provider: 'gke',
    serviceAccountAnnotations: { 'iam.gke.io/gcp-service-account': 'obs-canary-storage@obs-canary-prod.iam.gserviceaccount.com' },
  },
  lokiBucket: 'gke-loki',
  tempoBucket: 'gke-tempo',
};

/** Azure Blob Storage with Azure Workload Identity: no keys, the client id on the ServiceAccounts. */
export const AZURE_WI: AzureObjectStorage = {
  kind: 'azure',
  accountName: 'obscanaryprod',
  credentials: { kind: 'workloadIdentity', provider: 'azure', clientId: '00000000-1111-2222-3333-444444444444' },
  lokiBucket: 'azure-loki',
  tempoBucket: 'azure-tempo',
};
