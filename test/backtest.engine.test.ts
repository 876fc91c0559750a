/**
 * The backtest engine against a real Prometheus holding only raw data (backfilled with promtool):
 * recording rules of two levels are materialised (range queries backfilled with promtool),
 * aligned so the alert fires exactly when the same condition written inline over raw series does;
 * and the `npm run backtest` CLI prints the JSON its interface promises.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backtestAlert, notRunning, runBacktest } from "../src/backtest/engine";
import { formatText } from "../src/backtest/format";
import { startPrometheus, type LocalPrometheus } from "../src/backtest/prometheus";
import { queryInstant, queryRange } from "../src/backtest/query";
import { lookbacks, type Alerting, type Recording, type RuleGroup } from "../src/backtest/rules";
import { REPO_ROOT } from "../src/synth";

const step = 30;
const hours = 3;

describe("backtest over raw data, recording rules materialised", () => {
  let dir: string;
  let prom: LocalPrometheus;
  let t0: number;
  const end = () => t0 + hours * 3600;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "authwatch-backtest-engine-"));
    t0 = Math.floor((Date.now() / 1000 - 8 * 3600) / 3600) * 3600;
    // 10 req/s; 5xx at 3/s during minutes 60-90 and 120-123, else none.
    const lines = ["# TYPE req counter"];
    const ok: string[] = [];
    const bad: string[] = [];
    let okCount = 0;
    let badCount = 0;
    for (let i = 0; i <= (hours * 3600) / step; i++) {
      const minute = (i * step) / 60;
      const errors = (minute >= 60 && minute < 90) || (minute >= 120 && minute < 123) ? 3 : 0;
      okCount += (10 - errors) * step;
      badCount += errors * step;
      ok.push(`req_total{job="auth",code="200"} ${okCount} ${t0 + i * step}`);
      bad.push(`req_total{job="auth",code="500"} ${badCount} ${t0 + i * step}`);
    }
    lines.push(...ok, ...bad);
    // `up` of one target, missing over minutes [150, 170): the Prometheus was not running then.
    lines.push("# TYPE up gauge");
    for (let i = 0; i <= (hours * 3600) / step; i++) if (i * step < 150 * 60 || i * step >= 170 * 60) lines.push(`up{job="auth",instance="a"} 1 ${t0 + i * step}`);
    fs.writeFileSync(path.join(dir, "data.om"), `${lines.join("\n")}\n# EOF\n`);
    execFileSync("promtool", ["tsdb", "create-blocks-from", "openmetrics", path.join(dir, "data.om"), path.join(dir, "tsdb")], { stdio: "ignore" });
    // It refuses a remote read of 3 hours of both request series (2 hours pass): the scratch Prometheus must read in steps.
    prom = await startPrometheus(path.join(dir, "tsdb"), "global:\n  evaluation_interval: 30s\n", [`--storage.remote.read-sample-limit=${2 * ((2 * 3600 + 300) / step + 20)}`]);
  }, 120_000);

  afterAll(async () => {
    await prom?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const alert = (expr: string): Alerting => ({
    alert: "ReqErrors", expr, forSeconds: 120, labels: { severity: "critical" }, annotations: { summary: "{{ $value | humanizePercentage }} of {{ $labels.job }} fail" },
    group: "g", interval: step,
  });
  const groups: RuleGroup[] = [
    {
      file: "prometheus/rules/g.yaml", name: "g", interval: step,
      records: [
        { record: "job:req:rate5m", expr: 'sum by (job) (rate(req_total{job="auth"}[5m]))', labels: {}, group: "g", interval: step },
        { record: "job:req_5xx:rate5m", expr: 'sum by (job) (rate(req_total{job="auth",code=~"5.."}[5m]))', labels: {}, group: "g", interval: step },
        { record: "job:req_5xx:ratio_rate5m", expr: "job:req_5xx:rate5m / job:req:rate5m", labels: {}, group: "g", interval: step },
      ],
      alerts: [alert("job:req_5xx:ratio_rate5m > 0.1")],
    },
  ];

  it("materialises both levels and fires at the same evaluations as the inline expression", async () => {
    const lines: string[] = [];
    const report = await runBacktest({ prometheus: prom.url, start: t0, end: end(), groups, progress: (l) => lines.push(l) });
    expect([...report.recordings.materialised].sort()).toEqual(["job:req:rate5m", "job:req_5xx:rate5m", "job:req_5xx:ratio_rate5m"]);
    expect(lines.filter((l) => l.includes("materialising"))).toHaveLength(2);
    const [a] = report.alerts;
    expect(a!.skipped).toBeUndefined();
    // The same condition over raw series, at the offset promtool evaluated the rules at.
    const offset = (Date.parse(a!.episodes[0]!.start) / 1000) % step;
    const inline = await backtestAlert(
      prom.url,
      alert('sum by (job) (rate(req_total{job="auth",code=~"5.."}[5m])) / sum by (job) (rate(req_total{job="auth"}[5m])) > 0.1'),
      t0, end(), offset,
    );
    expect(a!.episodes.map((e) => [e.start, e.end])).toEqual(inline.map((e) => [e.start, e.end]));
    // Two error windows, each longer than `for` plus the rate window's ramp: two episodes, the first during minutes 60-95.
    expect(a!.episodes).toHaveLength(2);
    const first = (Date.parse(a!.episodes[0]!.start) / 1000 - t0) / 60;
    expect(first).toBeGreaterThanOrEqual(60 + 2);
    expect(first).toBeLessThan(60 + 5);
    expect(a!.episodes[0]!.labels).toEqual({ job: "auth", severity: "critical", alertname: "ReqErrors" });
    expect(a!.episodes[0]!.annotations.summary).toMatch(/^[0-9.]+% of auth fail$/);
  }, 180_000);

  // Regression: recording rules were materialised from --start only, so a rule over an hour of another rule read an empty hour at --start.
  it("materialises the rules a longer window reads from that window before --start: an hour's average is right at --start", async () => {
    const avg: Recording = { record: "job:req_5xx:ratio_avg1h", expr: "avg_over_time(job:req_5xx:ratio_rate5m[1h])", labels: {}, group: "g", interval: step };
    const hourly: RuleGroup[] = [{ ...groups[0]!, records: [...groups[0]!.records, avg], alerts: [{ ...alert("job:req_5xx:ratio_avg1h > 0.05"), forSeconds: 0 }] }];
    const need = lookbacks(hourly[0]!.records, hourly[0]!.alerts.map((a) => a.expr));
    expect(Object.fromEntries([...need].map(([r, n]) => [r.record, n]))).toEqual({ "job:req:rate5m": 3600, "job:req_5xx:rate5m": 3600, "job:req_5xx:ratio_rate5m": 3600, "job:req_5xx:ratio_avg1h": 0 });
    // Ten minutes after the first error window (minutes 60-90, 30 % failing): the hour before still averages about 15 %.
    const start = t0 + 100 * 60;
    const report = await runBacktest({ prometheus: prom.url, start, end: start + 300, groups: hourly });
    const episodes = report.alerts[0]!.episodes;
    expect(episodes).toHaveLength(1);
    expect(Date.parse(episodes[0]!.start) / 1000 - start).toBeLessThan(step);
  }, 180_000);

  // A changed recording rule the Prometheus still records under its name: read through remote_read, the
  // old samples mix with the materialised ones inside any window over it (an average of 10 and 999).
  it("warns when it materialises a rule the Prometheus records with another expression", async () => {
    const copy = path.join(dir, "tsdb-with-rules");
    fs.cpSync(path.join(dir, "tsdb"), copy, { recursive: true, filter: (p) => !/(^|\/)lock$/.test(p) });
    fs.writeFileSync(path.join(dir, "old-rules.yaml"), "groups:\n- name: g\n  rules:\n  - record: job:req:rate5m\n    expr: sum by (job) (rate(req_total[10m]))\n");
    const old = await startPrometheus(copy, `global:\n  evaluation_interval: 30s\nrule_files: [${path.join(dir, "old-rules.yaml")}]\n`);
    try {
      const report = await runBacktest({ prometheus: old.url, start: t0, end: end(), groups });
      expect(report.warnings).toEqual([expect.stringMatching(/^job:req:rate5m: .*another expression.*windows over it/)]);
      expect(formatText(report)).toContain("job:req:rate5m: ");
    } finally {
      await old.stop();
    }
  }, 180_000);

  // Regression: Prometheus writes infinities as "+Inf" and "-Inf", which Number() reads as NaN.
  it("reads infinite values as infinities, in vectors and scalars", async () => {
    expect((await queryInstant(prom.url, "vector(1) / 0", end()))[0]!.value).toBe(Infinity);
    expect((await queryInstant(prom.url, "-1 / 0", end()))[0]!.value).toBe(-Infinity);
    const series = [...(await queryRange(prom.url, "vector(1) / 0", [t0, t0 + step], step)).values()];
    expect(series.flatMap((s) => [...s.values.values()])).toEqual([Infinity, Infinity]);
  });

  it("finds when the Prometheus recorded nothing at all, and evaluates nothing there", async () => {
    // The window [t - step, t] may still see the last sample before the hole (Prometheus 2) or not (3).
    const down = await notRunning(prom.url, t0, end(), step);
    expect(down).toHaveLength(1);
    expect(down[0]!.start - (t0 + 150 * 60)).toBeGreaterThanOrEqual(0);
    expect(down[0]!.start - (t0 + 150 * 60)).toBeLessThanOrEqual(step);
    expect(down[0]!.end).toBe(t0 + 170 * 60);
    const always: Alerting = { ...alert("vector(1)"), forSeconds: 0 };
    const episodes = await backtestAlert(prom.url, always, t0, end(), 0, undefined, down);
    const iso = (t: number) => new Date(t * 1000).toISOString().replace(".000Z", "Z");
    expect(episodes.map((e) => [e.start, e.end])).toEqual([[iso(t0), iso(down[0]!.start)], [iso(down[0]!.end), null]]);
  });

  it("npm run backtest prints the JSON of its interface, and refuses an unknown alert", () => {
    const cli = (args: string[]) => spawnSync(process.execPath, ["--import", "tsx", path.join(REPO_ROOT, "src", "cli", "backtest.ts"), ...args], { cwd: REPO_ROOT, encoding: "utf8" });
    const range = ["--start", new Date(t0 * 1000).toISOString(), "--end", new Date(end() * 1000).toISOString()];
    const ok = cli(["--prometheus", prom.url, ...range, "--stack", "prod", "--alert", "AuthServiceDown", "--format", "json"]);
    expect(ok.status, ok.stderr).toBe(0);
    const body = JSON.parse(ok.stdout) as { alerts: { alert: string; severity: string; labels: Record<string, string>; episodes: unknown[] }[] };
    expect(body.alerts.length).toBeGreaterThan(0);
    for (const a of body.alerts) {
      expect(a.alert).toBe("AuthServiceDown");
      expect(a.severity).toBe(a.labels.severity);
      expect(Array.isArray(a.episodes)).toBe(true);
    }
    const bad = cli(["--prometheus", prom.url, ...range, "--alert", "NoSuchAlert"]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/--alert NoSuchAlert: no such alerting rule/);
    const usage = cli(["--prometheus", prom.url, "--start", "yesterday", "--end", range[3]!]);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/--start yesterday: not an RFC3339 time/);
  }, 120_000);
});
