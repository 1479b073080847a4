/** Namespace of the observability stack. */
export const OBSERVABILITY_NAMESPACE = 'observability';

/** Namespace of the services released by canary. */
export const APPS_NAMESPACE = 'apps';
