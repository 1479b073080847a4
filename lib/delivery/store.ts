import * as fs from 'node:fs';
import * as path from 'node:path';
import { SERVICES, ServiceName } from '../../apps/contract';
import { RolloutState, StateError, parseRolloutState, renderRolloutState } from './state';

/** The rollout state of every service of one environment. */
export type Rollouts = Readonly<Record<ServiceName, RolloutState>>;

/** Where the state files live, relative to the repository root. */
export const ROLLOUT_DIR = 'rollout';

/** `rollout/<env>/<service>.yaml`, relative to the repository root. */
export function rolloutFile(env: string, service: string): string {
  return path.join(ROLLOUT_DIR, env, `${service}.yaml`);
}

/**
 * Reads and validates the state files of every service of an environment.
 *
 * @throws {@link StateError} naming the file (and field) at fault, a missing file, or a missing `rollout/<env>/`
 */
export function loadRollouts(root: string, env: string): Rollouts {
  const dir = `${path.join(ROLLOUT_DIR, env)}/`;
  if (!fs.statSync(path.join(root, dir), { throwIfNoEntry: false })?.isDirectory()) {
    throw new StateError(dir, [
      `the directory is missing; every environment needs one, with a state file per service (copy ${ROLLOUT_DIR}/local/ and adjust it)`,
    ]);
  }
  const out: Partial<Record<ServiceName, RolloutState>> = {};
  for (const service of Object.keys(SERVICES) as ServiceName[]) {
    const file = rolloutFile(env, service);
    let text: string;
    try {
      text = fs.readFileSync(path.join(root, file), 'utf8');
    } catch {
      throw new StateError(file, [`the file is missing; every service needs one (copy ${rolloutFile('local', service)} and adjust it)`]);
    }
    out[service] = parseRolloutState(text, file, service);
  }
  return out as Rollouts;
}

/** Writes a state file atomically (a reader sees the old or the new file, never half of one). */
export function writeRolloutState(root: string, env: string, state: RolloutState): string {
  const file = rolloutFile(env, state.service);
  const target = path.join(root, file);
  const tmp = `${target}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, renderRolloutState(state));
  fs.renameSync(tmp, target);
  return file;
}
