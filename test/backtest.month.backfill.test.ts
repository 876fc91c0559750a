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

});
