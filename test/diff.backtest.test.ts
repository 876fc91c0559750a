/**
 * The backtest of `npm run diff -- --prometheus` (the state machine's own tests: backtest.state.test.ts):
 * old and new rules replayed over a real Prometheus whose history was backfilled with promtool.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AlertRule } from "../src/diff/artifacts";
import { backtest, backtestChanges } from "../src/diff/backtest";
import type { StackDiff } from "../src/diff/compare";
import { freePort, waitFor } from "./support/servers";

describe("backtest against a real Prometheus", () => {
  const step = 30;
  let dir: string;
  let prometheus: ChildProcess | undefined;
  let url: string;
  let t0: number;
  const end = () => t0 + 100 * step;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "authwatch-diff-backtest-"));
    t0 = Math.floor((Date.now() / 1000 - 6 * 3600) / 3600) * 3600;
    // Instance a: above 0.05 for 20 samples (10 min), then for 2 (1 min). Instance b: for 6 (3 min). Else 0.
    const value = (inst: string, i: number) =>
      inst === "a" ? ((i >= 20 && i < 40) || (i >= 60 && i < 62) ? 0.1 : 0) : i >= 80 && i < 86 ? 0.1 : 0;
    const lines = ["# TYPE test_ratio gauge"];
    for (const inst of ["a", "b"]) for (let i = 0; i <= 100; i++) lines.push(`test_ratio{job="auth",instance="${inst}"} ${value(inst, i)} ${t0 + i * step}`);
    fs.writeFileSync(path.join(dir, "data.om"), `${lines.join("\n")}\n# EOF\n`);
    execFileSync("promtool", ["tsdb", "create-blocks-from", "openmetrics", path.join(dir, "data.om"), path.join(dir, "tsdb")], { stdio: "ignore" });
    fs.writeFileSync(path.join(dir, "prometheus.yml"), "global:\n  evaluation_interval: 30s\n");
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    prometheus = spawn("prometheus", [`--config.file=${path.join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${path.join(dir, "tsdb")}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: "ignore" });
    await waitFor("Prometheus to be ready", async () => ((await fetch(`${url}/-/ready`).catch(() => undefined))?.ok ? true : undefined), 30_000);
  });

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const exited = new Promise((resolve) => prometheus!.once("exit", resolve));
      prometheus.kill("SIGTERM");
      await exited;
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const rule = (forDuration: string | undefined): AlertRule => ({
    source: "prometheus", file: "prometheus/rules/test.yaml", group: "test", interval: `${step}s`, alert: "TestRatioHigh",
    expr: 'test_ratio{job="auth"} > 0.05', for: forDuration, labels: { severity: "critical" }, annotations: {},
  });

  it("counts firing episodes and time per label set, with and without `for`", async () => {
    // for 2m: a fires 4 steps after it starts (16 steps firing), its 1-minute blip never fires; b fires for the last 2 of its 6.
    expect(await backtest(url, rule("2m"), t0, end())).toEqual({ episodes: 2, firingSeconds: (16 + 2) * step });
    // no for: every run of samples above the threshold is an episode.
    expect(await backtest(url, rule(undefined), t0, end())).toEqual({ episodes: 3, firingSeconds: (20 + 2 + 6) * step });
  });

  it("reports old against new for each changed tier", async () => {
    const tier = {
      tier: "TestRatioHigh critical", alert: "TestRatioHigh", source: "prometheus", status: "changed",
      changes: [{ field: "for", old: "2m", new: "0s" }], receiversBefore: [], receiversAfter: [], pagesBefore: true, pagesAfter: true,
      before: rule("2m"), after: rule(undefined),
    } as const;
    const diff = { stack: "prod", alerts: [tier] } as unknown as StackDiff;
    const [r] = await backtestChanges(url, [diff], "50m", end());
    expect(r).toMatchObject({ before: { episodes: 2, firingSeconds: 540 }, after: { episodes: 3, firingSeconds: 840 } });
    expect(r!.text).toBe("50m: before 2 episodes, 9m firing → after 3 episodes, 14m firing");
  });
});
