import { TrafficSplit } from '../../lib/constructs/traffic-split';

describe('TrafficSplit', () => {
  test('stable only: 100/0, no canary', () => {
    const split = TrafficSplit.stableOnly();
    expect([split.stablePercent, split.canaryPercent, split.hasCanary]).toEqual([100, 0, false]);
  });

  test.each([1, 10, 25, 50, 100])('a canary at %i%% leaves the rest to stable', percent => {
    const split = TrafficSplit.canary(percent);
    expect(split.stablePercent + split.canaryPercent).toBe(100);
    expect(split.canaryPercent).toBe(percent);
    expect(split.hasCanary).toBe(true);
  });

  test('a canary at 0% runs (the pin reaches it) but the route sends it nothing: unlike stable only', () => {
    const split = TrafficSplit.canary(0);
    expect([split.stablePercent, split.canaryPercent, split.hasCanary]).toEqual([100, 0, true]);
  });

  test.each([-1, -5, 101, 12.5, Number.NaN])('fails on a canary weight of %p', percent => {
    expect(() => TrafficSplit.canary(percent)).toThrow(`canary weight must be an integer from 0 to 100, got ${percent}`);
  });
});
