/** The Prometheus HTTP API the backtest reads: range queries in chunks, instant queries. */

export interface Series {
  readonly labels: Readonly<Record<string, string>>;
  /** Evaluation timestamp (seconds) → value. */
  readonly values: Map<number, number>;
}

interface Sample {
  metric: Record<string, string>;
  values?: [number, string][];
  value?: [number, string];
}

/** Prometheus refuses more than 11,000 points per series in one range query. */
export const MAX_POINTS = 11_000;

async function api(url: string, endpoint: string, params: Record<string, string>): Promise<{ resultType: string; result: Sample[] }> {
  const base = url.replace(/\/$/, "");
  const res = await fetch(`${base}/api/v1/${endpoint}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(params).toString(),
  }).catch((e: Error) => {
    throw new Error(`${url}: ${e.message}${e.cause ? ` (${String((e.cause as Error).message ?? e.cause)})` : ""}`);
  });
  const text = await res.text();
  let body: { status?: string; error?: string; warnings?: string[]; data?: { resultType: string; result: Sample[] } };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new Error(`${url}: ${endpoint} ${JSON.stringify(params.query)}: HTTP ${res.status}: ${text.slice(0, 200)}`);
  }
  if (body.status !== "success" || !body.data) throw new Error(`${url}: ${endpoint} ${JSON.stringify(params.query)}: ${body.error ?? res.statusText}`);
  // A warning that is not PromQL's advice says data is missing from the answer (a refused remote read): an error here.
  const missing = (body.warnings ?? []).filter((w) => !w.startsWith("PromQL"));
  if (missing.length) throw new Error(`${url}: ${endpoint} ${JSON.stringify(params.query)}: incomplete answer: ${missing.join("; ")}`);
  return body.data;
}

/** A sample value as Prometheus writes it: a float, "NaN", "+Inf" or "-Inf" (which Number() reads as NaN). */
export const sampleValue = (v: string): number => (v === "+Inf" ? Infinity : v === "-Inf" ? -Infinity : Number(v));

export const seriesKey = (labels: Readonly<Record<string, string>>): string => JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));

/**
 * `expr` at every timestamp of `steps` (evenly spaced by `step`), in chunks of at most `maxPoints`
 * points, each chunk's series handed to `onChunk` as it comes (time order within a series).
 */
export async function queryRangeChunks(url: string, expr: string, steps: readonly number[], step: number, maxPoints: number, onChunk: (series: Series[], done: number, total: number) => void): Promise<void> {
  for (let i = 0; i < steps.length; i += maxPoints) {
    const chunk = steps.slice(i, i + maxPoints);
    const data = await api(url, "query_range", { query: expr, start: String(chunk[0]), end: String(chunk[chunk.length - 1]), step: `${step}s` });
    const series = data.result.map((m) => ({ labels: m.metric, values: new Map((m.values ?? []).map(([t, v]) => [Math.round(t * 1000) / 1000, sampleValue(v)])) }));
    onChunk(series, Math.min(i + maxPoints, steps.length), steps.length);
  }
}

/** `expr` at every timestamp of `steps`, in chunks of at most `maxPoints` points; `onChunk` reports progress after each chunk. */
export async function queryRange(url: string, expr: string, steps: readonly number[], step: number, onChunk?: (done: number, total: number) => void, maxPoints = MAX_POINTS): Promise<Map<string, Series>> {
  const out = new Map<string, Series>();
  await queryRangeChunks(url, expr, steps, step, maxPoints, (series, done, total) => {
    for (const s of series) {
      const key = seriesKey(s.labels);
      const into = out.get(key) ?? { labels: s.labels, values: new Map<number, number>() };
      for (const [t, v] of s.values) into.values.set(t, v);
      out.set(key, into);
    }
    onChunk?.(done, total);
  });
  return out;
}

/** An instant query's vector at `time` (seconds). */
export async function queryInstant(url: string, expr: string, time: number): Promise<{ labels: Record<string, string>; value: number; at: number }[]> {
  const data = await api(url, "query", { query: expr, time: String(time) });
  if (data.resultType === "scalar") {
    const v = (data.result as unknown as [number, string]);
    return [{ labels: {}, value: sampleValue(v[1]), at: v[0] }];
  }
  return data.result.map((m) => ({ labels: m.metric, value: sampleValue(m.value![1]), at: m.value![0] }));
}
