/**
 * A small typed PromQL builder: series and label names are checked against
 * the telemetry contract at compile time. Composition stays plain PromQL text,
 * which the validator parses and checks again at synth time.
 */
import type { LabelOf, SeriesName } from "./telemetry";

type Op = "=" | "!=" | "=~" | "!~";
export interface Matcher {
  readonly op: Op;
  readonly value: string;
}
export const re = (value: string): Matcher => ({ op: "=~", value });
/** A `label!="value"` matcher. */
export const notEqual = (value: string): Matcher => ({ op: "!=", value });

export type Matchers<S extends SeriesName> = { readonly [L in LabelOf<S>]?: string | Matcher };

const quote = (v: string) => JSON.stringify(v);

function selector(name: string, matchers: Readonly<Record<string, string | Matcher | undefined>>): string {
  const parts = Object.entries(matchers)
    .filter((e): e is [string, string | Matcher] => e[1] !== undefined)
    .map(([label, m]) => (typeof m === "string" ? `${label}=${quote(m)}` : `${label}${m.op}${quote(m.value)}`));
  return parts.length === 0 ? name : `${name}{${parts.join(",")}}`;
}

/** `series{label="value",...}`, labels in the order given. */
export function sel<S extends SeriesName>(series: S, matchers: Matchers<S> = {} as Matchers<S>): string {
  return selector(series, matchers as Record<string, string | Matcher | undefined>);
}

/**
 * A recording rule of ours selected by name (alerts/recording.ts RECORDS or
 * src/slo.ts SLO_RECORDS; the validators check the name and the labels
 * against what our recording rules keep).
 */
export function rec(record: string, matchers: Readonly<Record<string, string | Matcher>> = {}): string {
  return selector(record, matchers);
}

/** A number without float noise (1 - 0.1 is 0.9), as thresholds take it. */
export const round = (v: number): number => Number(v.toPrecision(12));

/** A number as PromQL reads it (no exponent noise for the ratios we use). */
export const num = (v: number): string => String(round(v));

/** Matcher for a histogram bucket bound, whichever way the client formats it ("1" or "1.0"). */
export function le(bound: number): Matcher | string {
  return Number.isInteger(bound) ? re(`${bound}|${bound}\\.0`) : String(bound);
}
