import { ObjectStorage } from '../../lib/constructs/types';

/** Object storage as a test would configure it (a MinIO in the cluster). */
export const MINIO: ObjectStorage = {
  endpoint: 'minio.minio.svc.cluster.local:9000',
  region: 'us-east-1',
  insecure: true,
  forcePathStyle: true,
  accessKeyId: { name: 'object-storage', key: 'access-key-id' },
  secretAccessKey: { name: 'object-storage', key: 'secret-access-key' },
  lokiBucket: 'loki-chunks',
  tempoBucket: 'tempo-blocks',
};
