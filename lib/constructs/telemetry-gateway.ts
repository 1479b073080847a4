import { Construct } from 'constructs';
import { Gateway, GatewaySpecServersTlsMinProtocolVersion, GatewaySpecServersTlsMode, VirtualService } from '../../imports/networking.istio.io';
import { chartNamespace, show, validationError } from '../errors';

/** One signal's way in: requests whose path matches go to one in-cluster endpoint. */
export interface TelemetryRoute {
  /** Route name, in Istio's metrics and logs. */
  readonly name: string;
  /** The request path: `{ exact }` or `{ prefix }`. */
  readonly path: { readonly exact: string } | { readonly prefix: string };
  /** The in-cluster URL it goes to (`http://<service>.<namespace>.svc.cluster.local:<port>/…`): host and port are used. */
  readonly url: string;
}

/** Properties of {@link TelemetryGateway}. */
export interface TelemetryGatewayProps {
  /** The host name the application clusters send to. */
  readonly host: string;
  /**
   * Istio's `credentialName`: a Secret in the ingress gateway's namespace with `tls.crt`, `tls.key` and `ca.crt`, the
   * CA that signs the senders' client certificates.
   */
  readonly credentialName: string;
  /** Labels of the ingress gateway pods that serve it. */
  readonly selector: Readonly<Record<string, string>>;
  readonly routes: readonly TelemetryRoute[];
}

/** The name of the Gateway and VirtualService. */
const NAME = 'telemetry-gateway';

/**
 * Where a central topology's application clusters send their telemetry: one host on the observability cluster's Istio
 * ingress gateway, HTTPS on 443 with mutual TLS (`MUTUAL`: a sender without a client certificate signed by the
 * credential's CA is refused during the handshake), and one route per signal (OTLP gRPC to the gateway Collector, Loki's
 * push API, the metrics store's remote write). Any other path gets 404: nothing else of the observability cluster is
 * reachable through it.
 */
export class TelemetryGateway extends Construct {
  /** `host:port` the app clusters' OTLP exporters dial. */
  public readonly otlpEndpoint: string;
  /** The HTTPS base URL (`https://<host>`) of the pushes. */
  public readonly baseUrl: string;

  public constructor(scope: Construct, id: string, props: TelemetryGatewayProps) {
    super(scope, id);
    const namespace = chartNamespace(this, 'TelemetryGateway');
    if (props.routes.length === 0) throw validationError(this, `'routes' must name at least one route, got ${show(props.routes)}`);
    this.otlpEndpoint = `${props.host}:443`;
    this.baseUrl = `https://${props.host}`;
    new Gateway(this, 'Gateway', {
      metadata: { name: NAME },
      spec: {
        selector: { ...props.selector },
        servers: [{
          port: { number: 443, name: 'https-telemetry', protocol: 'HTTPS' },
          hosts: [props.host],
          tls: {
            mode: GatewaySpecServersTlsMode.MUTUAL,
            credentialName: props.credentialName,
            minProtocolVersion: GatewaySpecServersTlsMinProtocolVersion.TLSV1_UNDERSCORE_2,
          },
        }],
      },
    });
    new VirtualService(this, 'Routes', {
      metadata: { name: NAME },
      spec: {
        hosts: [props.host],
        gateways: [`${namespace}/${NAME}`],
        http: props.routes.map(route => {
          const target = new URL(route.url);
          if (target.protocol !== 'http:' || !target.port || !target.hostname.endsWith('.svc.cluster.local')) {
            throw validationError(this, `route ${show(route.name)}'s 'url' must be an in-cluster http URL with a port, got ${show(route.url)}`);
          }
          return {
            name: route.name,
            match: [{ uri: { ...route.path } }],
            route: [{ destination: { host: target.hostname, port: { number: Number(target.port) } } }],
          };
        }),
      },
    });
  }
}
