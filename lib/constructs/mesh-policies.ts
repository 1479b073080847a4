import { Construct } from 'constructs';
import {
  AuthorizationPolicy, AuthorizationPolicySpecAction, AuthorizationPolicySpecRulesTo, PeerAuthentication, PeerAuthenticationSpecMtlsMode,
} from '../../imports/security.istio.io';
import { Telemetry, TelemetrySpecMetricsOverridesMatchMetric as REQUEST_METRICS } from '../../imports/telemetry.istio.io';
import { chartNamespace, show, validationError } from '../errors';
import { CANARY_PIN, ISTIO } from '../slo/vocabulary';
import { DNS_LABEL } from '../private/names';

/** The mesh identity (SPIFFE path) of the pods that run as ServiceAccount `serviceAccount` of `namespace`. */
export function meshPrincipal(namespace: string, serviceAccount: string): string {
  return `cluster.local/ns/${namespace}/sa/${serviceAccount}`;
}

/**
 * The CEL expression of {@link ISTIO.pin}. The header is the client's, so its value is compared, never copied (each
 * string a client sent would be a series of its own); without the header the lookup fails and Istio writes `unknown`.
 */
const PIN_TAG = `request.headers['${CANARY_PIN.header}'] == '${CANARY_PIN.value}' ? '${CANARY_PIN.value}' : 'none'`;

/** Properties of {@link MeshPolicies}. */
export interface MeshPoliciesProps {
  /**
   * Name of the tracing provider in Istio's mesh config (`meshConfig.extensionProviders`) that sends spans to the
   * Collector; the README shows the entry.
   * @default 'otel-collector'
   */
  readonly tracingProvider?: string;
  /**
   * Share of requests the sidecars trace, in percent.
   * @default 100
   */
  readonly tracingSamplingPercent?: number;
}

/** One allowed caller of a workload. */
export interface AllowRule {
  /** A DNS label naming the rule (`ingress-to-gateway`): the AuthorizationPolicy's name. */
  readonly name: string;
  /** Labels of the workload called; an empty selector means every workload of the namespace. */
  readonly selector: Readonly<Record<string, string>>;
  /**
   * Mesh identities allowed to call (`cluster.local/ns/<namespace>/sa/<account>`).
   * @default - any caller (for ports that carry no identity, such as the merged-metrics port)
   */
  readonly principals?: readonly string[];
  /**
   * What they may call.
   * @default - anything
   */
  readonly to?: AuthorizationPolicySpecRulesTo['operation'];
}

/**
 * The mesh rules of a namespace: mutual TLS required for every workload (STRICT), authorization by explicit allow
 * rules only (an ALLOW policy on a workload denies whatever no rule allows), tracing by the sidecars, with Istio's
 * tags on their spans, and the {@link ISTIO.pin} label on Istio's request metrics, so that the gate can leave pinned
 * requests out.
 */
export class MeshPolicies extends Construct {
  private readonly names = new Set<string>();

  public constructor(scope: Construct, id: string, props: MeshPoliciesProps = {}) {
    super(scope, id);
    chartNamespace(this, 'MeshPolicies');
    const sampling = props.tracingSamplingPercent ?? 100;
    if (!(sampling >= 0 && sampling <= 100)) throw validationError(this, `'tracingSamplingPercent' must be from 0 to 100, got ${show(sampling)}`);
    new PeerAuthentication(this, 'Resource', {
      metadata: { name: 'default' },
      spec: { mtls: { mode: PeerAuthenticationSpecMtlsMode.STRICT } },
    });
    // a namespace may have one Telemetry without a selector, so tracing and metrics share it; it keeps the name it had
    // when it held tracing only: renamed, Argo CD would create the new one before it prunes the old, two at once
    new Telemetry(this, 'Tracing', {
      metadata: { name: 'tracing' },
      spec: {
        // replaces the mesh-wide Telemetry's metrics for this namespace (a namespace's field overrides the root's whole)
        metrics: [{
          providers: [{ name: 'prometheus' }],
          overrides: [REQUEST_METRICS.REQUEST_UNDERSCORE_COUNT, REQUEST_METRICS.REQUEST_UNDERSCORE_DURATION]
            .map(metric => ({ match: { metric }, tagOverrides: { [ISTIO.pin]: { value: PIN_TAG } } })),
        }],
        tracing: [{
          providers: [{ name: props.tracingProvider ?? 'otel-collector' }],
          randomSamplingPercentage: sampling,
          // Istio's default, made explicit: the Collector gives sidecar spans their service's name from the
          // `istio.canonical_service` tag, which the sidecars write only with these tags on
          enableIstioTags: true,
        }],
      },
    });
  }

  /**
   * Allows one kind of call.
   *
   * @throws if the name is invalid or taken
   */
  public allow(rule: AllowRule): void {
    if (!DNS_LABEL.test(rule.name)) throw validationError(this, `rule name must be a DNS label, got ${show(rule.name)}`);
    if (this.names.has(rule.name)) throw validationError(this, `rule ${show(rule.name)} already exists`);
    this.names.add(rule.name);
    new AuthorizationPolicy(this, rule.name, {
      metadata: { name: rule.name },
      spec: {
        ...(Object.keys(rule.selector).length > 0 ? { selector: { matchLabels: { ...rule.selector } } } : {}),
        action: AuthorizationPolicySpecAction.ALLOW,
        rules: [{
          ...(rule.principals ? { from: [{ source: { principals: [...rule.principals] } }] } : {}),
          ...(rule.to ? { to: [{ operation: rule.to }] } : {}),
        }],
      },
    });
  }
}
