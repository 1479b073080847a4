// The thread of a MeshMetricsTarget (tests/support/mesh-metrics-target.ts): serves its MeshMetrics on a free loopback
// port, tells the test's thread the port, then takes the traffic and the cluster states it is sent.
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { parentPort } from 'node:worker_threads';
import { ClusterMessage, MeshMetrics, TrafficMessage } from './mesh-metrics-target';

const port = parentPort;
if (!port) throw new Error('mesh-metrics-worker.ts runs as the worker thread of a MeshMetricsTarget, not on its own');
const metrics = new MeshMetrics();
const server = http.createServer((req, res) => {
  const body = metrics.render(req.url ?? '');
  res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'text/plain; version=0.0.4' }).end(body ?? 'not found');
});
port.on('message', (message: TrafficMessage | ClusterMessage) => ('cluster' in message ? metrics.setCluster(message) : metrics.setTraffic(message)));
server.listen(0, '127.0.0.1', () => port.postMessage({ port: (server.address() as AddressInfo).port }));
