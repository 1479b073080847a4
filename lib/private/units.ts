import { Duration, Size } from 'cdk8s';

const UNITS: ReadonlyArray<readonly [string, number]> = [
  ['d', 86_400],
  ['h', 3_600],
  ['m', 60],
  ['s', 1],
];

/**
 * Formats a duration the way Prometheus, Loki, Tempo and Grafana read it: the largest unit that divides it evenly
 * (`15d`, `90m`, `30s`); milliseconds only below one second.
 */
export function goDuration(duration: Duration): string {
  const millis = duration.toMilliseconds();
  if (millis % 1000 !== 0) return `${millis}ms`;
  const seconds = millis / 1000;
  if (seconds === 0) return '0s';
  for (const [unit, size] of UNITS) {
    if (seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}

/** Formats a duration in hours (`168h`), as Loki and Tempo prefer for retention. */
export function hours(duration: Duration): string {
  return `${duration.toHours({ integral: false })}h`;
}

/** A Kubernetes quantity for a size, in the largest binary unit that holds it exactly (`10Gi`, `512Mi`). */
export function quantity(size: Size): string {
  const mebibytes = size.toMebibytes();
  if (mebibytes % 1024 === 0) return `${mebibytes / 1024}Gi`;
  return `${mebibytes}Mi`;
}

/** A Prometheus byte size: Prometheus reads `MB` and `GB` as powers of two, so `8GB` is 8 GiB. */
export function promBytes(size: Size): string {
  const mebibytes = size.toMebibytes();
  if (mebibytes % 1024 === 0) return `${mebibytes / 1024}GB`;
  return `${mebibytes}MB`;
}
