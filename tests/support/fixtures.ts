import { ObjectStorage } from '../../lib/constructs/types';

/** Object storage as a test would configure it (a MinIO in the cluster). */
export const MINIO: ObjectStorage = {
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
export const S3_IRSA: ObjectStorage = {
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
