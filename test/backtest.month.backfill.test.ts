/** The labelled month backfilled with promtool: the second Prometheus replica's own TSDB starts empty mid-month. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { backfillMonth } from "../src/backtest/month/backfill";

const DAY = 86400;
const START = Date.UTC(2026, 9, 1) / 1000;

describe("labelled month backfill", () => {
  it("writes the second Prometheus replica's own TSDB: nothing before it started, the same series after", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "authwatch-month-replica-"));
    try {
      const m = await backfillMonth({ seed: 7, start: START, days: 2, step: 300 }, dir, () => {}, 1);
      expect(m.replicaStarts).toBe(START + DAY + 12 * 3600);
      expect(m.replicaUntil).toBe(START + 2 * DAY);
      const blocks = (tsdb: string) => fs.readdirSync(tsdb).filter((b) => /^[0-9A-Z]{26}$/.test(b)).map((b) => JSON.parse(fs.readFileSync(path.join(tsdb, b, "meta.json"), "utf8")) as { minTime: number; maxTime: number });
      const replica = blocks(m.replicaTsdb!);
      expect(replica.length).toBeGreaterThan(0);
      expect(Math.min(...replica.map((b) => b.minTime))).toBe(m.replicaStarts * 1000);
      expect(Math.min(...blocks(m.tsdb).map((b) => b.minTime))).toBe(START * 1000);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  // Regression: when one promtool failed, backfillMonth rejected while the other still ran; the caller
  // removed the directory under it, and its success handler then threw where nobody caught it.
  it("on a failing promtool, rejects naming the file, once no promtool runs any more", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "authwatch-month-fail-"));
    const log = path.join(dir, "promtool.log");
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    // promtool tsdb create-blocks-from openmetrics --max-block-duration=24h <file> <tsdb>: day-01 is refused at once, the others take 4 seconds (generating the 8 days takes about 2).
    fs.writeFileSync(path.join(bin, "promtool"), `#!/bin/sh\necho "start $5" >> ${log}\ncase "$5" in *day-01.om) echo "day 01 is broken" >&2; echo "end $5" >> ${log}; exit 1;; esac\nsleep 4\necho "end $5" >> ${log}\n`, { mode: 0o755 });
    const path0 = process.env.PATH;
    process.env.PATH = `${bin}:${path0}`;
    try {
      await expect(backfillMonth({ seed: 7, start: START, days: 8, step: 30 }, path.join(dir, "month"))).rejects.toThrow(/day-01\.om: day 01 is broken/);
      const lines = fs.readFileSync(log, "utf8").trim().split("\n");
      expect(lines.filter((l) => l.startsWith("start")).length).toBeGreaterThan(1);
      expect(lines.filter((l) => l.startsWith("end")).length).toBe(lines.filter((l) => l.startsWith("start")).length);
    } finally {
      process.env.PATH = path0;
      fs.rmSync(dir, { recursive: true, force: true });
    }
    // A promtool still running would now find its file gone: give it the time to fail where nobody listens.
    await new Promise((resolve) => setTimeout(resolve, 4500));
  }, 60_000);
});
