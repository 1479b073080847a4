// Preloaded with `node --require` so that the instrumentations patch http and koa before main loads them.
import { startTracing } from '../../shared/tracing';

startTracing('backend', process.env);
