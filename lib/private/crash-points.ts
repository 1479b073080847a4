/**
 * Fault injection for the crash tests: a run started with `CANARY_CRASH_AT=<point>` kills itself with SIGKILL when it
 * reaches that point, as `kill -9` or a lost node would, so that the tests can show the next run recovers from each
 * one. `main.ts` arms it from the environment; nothing else does, and an unarmed point costs one comparison.
 */
let armed: string | undefined;

/** The points a write passes, in order. */
export const CRASH_POINTS = ['locked', 'staged', 'swapping', 'swapped', 'state-written', 'commit-made', 'committed', 'pushed'] as const;

/** A point of {@link CRASH_POINTS}. */
export type CrashPoint = typeof CRASH_POINTS[number];

/** Arms a crash point (or disarms with undefined). */
export function armCrashPoint(point: string | undefined): void {
  armed = point;
}

/** Dies here, at once and without cleaning up, when this point is armed. */
export function crashPoint(point: CrashPoint): void {
  if (armed === point) process.kill(process.pid, 'SIGKILL');
}
