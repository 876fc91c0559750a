/**
 * npm run bench -- --only quality: the prod stack's alerting rules backtested over the labelled
 * month (src/backtest/month: 30 days generated from a seed, backfilled into a real Prometheus).
 * Per alert tier: incidents detected / expected, detection delay, false episodes and why, pages per
 * week; then one line: BENCH quality {"recall":…,"falseCritical":…,"falseWarningsPerWeek":…}.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runBacktest } from "../src/backtest/engine";
import { durationText } from "../src/backtest/format";
import { backfillMonth } from "../src/backtest/month/backfill";
import { score, type Quality } from "../src/backtest/month/score";
import { startPrometheus } from "../src/backtest/prometheus";
import { stackRuleGroups } from "../src/backtest/rules";
import { parseDuration } from "../src/duration";
import { loadStackSettings } from "../src/settings";

const SEED = 20261101;
const DAYS = Number(process.env.QUALITY_DAYS ?? 30);

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
  const start = (Math.floor(Date.now() / 1000 / 86400) - DAYS - 3) * 86400;
  const end = start + DAYS * 86400 - step;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "authwatch-bench-quality-"));
  try {
    const month = await backfillMonth({ seed: SEED, start, days: DAYS, step }, dir, log);
    const generated = elapsed();
    const prom = await startPrometheus(month.tsdb, `global:\n  evaluation_interval: ${settings.evaluationInterval}\n`);
    try {
      const report = await runBacktest({ prometheus: prom.url, start, end, groups: stackRuleGroups("prod"), data: month.tsdb, progress: log });
      const q = score(report.alerts, month, start, end);
      console.log(`quality bench: prod rules over ${DAYS} days (seed ${SEED}, ${month.incidents.length} incidents, step ${step}s); month generated and backfilled in ${generated}, total ${elapsed()}`);
      for (const line of qualityTable(q)) console.log(`  ${line}`);
      console.log(`  catalog: recall ${q.recall.toFixed(2)} (goal 1.0), false critical ${q.falseCritical} (goal 0), false warnings ${q.falseWarningsPerWeek.toFixed(1)}/week (goal ≤ 1)`);
      console.log(`BENCH quality ${JSON.stringify({ recall: Number(q.recall.toFixed(3)), falseCritical: q.falseCritical, falseWarningsPerWeek: Number(q.falseWarningsPerWeek.toFixed(2)) })}`);
    } finally {
      await prom.stop();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
