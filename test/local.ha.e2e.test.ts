/**
 * `npm run local -- --ha` end to end, with the real programs: two Prometheus
 * replicas and three clustered Alertmanagers come up, `status` shows every
 * member ready and peered, `drill alertmanager-failover` kills the sending
 * Alertmanager inside group_wait and the one that sent after it, and the page
 * and its resolution each arrive exactly once; `down` leaves nothing running.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HaDrillResult } from "../src/local/ha/harness";
import { waitFor } from "../src/local/net";
import { layout, pidAlive, readState, type StackState } from "../src/local/state";
import { localCli as cli, startLocalStack, stopLocalStack, type CliRun } from "./support/local-stack";


describe("npm run local -- --ha: the cluster, alertmanager-failover, down", () => {
  const dir = mkdtempSync(join(tmpdir(), "authwatch-local-ha-"));
  const l = layout(dir);
  let upRun: CliRun;
  let screen = "";
  let state: StackState;

  beforeAll(async () => {
    ({ up: upRun, state } = await startLocalStack(dir, { ha: true, timeoutMs: 180_000, onScreen: (s) => (screen += s) }));
  }, 210_000);

  afterAll(async () => {
    await stopLocalStack(upRun, dir);
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it("runs two Prometheus replicas and three Alertmanagers, and status shows every member ready and peered", async () => {
    expect(state.ha?.prometheus).toHaveLength(2);
    expect(state.ha?.alertmanager).toHaveLength(3);
    for (const name of ["alertmanager", "alertmanager-1", "alertmanager-2", "prometheus", "prometheus-1"] as const) expect(pidAlive(state.pids[name]!), name).toBe(true);
    // The screen follows the ready mark in state.json by a moment.
    await waitFor("the HA part of the screen", () => (screen.includes("High availability (--ha)") ? true : undefined), 10_000);
    const status = await waitFor(
      "the cluster to settle",
      async () => {
        const r = await cli(["status", "--dir", dir]).done;
        return /alertmanager cluster: all members ready and peered/.test(r.output) ? r.output : undefined;
      },
      60_000,
      2000,
    );
    expect(status.match(/ready {4}3 peers {2}position [012]/g)).toHaveLength(3);
  }, 90_000);

  it("drill alertmanager-failover: one page and one resolution per receiver, no duplicate", async () => {
    const json = join(dir, "ha.json");
    const started = Date.now();
    const run = await cli(["drill", "alertmanager-failover", "--dir", dir, "--json", json]).done;
    const [r] = JSON.parse(readFileSync(json, "utf8")) as HaDrillResult[];
    expect(run.code, run.output).toBe(0);
    expect(r!.ok, r!.error).toBe(true);
    for (const receiver of r!.receivers) expect([r!.pages[receiver], r!.resolved![receiver]], receiver).toEqual([1, 1]);
    expect(r!.duplicates).toBe(0);
    expect(run.output).toMatch(/drill\s+alert\s+receiver\(s\)\s+time to page\s+pages\s+duplicates\s+resolved\s+result/);
    console.log(`alertmanager-failover: time to page ${(r!.timeToPageMs! / 1000).toFixed(1)}s, drill ${((Date.now() - started) / 1000).toFixed(0)}s`);
  }, 420_000);

  it("down stops every member", async () => {
    const pids = [state.supervisorPid, ...Object.values(readState(l)!.pids)];
    const stopped = await cli(["down", "--dir", dir]).done;
    expect(stopped.code, stopped.output).toBe(0);
    await upRun.done;
    expect(pids.filter((pid) => pidAlive(pid))).toEqual([]);
  }, 120_000);
});
