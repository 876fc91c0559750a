/** Prometheus durations ("90s", "5m", "1h30m", "8d"): parse and format. */

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

/** The shortest Prometheus duration for whole seconds (5400 → "1h30m"). */
export function formatDuration(totalSeconds: number): string {
  if (totalSeconds === 0) return "0s";
  let rest = Math.round(totalSeconds);
  let out = "";
  for (const [unit, secs] of UNITS) {
    if (secs < 1 || unit === "y" || unit === "w") continue;
    const n = Math.floor(rest / secs);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * secs;
    }
  }
  return out;
}
