import { CanaryRelease, SERVICE_DASHBOARD_FOLDERS, serviceDashboards } from '../../lib/dashboards';
import { LEDGER, REPO_SERVICES, SERVICE_FILE_NAMES, WITH_LEDGER, without } from '../slo/services';
import { panelTitled, targetsOf, testRelease } from './support';

const uids = (dashboards: ReturnType<typeof serviceDashboards>): string[][] => dashboards.map(d => [d.folder, d.dashboard.uid]);

describe('serviceDashboards', () => {
  const repo = serviceDashboards(REPO_SERVICES, testRelease);
  const withLedger = serviceDashboards(WITH_LEDGER, testRelease);

  test('folders Canary and Services', () => {
    expect(SERVICE_DASHBOARD_FOLDERS).toEqual({ canary: 'Canary', overview: 'Services' });
  });

  test('for each service file, in name order: its canary dashboard, then its overview when it declares metrics.http', () => {
    const expected = SERVICE_FILE_NAMES.flatMap(name => [
      ['Canary', `canary-${name}`],
      ...(REPO_SERVICES[name].metrics.http ? [['Services', `svc-${name}`]] : []),
    ]);
    expect(uids(repo)).toEqual(expected);
    // both demo services declare their own metrics
    expect(uids(repo)).toEqual([['Canary', 'canary-backend'], ['Services', 'svc-backend'], ['Canary', 'canary-gateway'], ['Services', 'svc-gateway']]);
  });

  test('the ledger (Istio metrics only) gets a canary dashboard in its namespace and no overview', () => {
    expect(uids(withLedger)).toEqual([...uids(repo), ['Canary', 'canary-ledger']]);
    const ledger = withLedger.find(d => d.dashboard.uid === 'canary-ledger')!.dashboard;
    const exprs = targetsOf(ledger).map(t => t.target.expr as string).filter(e => e.includes('istio_'));
    expect(exprs.length).toBeGreaterThan(0);
    expect(exprs.filter(e => !/_namespace="payments"/.test(e))).toEqual([]);
    expect(exprs.filter(e => !/ledger-canary|destination_service_name="ledger"/.test(e))).toEqual([]);
  });

  test('removing backend removes every mention of it, and changes nothing else', () => {
    expect(JSON.stringify(repo)).toContain('backend');
    const rest = serviceDashboards(without(REPO_SERVICES, 'backend'), testRelease);
    expect(JSON.stringify(rest)).not.toContain('backend');
    expect(rest).toEqual(repo.filter(d => !d.dashboard.uid.endsWith('-backend')));
  });

  test('the release of each service, asked once by name, reaches its canary dashboard', () => {
    const asked: string[] = [];
    const releaseOf = (service: string): CanaryRelease => {
      asked.push(service);
      return { ...testRelease(service), canaryWeight: service === 'ledger' ? 40 : 0, window: '10m' };
    };
    const ledger = serviceDashboards(WITH_LEDGER, releaseOf).find(d => d.dashboard.uid === 'canary-ledger')!.dashboard;
    expect(asked).toEqual(['backend', 'gateway', 'ledger']);
    expect(panelTitled(ledger, 'Configured canary weight').targets[0].expr).toBe('vector(40)');
    expect(panelTitled(ledger, 'Success ratio (10m)').targets[0].expr).toContain('[10m]');
  });

  test('the service file\'s name and namespace win over what a release says', () => {
    const sneaky = (service: string): CanaryRelease => ({ ...testRelease(service), service: 'other', namespace: 'elsewhere' } as CanaryRelease);
    const [canary] = serviceDashboards({ ledger: LEDGER }, sneaky);
    expect(canary.dashboard.uid).toBe('canary-ledger');
    expect(JSON.stringify(canary.dashboard)).not.toMatch(/other|elsewhere/);
  });

  test('no services, no dashboards', () => {
    expect(serviceDashboards({}, testRelease)).toEqual([]);
  });

  test('fails if a service is keyed by another name', () => {
    expect(() => serviceDashboards({ payments: LEDGER }, testRelease))
      .toThrow('serviceDashboards: \'services.payments\' has \'name\' "ledger": key each service by its name, as loadServices does');
  });

  test('fails with the dashboard\'s own message when a release is out of range', () => {
    expect(() => serviceDashboards({ ledger: LEDGER }, s => ({ ...testRelease(s), canaryWeight: 101 })))
      .toThrow('canaryDashboard: \'canaryWeight\' must be an integer from 0 to 100 (0: no canary), got 101');
  });
});
