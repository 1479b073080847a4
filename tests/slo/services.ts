import * as fs from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { ENVIRONMENT_NAMES } from '../../lib/config/environments';
import { SERVICES_DIR, Services, loadServices } from '../../lib/services/catalog';
import { ServiceFile, ServiceSpec, parseServiceFile } from '../../lib/services/service';

/** The repository root. */
export const REPO_ROOT = path.resolve(__dirname, '../..');

/** The services of the repository's `services/` directory, as the stack loads them. */
export const REPO_SERVICES: Services = loadServices(REPO_ROOT, ENVIRONMENT_NAMES);

/** The names of the files under `services/`, without `.yaml`: the services that exist. */
export const SERVICE_FILE_NAMES: readonly string[] = fs.readdirSync(path.join(REPO_ROOT, SERVICES_DIR))
  .filter(f => /\.ya?ml$/.test(f)).map(f => f.replace(/\.ya?ml$/, '')).sort();

/** A service file parsed in memory, as `services/<name>.yaml` would be. */
function spec(file: ServiceFile): ServiceSpec {
  return parseServiceFile(stringify(file), `${SERVICES_DIR}/${file.name}.yaml`);
}

/** A service nothing like the demo's: its own namespace, gRPC on 9090, Istio's metrics only, no metrics of its own. */
export const LEDGER: ServiceSpec = spec({
  name: 'ledger', namespace: 'payments', image: 'ghcr.io/example/ledger', port: 9090, protocol: 'grpc', telemetry: false, runAsUser: 10001,
  metrics: { source: 'istio' },
});

/**
 * A service whose own metrics share no name with the demo's: another counter, a histogram in milliseconds, code label
 * `code`, route label `handler` and other routes left out (one with a regex metacharacter).
 */
export const QUOTES: ServiceSpec = spec({
  name: 'quotes', namespace: 'pricing', image: 'ghcr.io/example/quotes', port: 7000,
  metrics: {
    source: 'http',
    http: {
      requests: 'quotes_served_total', duration: 'quotes_latency_ms', durationUnit: 'milliseconds', codeLabel: 'code',
      routeLabel: 'handler', ignoreRoutes: ['/ping', '/metrics.json'], scrape: { port: 7001, path: '/prom' },
    },
  },
});

/** The repository's services plus {@link LEDGER}. */
export const WITH_LEDGER: Services = { ...REPO_SERVICES, [LEDGER.name]: LEDGER };

/** `services` without the one named `name`: as if its file were deleted. */
export function without(services: Services, name: string): Services {
  return Object.fromEntries(Object.entries(services).filter(([key]) => key !== name));
}
