/**
 * The backtest's materialiser against `promtool tsdb create-blocks-from rules`, the reference: over
 * the same raw data (a counter reset, a quiet hour with no requests, a histogram), each recording rule
 * materialised both ways has the same samples, to the millisecond and to the bit: NaN and +Inf, the
 * rule's labels, and the rule's name over the name a bare selector keeps.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { dump } from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { materialise, type Scratch } from "../src/backtest/materialise";
import { startPrometheus, type LocalPrometheus } from "../src/backtest/prometheus";
import type { Recording } from "../src/backtest/rules";

const run = promisify(execFile);
const step = 30;
const hours = 4;
/** Over the 3 histogram series: more than 2 hours and 5 minutes of samples, less than the 4 hours. */
const REMOTE_READ_LIMIT = 3 * ((2 * 3600 + 300) / step + 20);

const records: Recording[] = [
  { record: "job:req:rate5m", expr: 'sum by (job) (rate(req_total{job="auth"}[5m]))', labels: {}, group: "g", interval: step },
  // 0/0 during the quiet hour (NaN), x/0 when only errors come (+Inf).
  { record: "job:req_5xx:ratio_rate5m", expr: 'sum by (job) (rate(req_total{code="500"}[5m])) / sum by (job) (rate(req_total{code="200"}[5m]))', labels: { slo: "auth-availability" }, group: "g", interval: step },
  { record: "job:latency:p95_5m", expr: "histogram_quantile(0.95, sum by (job, le) (rate(latency_bucket[5m])))", labels: {}, group: "g", interval: step },
  { record: "job:up:copy", expr: 'up{job="auth"}', labels: {}, group: "g", interval: step },
  // Two series, whose samples come in several chunks; and a rule label overriding one of the result's.
  { record: "job_code:req:rate5m", expr: 'sum by (job, code) (rate(req_total{job="auth"}[5m]))', labels: { job: "auth-api" }, group: "g", interval: step },
  // A second rule of an existing name (as the SLOs' rules share theirs): one OpenMetrics family.
  { record: "job:req:rate5m", expr: 'sum by (job) (rate(req_total{job="auth",code="200"}[5m]))', labels: { slo: "ok-only" }, group: "g", interval: step },
];

