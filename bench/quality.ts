/**
 * npm run bench -- --only quality: the prod stack's alerting rules backtested over the labelled
 * month (src/backtest/month: 30 days generated from a seed, backfilled into a real Prometheus).
 * Per alert tier: incidents detected / expected, detection delay, false episodes and why, pages per
 * week; then one line: BENCH quality {"recall":…,"falseCritical":…,"falseWarningsPerWeek":…,"seconds":…}
 * (seconds: the whole run, the goal being under 600 on 2 cores).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { runBacktest, type BacktestOptions, type BacktestReport } from "../src/backtest/engine";
import { durationText } from "../src/backtest/format";
import { backfillMonth } from "../src/backtest/month/backfill";
import { mergeReplicas, score, type Quality } from "../src/backtest/month/score";
import { startPrometheus } from "../src/backtest/prometheus";
import { lookbackOf, recordingsRead, stackRuleGroups, type RuleGroup } from "../src/backtest/rules";
import { parseDuration } from "../src/duration";
import { loadStackSettings } from "../src/settings";

const SEED = 20261101;
const DAYS = Number(process.env.QUALITY_DAYS ?? 30);
/**
 * QUALITY_KEEP=<dir>: keep the backfilled month in <dir> (its TSDB and labels, month.json) and reuse
 * it when it holds one of the same seed, days and step: iterating on a rule then skips the ~1 minute
 * of generating and backfilling. The month then keeps the start it was generated with.
 */
const KEEP = process.env.QUALITY_KEEP;

type Backfilled = Awaited<ReturnType<typeof backfillMonth>>;

/** What makes a kept month stale: the generator's own source. */
const generatorHash = () => {
  const dir = path.join(__dirname, "..", "src", "backtest", "month");
  const h = createHash("sha256");
  for (const f of fs.readdirSync(dir).sort()) h.update(fs.readFileSync(path.join(dir, f)));
  return h.digest("hex");
};

