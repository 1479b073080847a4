import { NodeAgentPriority } from '../../lib/constructs/node-agent-priority';
import { synth, testChart } from '../support/chart';
import { find } from '../support/manifest';

function render(props: ConstructorParameters<typeof NodeAgentPriority>[2] = {}) {
  const chart = testChart();
  const priority = new NodeAgentPriority(chart, 'Priority', props);
  return { priority, objects: synth(chart) };
}

describe('NodeAgentPriority', () => {
  test('one PriorityClass above every pod without one and below the system\'s, preempting, never the default', () => {
    const { priority, objects } = render();
    expect(objects).toHaveLength(1);
    const pc = find(objects, 'PriorityClass', 'obs-canary-node-agent');
    expect(pc).toMatchObject({ apiVersion: 'scheduling.k8s.io/v1', value: 1000000, globalDefault: false, preemptionPolicy: 'PreemptLowerPriority' });
    // cluster-scoped: the stack's charts render it without the chart's namespace (tests/charts/observability-chart.test.ts)
    expect(priority.name).toBe('obs-canary-node-agent');
    // before the DaemonSets that name it, in an Argo CD sync
    expect(pc.metadata.annotations).toEqual({ 'argocd.argoproj.io/sync-wave': '-1' });
  });

  test('name and value follow the props', () => {
    const { priority, objects } = render({ name: 'agents', value: 5000 });
    expect(find(objects, 'PriorityClass', 'agents').value).toBe(5000);
    expect(priority.name).toBe('agents');
  });

  test.each([0, 1_000_000_000, 1.5])('fails on a value of %s: the system\'s classes start at 1,000,000,000', value => {
    expect(() => render({ value })).toThrow(`'value' must be an integer from 1 to 999999999, got ${value}`);
  });
});
