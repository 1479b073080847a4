import { parseCommand } from '../../lib/delivery/args';
import { canaryCommand, initCommand } from '../../lib/rollout/commands';

/** What the CLI reads from a quoted command, `<…>` placeholders filled in. */
const parsed = (command: string) => parseCommand(command.replace('<service>', 'ledger').replace('<image>@sha256:<digest>', `ghcr.io/acme/ledger@sha256:${'0'.repeat(64)}`)
  .split(' ').slice(2));

describe('initCommand', () => {
  test('for every environment, or one', () => {
    expect(initCommand('ledger')).toBe('npx canary init --service ledger --image <image>@sha256:<digest>');
    expect(initCommand('ledger', 'prod')).toBe('npx canary init --service ledger --image <image>@sha256:<digest> --env prod');
    expect(parsed(initCommand('ledger', 'prod'))).toMatchObject({ verb: 'init', service: 'ledger', envs: ['prod'] });
  });
});

describe('canaryCommand', () => {
  test('names the environment always (the CLI\'s default is local), and the service or a placeholder for it', () => {
    expect(canaryCommand('status', 'prod', 'ledger')).toBe('npx canary status --service ledger --env prod');
    expect(canaryCommand('rollback', 'central')).toBe('npx canary rollback --service <service> --env central');
    for (const verb of ['status', 'promote', 'rollback'] as const) {
      expect(parsed(canaryCommand(verb, 'prod'))).toMatchObject({ verb, service: 'ledger', env: 'prod' });
    }
  });
});