/** Every sample of every materialised rule, as the API writes them (values as strings: NaN stays NaN). */
async function samples(url: string, at: number): Promise<Record<string, [number, string][]>> {
  const out: Record<string, [number, string][]> = {};
  for (const r of records) {
    const res = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: `${r.record}[${hours + 1}h]`, time: String(at) })}`);
    const body = (await res.json()) as { data: { result: { metric: Record<string, string>; values: [number, string][] }[] } };
    for (const s of body.data.result) out[JSON.stringify(Object.entries(s.metric).sort())] = s.values;
  }
  return out;
}

describe("materialised recording rules", () => {
  let dir: string;
  let t0: number;
  let reference: LocalPrometheus | undefined;
  let scratch: Scratch | undefined;
  const end = () => t0 + hours * 3600;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "authwatch-materialise-"));
    t0 = Math.floor((Date.now() / 1000 - 10 * 3600) / 3600) * 3600;
    // Each series' samples together and in time order, as OpenMetrics wants them.
    const series = new Map<string, string[]>();
    const sample = (head: string, v: number, t: number) => {
      const lines = series.get(head) ?? [];
      series.set(head, lines);
      lines.push(`${head} ${v} ${t}`);
    };
    let ok = 0;
    let bad = 0;
    const buckets = { "0.1": 0, "0.5": 0, "+Inf": 0 };
    for (let i = 0; i <= (hours * 3600) / step; i++) {
      const t = t0 + i * step;
      const minute = (i * step) / 60;
      const quiet = minute >= 60 && minute < 120;
      const onlyErrors = minute >= 150 && minute < 160;
      if (minute === 180) ok = bad = 0; // the process restarted
      if (!quiet) {
        ok += onlyErrors ? 0 : 7 * step;
        bad += minute % 40 < 5 || onlyErrors ? 2 * step : 0;
        buckets["0.1"] += 5 * step;
        buckets["0.5"] += (minute > 200 ? 6 : 8) * step;
        buckets["+Inf"] += 9 * step;
      }
      sample('req_total{job="auth",code="200"}', ok, t);
      sample('req_total{job="auth",code="500"}', bad, t);
      for (const [le, v] of Object.entries(buckets)) sample(`latency_bucket{job="auth",le="${le}"}`, v, t);
      sample('up{job="auth",instance="a"}', quiet ? 0 : 1, t);
    }
    const text = ["req_total", "latency_bucket", "up"].map((name) => [`# TYPE ${name} gauge`, ...[...series].filter(([head]) => head.startsWith(`${name}{`)).flatMap(([, lines]) => lines)].join("\n"));
    fs.writeFileSync(path.join(dir, "data.om"), `${text.join("\n")}\n# EOF\n`);
    await run("promtool", ["tsdb", "create-blocks-from", "openmetrics", path.join(dir, "data.om"), path.join(dir, "raw")]);
  }, 60_000);

  afterAll(async () => {
    await reference?.stop();
    await scratch?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("gives the samples promtool tsdb create-blocks-from rules gives", async () => {
    // The reference: promtool's rule importer over the raw data, its blocks next to the raw ones.
    fs.cpSync(path.join(dir, "raw"), path.join(dir, "reference"), { recursive: true });
    // The source refuses a remote read of more samples than 2 hours of the histogram hold: the scratch
    // Prometheus reads it in promtool's 2-hour steps, and says when a read was refused.
    const source = await startPrometheus(path.join(dir, "raw"), "global:\n  evaluation_interval: 30s\n", [`--storage.remote.read-sample-limit=${REMOTE_READ_LIMIT}`]);
    try {
      fs.writeFileSync(path.join(dir, "rules.yaml"), dump({ groups: [{ name: "g", interval: `${step}s`, rules: records.map((r) => ({ record: r.record, expr: r.expr, ...(Object.keys(r.labels).length ? { labels: r.labels } : {}) })) }] }));
      await run("promtool", ["tsdb", "create-blocks-from", "rules", `--start=${t0}`, `--end=${end()}`, `--url=${source.url}`, `--output-dir=${path.join(dir, "reference")}`, "rules.yaml"], { cwd: dir });
      reference = await startPrometheus(path.join(dir, "reference"), "global:\n  evaluation_interval: 30s\n");
      const want = await samples(reference.url, end());
      expect(Object.keys(want)).toHaveLength(records.length + 1); // the by-code rule gives two series
      // The whole range, but for the first minutes a 5-minute rate needs.
      for (const [series, values] of Object.entries(want)) expect(values.length, series).toBeGreaterThan((hours * 3600) / step - 10);
      const values = Object.values(want).flat().map(([, v]) => v);
      expect(values).toContain("NaN");
      expect(values).toContain("+Inf");
      // promtool evaluates at its own offset past each multiple of the interval: ours is told the same one.
      const first = Object.values(want)[0]![0]![0];
      const offset = Math.round((((first - t0) % step) + step) % step * 1000) / 1000;
      // Over a copy of the source's TSDB (the quality bench), and through remote_read (npm run backtest).
      const said: string[] = [];
      scratch = await materialise(source.url, records, t0, end(), { data: path.join(dir, "raw"), offset, progress: (l) => said.push(l) });
      expect(await samples(scratch.url, end())).toEqual(want);
      // Its progress counts every sample (two rules at once used to lose each other's count).
      expect(said.filter((l) => /level 1: \d+ samples/.test(l)).map((l) => Number(/(\d+) samples/.exec(l)![1]))).toEqual([Object.values(want).flat().length]);
      await scratch.close();
      scratch = await materialise(source.url, records, t0, end(), { offset });
      expect(await samples(scratch.url, end())).toEqual(want);
      // By default at multiples of the interval, from the start to the end, both included.
      await scratch.close();
      scratch = await materialise(source.url, records, t0, end());
      const up = Object.entries(await samples(scratch.url, end())).find(([k]) => k.includes("job:up:copy"))![1];
      expect([up[0]![0], up.at(-1)![0], up.length]).toEqual([t0, end(), (hours * 3600) / step + 1]);
    } finally {
      await source.stop();
    }
  }, 180_000);
});