/** The month kept in `dir` by an earlier run with the same options and generator, else a new one backfilled there. */
export async function keptMonth(o: { seed: number; start: number; days: number; step: number }, replicaDays: number, dir: string, log: (line: string) => void): Promise<{ month: Backfilled; start: number }> {
  const labels = path.join(dir, "month.json");
  const key = { seed: o.seed, days: o.days, step: o.step, replicaDays, generator: generatorHash() };
  if (fs.existsSync(labels)) {
    const kept = JSON.parse(fs.readFileSync(labels, "utf8")) as { key: typeof key; start: number; month: Backfilled };
    if (JSON.stringify(kept.key) === JSON.stringify(key) && fs.existsSync(kept.month.tsdb)) {
      log(`reusing the month kept in ${dir}`);
      return { month: kept.month, start: kept.start };
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const month = await backfillMonth(o, dir, log, replicaDays);
  fs.writeFileSync(labels, JSON.stringify({ key, start: o.start, month }));
  return { month, start: o.start };
}

/** Days of history after which every alert of `groups` reads full windows again: its longest lookback, through the recording rules it reads. */
function historyDays(groups: readonly RuleGroup[]): number {
  const records = groups.flatMap((g) => g.records);
  const need = groups.flatMap((g) => g.alerts).map((a) => lookbackOf(a.expr) + Math.max(0, ...recordingsRead(a.expr, records).map((r) => lookbackOf(r.expr))));
  return Math.ceil((Math.max(0, ...need) + 3600) / 86400);
}

/** Backtests `groups` over a TSDB directory with its own Prometheus. */
async function backtestOver(tsdb: string, evaluationInterval: string, o: Omit<BacktestOptions, "prometheus" | "data">): Promise<BacktestReport> {
  const prom = await startPrometheus(tsdb, `global:\n  evaluation_interval: ${evaluationInterval}\n`);
  try {
    return await runBacktest({ ...o, prometheus: prom.url, data: tsdb });
  } finally {
    await prom.stop();
  }
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd());
}

export function qualityTable(q: Quality): string[] {
  const rows = [["alert", "severity", "detected", "delay median", "delay max", "false", "pages/week", "why"]];
  for (const t of q.tiers) {
    if (t.severity === "none") continue;
    const median = t.delays.length ? durationText(t.delays[Math.floor((t.delays.length - 1) / 2)]!) : "-";
    const why = [...(t.missed.length ? [`missed ${t.missed.join(", ")}`] : []), ...t.why, ...(t.skipped ? [`not backtested: ${t.skipped}`] : [])].join("; ");
    rows.push([t.tier, t.severity, t.expected ? `${t.detected}/${t.expected}` : "-", median, t.delays.length ? durationText(t.delays.at(-1)!) : "-", String(t.falseEpisodes), t.severity === "critical" ? t.pagesPerWeek.toFixed(1) : "-", why]);
  }
  return table(rows);
}

export async function main(): Promise<void> {
  const began = Date.now();
  const elapsed = () => `${((Date.now() - began) / 1000).toFixed(0)}s`;
  const log = (line: string) => console.error(`quality [${elapsed()}] ${line}`);
  const settings = loadStackSettings("prod");
  const step = parseDuration(settings.scrapeInterval) ?? 30;
  // The month ends a few days ago: midnight UTC, DAYS + 3 days back.
  const options = { seed: SEED, start: (Math.floor(Date.now() / 1000 / 86400) - DAYS - 3) * 86400, days: DAYS, step };
  const groups = stackRuleGroups("prod");
  const replicaDays = historyDays(groups);
  const dir = KEEP ?? fs.mkdtempSync(path.join(os.tmpdir(), "authwatch-bench-quality-"));
  try {
    const { month, start } = KEEP ? await keptMonth(options, replicaDays, KEEP, log) : { month: await backfillMonth(options, dir, log, replicaDays), start: options.start };
    const end = start + DAYS * 86400 - step;
    const generated = elapsed();
    const report = await backtestOver(month.tsdb, settings.evaluationInterval, { start, end, groups, progress: log });
    let alerts = report.alerts;
    if (month.replicaTsdb && month.replicaUntil && month.replicaUntil > month.replicaStarts) {
      // The HA pair's second replica, started empty: its alerts reach Alertmanager too, for as long as its history is shorter than the rules' windows.
      log(`the second replica: from ${new Date(month.replicaStarts * 1000).toISOString()} for ${replicaDays} days`);
      const replica = await backtestOver(month.replicaTsdb, settings.evaluationInterval, { start: month.replicaStarts, end: month.replicaUntil - step, groups, progress: log });
      alerts = mergeReplicas(report.alerts, replica.alerts);
      if (KEEP) fs.writeFileSync(path.join(KEEP, "backtest-replica.json"), JSON.stringify(replica));
    }
    const q = score(alerts, month, start, end);
    if (KEEP) fs.writeFileSync(path.join(KEEP, "backtest.json"), JSON.stringify(report));
    console.log(`quality bench: prod rules over ${DAYS} days and the second replica's first ${replicaDays} (seed ${SEED}, ${month.incidents.length} incidents, step ${step}s); month generated and backfilled in ${generated}, total ${elapsed()}`);
    for (const line of qualityTable(q)) console.log(`  ${line}`);
    console.log(`  catalog: recall ${q.recall.toFixed(2)} (goal 1.0), false critical ${q.falseCritical} (goal 0), false warnings ${q.falseWarningsPerWeek.toFixed(1)}/week (goal ≤ 1); false info ${q.falseInfoPerWeek.toFixed(1)}/week (e-mail, outside the goal)`);
    console.log(`BENCH quality ${JSON.stringify({ recall: Number(q.recall.toFixed(3)), falseCritical: q.falseCritical, falseWarningsPerWeek: Number(q.falseWarningsPerWeek.toFixed(2)), seconds: Math.round((Date.now() - began) / 1000) })}`);
  } finally {
    if (!KEEP) fs.rmSync(dir, { recursive: true, force: true });
  }
}
