import { Chart } from 'cdk8s';
import { NetworkPolicies, cidrs } from '../../lib/constructs/network-policies';
import { synth, testApp, testChart } from '../support/chart';
import { find, ofKind } from '../support/manifest';

const loki = { name: 'loki', namespace: 'observability', selector: { 'app.kubernetes.io/name': 'loki' } };
const promtail = { name: 'promtail', namespace: 'observability', selector: { 'app.kubernetes.io/name': 'promtail' } };
const kubeDns = { name: 'kube-dns', namespace: 'kube-system', selector: { 'k8s-app': 'kube-dns' } };
const dnsPorts = [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }] as const;

function render() {
  const chart = testChart();
  const net = new NetworkPolicies(chart, 'Net');
  return { chart, net, all: () => synth(chart) };
}

describe('NetworkPolicies', () => {
  test('deny everything in and out by default', () => {
    expect(find(render().all(), 'NetworkPolicy', 'default-deny-all').spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  });

  test('a flow inside the namespace: egress on the sender and ingress on the receiver, on the given ports only', () => {
    const { net, all } = render();
    net.allow({ name: 'promtail-to-loki', from: { kind: 'pods', peer: promtail }, to: { kind: 'pods', peer: loki }, ports: [{ port: 3100 }] });
    const objects = all();
    expect(find(objects, 'NetworkPolicy', 'promtail-to-loki-egress').spec).toEqual({
      podSelector: { matchLabels: promtail.selector }, policyTypes: ['Egress'],
      egress: [{ to: [{ podSelector: { matchLabels: loki.selector } }], ports: [{ port: 3100, protocol: 'TCP' }] }],
    });
    expect(find(objects, 'NetworkPolicy', 'promtail-to-loki-ingress').spec).toEqual({
      podSelector: { matchLabels: loki.selector }, policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchLabels: promtail.selector } }], ports: [{ port: 3100, protocol: 'TCP' }] }],
    });
    expect(net.flows.map(f => f.name)).toEqual(['promtail-to-loki']);
  });

  test('a flow leaving the namespace only gets an egress policy, selecting the other namespace by its name label', () => {
    const { net, all } = render();
    net.allow({ name: 'dns', from: { kind: 'namespace', namespace: 'observability' }, to: { kind: 'pods', peer: kubeDns }, ports: dnsPorts });
    const objects = all();
    expect(ofKind(objects, 'NetworkPolicy').map(p => p.metadata.name)).toEqual(['default-deny-all', 'dns-egress']);
    expect(find(objects, 'NetworkPolicy', 'dns-egress').spec).toEqual({
      podSelector: {}, policyTypes: ['Egress'],
      egress: [{
        to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
        ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }],
      }],
    });
  });

  test('a flow entering from another namespace only gets an ingress policy', () => {
    const { net, all } = render();
    net.allow({ name: 'apps-to-loki', from: { kind: 'namespace', namespace: 'apps' }, to: { kind: 'pods', peer: loki }, ports: [{ port: 3100 }] });
    expect(find(all(), 'NetworkPolicy', 'apps-to-loki-ingress').spec.ingress[0].from)
      .toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'apps' } } }]);
  });

  test('CIDR peers become ipBlocks; "anywhere" leaves the peer list out', () => {
    const { net, all } = render();
    net.allow({ name: 'loki-to-s3', from: { kind: 'pods', peer: loki }, to: { kind: 'cidr', cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] }, ports: [{ port: 443 }] });
    net.allow({ name: 'users-to-loki', from: { kind: 'anywhere' }, to: { kind: 'pods', peer: loki }, ports: [{ port: 3100 }] });
    const objects = all();
    expect(find(objects, 'NetworkPolicy', 'loki-to-s3-egress').spec.egress[0].to).toEqual([{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] } }]);
    expect(find(objects, 'NetworkPolicy', 'users-to-loki-ingress').spec.ingress).toEqual([{ ports: [{ port: 3100, protocol: 'TCP' }] }]);
  });

  test('an anyOf end lists each of its peers in one rule; cidrs() gives one ipBlock per block', () => {
    const { net, all } = render();
    net.allow({
      name: 'dns', from: { kind: 'namespace', namespace: 'observability' },
      to: { kind: 'anyOf', peers: [{ kind: 'pods', peer: kubeDns }, { kind: 'cidr', cidr: '169.254.20.10/32' }] }, ports: dnsPorts,
    });
    net.allow({ name: 'loki-to-s3', from: { kind: 'pods', peer: loki }, to: cidrs(['52.218.0.0/17', '3.5.64.0/21']), ports: [{ port: 443 }] });
    const objects = all();
    expect(find(objects, 'NetworkPolicy', 'dns-egress').spec.egress).toEqual([{
      to: [
        { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } },
        { ipBlock: { cidr: '169.254.20.10/32' } },
      ],
      ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }],
    }]);
    expect(find(objects, 'NetworkPolicy', 'loki-to-s3-egress').spec.egress[0].to).toEqual([{ ipBlock: { cidr: '52.218.0.0/17' } }, { ipBlock: { cidr: '3.5.64.0/21' } }]);
    expect(cidrs(['10.0.0.0/8'])).toEqual({ kind: 'cidr', cidr: '10.0.0.0/8' });
  });

  describe('validation', () => {
    test('fails on a flow with neither end in the namespace', () => {
      const { net } = render();
      expect(() => net.allow({ name: 'x', from: { kind: 'namespace', namespace: 'a' }, to: { kind: 'namespace', namespace: 'b' }, ports: [{ port: 1 }] }))
        .toThrow('[test/Net] flow "x" has neither end in namespace "observability"; allow it in the chart that owns one end');
    });
    test('fails on a duplicate name, a bad name, or no ports', () => {
      const { net } = render();
      const flow = { name: 'a', from: { kind: 'pods', peer: promtail }, to: { kind: 'pods', peer: loki }, ports: [{ port: 1 }] } as const;
      net.allow(flow);
      expect(() => net.allow(flow)).toThrow('flow "a" is already allowed');
      expect(() => net.allow({ ...flow, name: 'Bad_Name' })).toThrow('flow name must match');
      expect(() => net.allow({ ...flow, name: 'b', ports: [] })).toThrow('flow "b" must name at least one port');
    });
    test('fails on an empty anyOf, or one holding "anywhere"', () => {
      const { net } = render();
      const from = { kind: 'pods', peer: loki } as const;
      expect(() => net.allow({ name: 'a', from, to: { kind: 'anyOf', peers: [] }, ports: [{ port: 1 }] }))
        .toThrow('flow "a": an \'anyOf\' end must list at least one peer, none of them "anywhere" or another \'anyOf\'');
      expect(() => net.allow({ name: 'b', from, to: { kind: 'anyOf', peers: [{ kind: 'anywhere' }] }, ports: [{ port: 1 }] })).toThrow('flow "b": an \'anyOf\'');
    });
    test('fails outside a namespaced chart', () => {
      expect(() => new NetworkPolicies(new Chart(testApp(), 'c'), 'N')).toThrow('NetworkPolicies must be placed in a chart with a namespace');
    });
  });
});
