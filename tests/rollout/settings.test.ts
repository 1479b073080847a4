import { DELIVERY_DEFAULTS } from '../../lib/rollout/defaults';
import { settingsOf } from '../../lib/rollout/settings';
import { GATEWAY, fixtureService, fixtureState } from './fixtures';

describe('settingsOf', () => {
  const steady = fixtureState('steady');

  test('without a service file\'s or a state file\'s settings: the defaults', () => {
    expect(settingsOf(steady, GATEWAY)).toEqual({ steps: DELIVERY_DEFAULTS.steps, slo: DELIVERY_DEFAULTS.slo, analysis: DELIVERY_DEFAULTS.analysis });
  });

  test('the service file overrides the defaults field by field; its metrics.source is the default of analysis.metrics', () => {
    const service = fixtureService('gateway', ['steps: [20, 100]', 'slo: { p95LatencyMs: 500 }', 'analysis: { window: 10m }']);
    const settings = settingsOf(steady, service);
    expect(settings.steps).toEqual([20, 100]);
    expect(settings.slo).toEqual({ ...DELIVERY_DEFAULTS.slo, p95LatencyMs: 500 });
    expect(settings.analysis).toEqual({ ...DELIVERY_DEFAULTS.analysis, window: '10m' });
    const http = settingsOf(steady, { ...GATEWAY, metrics: { ...GATEWAY.metrics, source: 'http' } });
    expect(http.analysis.metrics).toBe('http');
  });

  test('the state file overrides the service file field by field', () => {
    const service = fixtureService('gateway', ['steps: [20, 100]', 'slo: { p95LatencyMs: 500, successRatio: 0.99 }', 'analysis: { window: 10m, metrics: http }']);
    const state = { ...steady, steps: [5, 50, 100], slo: { p95LatencyMs: 250 }, analysis: { window: '2m', metrics: 'istio' as const } };
    expect(settingsOf(state, service)).toEqual({
      steps: [5, 50, 100],
      slo: { ...DELIVERY_DEFAULTS.slo, successRatio: 0.99, p95LatencyMs: 250 },
      analysis: { ...DELIVERY_DEFAULTS.analysis, window: '2m', metrics: 'istio' },
    });
  });

  test('an override that is null in the state file is none', () => {
    const service = fixtureService('gateway', ['slo: { p95LatencyMs: 500 }']);
    const state = { ...steady, slo: { p95LatencyMs: null as unknown as number } };
    expect(settingsOf(state, service).slo.p95LatencyMs).toBe(500);
  });
});
