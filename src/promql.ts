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

export type Matchers<S extends SeriesName> = { readonly [L in LabelOf<S>]?: string | Matcher };

const quote = (v: string) => JSON.stringify(v);

/** `series{label="value",...}`, labels in the order given. */
export function sel<S extends SeriesName>(series: S, matchers: Matchers<S> = {} as Matchers<S>): string {
  const parts = Object.entries(matchers as Record<string, string | Matcher | undefined>)
    .filter((e): e is [string, string | Matcher] => e[1] !== undefined)
    .map(([label, m]) => (typeof m === "string" ? `${label}=${quote(m)}` : `${label}${m.op}${quote(m.value)}`));
  return parts.length === 0 ? series : `${series}{${parts.join(",")}}`;
}

/** A recording rule selected by name (names are checked by the validator against our recording rules). */
export function rec(record: string, matchers: Readonly<Record<string, string>> = {}): string {
  const parts = Object.entries(matchers).map(([l, v]) => `${l}=${quote(v)}`);
  return parts.length === 0 ? record : `${record}{${parts.join(",")}}`;
}

/** A number as PromQL reads it (no exponent noise for the ratios we use). */
export function num(v: number): string {
  return String(Number(v.toPrecision(12)));
}

/** Matcher for a histogram bucket bound, whichever way the client formats it ("1" or "1.0"). */
export function le(bound: number): Matcher | string {
  return Number.isInteger(bound) ? re(`${bound}|${bound}\\.0`) : String(bound);
}
