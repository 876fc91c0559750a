/** Prometheus durations ("90s", "5m", "1h30m", "8d"). */

const UNITS: readonly [string, number][] = [
  ["y", 365 * 86400],
  ["w", 7 * 86400],
  ["d", 86400],
  ["h", 3600],
  ["m", 60],
  ["s", 1],
  ["ms", 0.001],
];
const PATTERN = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

/** Seconds in a Prometheus duration, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const match = PATTERN.exec(text);
  if (!match || text === "") return undefined;
  return UNITS.reduce((sum, [, secs], i) => sum + Number(match[i + 1] ?? 0) * secs, 0);
}

export function mustParseDuration(text: string): number {
  const secs = parseDuration(text);
  if (secs === undefined) throw new Error(`not a Prometheus duration: "${text}"`);
  return secs;
}
