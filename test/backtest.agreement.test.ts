/**
 * The backtest agrees with the real Prometheus: the local stack evaluates the local stack's rules
 * live (ALERTS) while two drills make it misbehave; the backtest of the same period against its
 * TSDB finds every real firing episode, starting within one evaluation interval, and no other.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBacktest, type BacktestReport } from "../src/backtest/engine";
import { queryRange } from "../src/backtest/query";
import { stackRuleGroups } from "../src/backtest/rules";
import { evaluationSteps } from "../src/backtest/state";
import type { DrillResult } from "../src/local/drills";
import { localUrl, sleep, waitFor } from "../src/local/net";
import type { StackState } from "../src/local/state";
import { localCli as cli, startLocalStack, stopLocalStack, type CliRun } from "./support/local-stack";

const DRILLS = ["service-down", "refresh-reuse"];


interface Episode {
  key: string;
  start: number;
  end: number | null;
}

const key = (labels: Readonly<Record<string, string>>): string => {
  const { alertstate: _s, __name__: _n, ...rest } = labels;
  return JSON.stringify(Object.entries(rest).sort(([a], [b]) => (a < b ? -1 : 1)));
};

/** Firing episodes Prometheus itself recorded: runs of ALERTS{alertstate="firing"} sampled every second. */
async function realEpisodes(url: string, start: number, end: number): Promise<Episode[]> {
  const steps = evaluationSteps(start, end, 1);
  const out: Episode[] = [];
  for (const s of (await queryRange(url, 'ALERTS{alertstate="firing"}', steps, 1)).values()) {
    let from: number | undefined;
    for (const t of steps) {
      if (s.values.has(t)) from ??= t;
      else if (from !== undefined) {
        out.push({ key: key(s.labels), start: from, end: t });
        from = undefined;
      }
    }
    if (from !== undefined) out.push({ key: key(s.labels), start: from, end: null });
  }
  return out;
}

const backtestEpisodes = (r: BacktestReport): Episode[] =>
  r.alerts.flatMap((a) => a.episodes.map((e) => ({ key: key(e.labels), start: Date.parse(e.start) / 1000, end: e.end === null ? null : Date.parse(e.end) / 1000 })));

describe("backtest agrees with the local stack's Prometheus", () => {
  const dir = mkdtempSync(join(tmpdir(), "authwatch-backtest-agree-"));
  let up: CliRun;
  let state: StackState;
  let start: number;
  let drills: DrillResult[];

  beforeAll(async () => {
    ({ up, state } = await startLocalStack(dir, { timeoutMs: 150_000 }));
    // From the moment Prometheus evaluates: an expression that needs no data (Watchdog) is true before it ran,
    // and "ready" (targets up) can come seconds before the first rule evaluation on a busy machine. Watchdog
    // always fires, so its first ALERTS sample marks the first evaluation; one more interval covers every group.
    const prometheus = localUrl(state.ports.prometheus);
    await waitFor(
      "Prometheus' first rule evaluation",
      async () => {
        const res = (await (await fetch(`${prometheus}/api/v1/query?query=${encodeURIComponent('ALERTS{alertname="Watchdog"}')}`)).json()) as { data: { result: unknown[] } };
        return res.data.result.length > 0 ? true : undefined;
      },
      60_000,
      500,
    );
    await sleep(Math.max(...stackRuleGroups("local").map((g) => g.interval)) * 1000);
    start = Math.ceil(Date.now() / 1000);
    const json = join(dir, "drills.json");
    const run = await cli(["drill", ...DRILLS, "--dir", dir, "--json", json]).done;
    if (run.code !== 0) throw new Error(`drills failed:\n${run.output}`);
    drills = JSON.parse(readFileSync(json, "utf8")) as DrillResult[];
    await sleep(20_000); // let the last faults resolve and a few more evaluations land
  }, 420_000);

  afterAll(async () => {
    await stopLocalStack(up, dir);
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it("finds every real firing episode, within one evaluation interval, and no extra one", async () => {
    expect(drills.map((d) => [d.scenario, d.ok])).toEqual(DRILLS.map((d) => [d, true]));
    const url = localUrl(state.ports.prometheus);
    const groups = stackRuleGroups("local");
    const end = Math.floor(Date.now() / 1000) - 2;
    const report = await runBacktest({ prometheus: url, start, end, groups });
    expect(report.alerts.filter((a) => a.skipped)).toEqual([]);
    // Episodes starting in the last interval of an alerting group may not have reached one side yet (the
    // SLO long-window groups, every 2m30s, record and alert on nothing the drills touch).
    const interval = Math.max(...groups.filter((g) => g.alerts.length > 0).map((g) => g.interval));
    const settled = (e: Episode) => e.start < end - interval;
    const real = (await realEpisodes(url, start, end)).filter(settled);
    const ours = backtestEpisodes(report).filter(settled);
    for (const d of drills) expect(real.some((e) => e.key.includes(`"${d.alert}"`)), `${d.scenario}: ${d.alert} fired for real`).toBe(true);
    for (const r of real) {
      const match = ours.filter((o) => o.key === r.key && Math.abs(o.start - r.start) <= interval);
      expect(match, `real episode ${r.key} from ${new Date(r.start * 1000).toISOString()}: backtest episodes ${JSON.stringify(ours.filter((o) => o.key === r.key))}`).toHaveLength(1);
    }
    const extra = ours.filter((o) => !real.some((r) => r.key === o.key && Math.abs(o.start - r.start) <= interval));
    expect(extra, "backtest episodes Prometheus never fired").toEqual([]);
  }, 120_000);
});
