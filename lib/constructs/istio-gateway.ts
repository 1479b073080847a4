import { Construct } from 'constructs';
import { Gateway, GatewaySpecServersTlsMode } from '../../imports/networking.istio.io';
import { chartNamespace, show, validationError } from '../errors';

/** Properties of {@link IstioGateway}. */
export interface IstioGatewayProps {
  /** Object name. */
  readonly name: string;
  /** External host names served. */
  readonly hosts: readonly string[];
  /** Labels of the ingress gateway pods that serve it. */
  readonly selector: Readonly<Record<string, string>>;
  /**
   * A TLS Secret in the ingress gateway's namespace: HTTPS on 443, and port 80 redirects to it.
   * @default - plain HTTP on port 80
   */
  readonly tlsCredentialName?: string;
}

/** An Istio Gateway: the listener of the mesh's ingress gateway for the external hosts. */
export class IstioGateway extends Construct {
  /** `namespace/name`, as a VirtualService refers to it. */
  public readonly ref: string;

  public constructor(scope: Construct, id: string, props: IstioGatewayProps) {
    super(scope, id);
    const namespace = chartNamespace(this, 'IstioGateway');
    if (props.hosts.length === 0) throw validationError(this, `'hosts' must name at least one host, got ${show(props.hosts)}`);
    this.ref = `${namespace}/${props.name}`;
    const hosts = [...props.hosts];
    new Gateway(this, 'Resource', {
      metadata: { name: props.name },
      spec: {
        selector: { ...props.selector },
        servers: props.tlsCredentialName
          ? [
            { port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts, tls: { httpsRedirect: true } },
            { port: { number: 443, name: 'https', protocol: 'HTTPS' }, hosts, tls: { mode: GatewaySpecServersTlsMode.SIMPLE, credentialName: props.tlsCredentialName } },
          ]
          : [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts }],
      },
    });
  }
}
