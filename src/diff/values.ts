/** Values as people read them: thresholds the way an alert's summary shows them, durations, retention. */

export interface Comparison {
  readonly op: string;
  readonly value: number;
  readonly text: string;
}

const NUMBER = String.raw`-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?`;
const COMPARISON = new RegExp(String.raw`(==|!=|>=|<=|>|<)(\s*(?:bool\s+)?)(${NUMBER})(?![\w.])`, "g");

/** The comparison constants of an expression (`x > 0.05 and y >= 20` → > 0.05, >= 20), and the expression with them masked. */
export function comparisons(expr: string): { readonly constants: Comparison[]; readonly masked: string } {
  const constants: Comparison[] = [];
  const masked = expr.replace(COMPARISON, (_m, op: string, space: string, num: string) => {
    constants.push({ op, value: Number(num), text: num });
    return `${op}${space}\u2039${constants.length}\u203a`;
  });
  return { constants, masked };
}

type Kind = "percent" | "percent-spaced" | "duration" | "plain";

const trim = (n: number): string => String(Number(n.toPrecision(4)));

/** Seconds as the shortest exact unit: 0.5 → 500ms, 93600 → 26h, 172800 → 2d. */
export function secondsText(s: number): string {
  if (s !== 0 && Math.abs(s) < 1) return `${trim(s * 1000)}ms`;
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60]] as const) if (s !== 0 && s % size === 0) return `${s / size}${unit}`;
  return `${trim(s)}s`;
}

function render(v: number, kind: Kind): string {
  switch (kind) {
    case "percent":
      return `${trim(v * 100)}%`;
    case "percent-spaced":
      return `${trim(v * 100)} %`;
    case "duration":
      return secondsText(v);
    case "plain":
      return String(v);
  }
}

const shows = (text: string, token: string): boolean =>
  new RegExp(`(^|[^\\d.])${token.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![\\d.]\\d)`).test(text);

function kindIn(v: number, text: string): Kind | undefined {
  return (["percent", "percent-spaced", "duration"] as const).find((k) => shows(text, render(v, k)));
}

/**
 * A threshold change old → new, formatted the way the alert's own summary or description
 * shows the value (5% → 7%, 500ms → 1s); plain numbers when the text does not show it.
 */
export function thresholdChange(old: number, now: number, oldText: string, newText: string): [string, string] {
  const kind = kindIn(old, oldText) ?? kindIn(now, newText) ?? "plain";
  return [render(old, kind), render(now, kind)];
}

const UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };

/** A Prometheus duration (`1h30m`, `8760h`) in seconds, or undefined when it is not one. */
export function parseDuration(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text.trim()) return undefined;
  return parts.reduce((sum, p) => sum + Number(p[1]) * UNITS[p[2]!]!, 0);
}

/** A retention period for people: `8760h` → `365 days`; anything else as written. */
export function retentionText(period: string | undefined): string {
  if (period === undefined) return "none";
  const s = parseDuration(period);
  if (s !== undefined && s % 86400 === 0) return `${s / 86400} days`;
  return period;
}

/** The `for` of a rule; none means it fires on the first evaluation. */
export const forText = (f: string | undefined): string => f ?? "0s";
