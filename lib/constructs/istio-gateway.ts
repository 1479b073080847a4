import { Construct } from 'constructs';
import { Gateway, GatewaySpecServers, GatewaySpecServersTlsMode } from '../../imports/networking.istio.io';
import { chartNamespace, show, validationError } from '../errors';

/** Hosts a Gateway serves, over HTTPS with a certificate or over plain HTTP. */
export interface GatewayListener {
  readonly hosts: readonly string[];
  /**
   * A TLS Secret in the ingress gateway's namespace: HTTPS on 443, and port 80 redirects to it.
   * @default - plain HTTP on port 80
   */
  readonly tlsCredentialName?: string;
}

/** Properties of {@link IstioGateway}. */
export interface IstioGatewayProps {
  /** Object name. */
  readonly name: string;
  /** Labels of the ingress gateway pods that serve it. */
  readonly selector: Readonly<Record<string, string>>;
  /** The hosts served, grouped by certificate. */
  readonly listeners: readonly GatewayListener[];
}

/** An Istio Gateway: the listener of the mesh's ingress gateway for the external hosts. */
export class IstioGateway extends Construct {
  /** `namespace/name`, as a VirtualService refers to it. */
  public readonly ref: string;

  public constructor(scope: Construct, id: string, props: IstioGatewayProps) {
    super(scope, id);
    const namespace = chartNamespace(this, 'IstioGateway');
    const all = props.listeners.flatMap(l => l.hosts);
    if (all.length === 0) throw validationError(this, `'listeners' must name at least one host, got ${show(props.listeners)}`);
    const twice = all.filter((h, i) => all.indexOf(h) !== i);
    if (twice.length > 0) throw validationError(this, `each host must be served once, got ${show([...new Set(twice)])} more than once`);
    this.ref = `${namespace}/${props.name}`;
    const plain = props.listeners.filter(l => !l.tlsCredentialName).flatMap(l => [...l.hosts]);
    const secure = props.listeners.filter(l => l.tlsCredentialName);
    const servers: GatewaySpecServers[] = [];
    if (plain.length > 0) servers.push({ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: plain });
    secure.forEach((l, i) => {
      const hosts = [...l.hosts];
      servers.push(
        { port: { number: 80, name: `http-redirect-${i}`, protocol: 'HTTP' }, hosts, tls: { httpsRedirect: true } },
        { port: { number: 443, name: `https-${i}`, protocol: 'HTTPS' }, hosts, tls: { mode: GatewaySpecServersTlsMode.SIMPLE, credentialName: l.tlsCredentialName } },
      );
    });
    new Gateway(this, 'Resource', { metadata: { name: props.name }, spec: { selector: { ...props.selector }, servers } });
  }
}
