/**
 * Deduplication of an HA pair, with the real programs: two Prometheus 2.42
 * replicas run the local stack's rules with their rendered HA configuration
 * (each its own REPLICA_LABEL value) and both send to one real Alertmanager.
 * Alertmanager must hold each alert once, without the replica label, and send
 * one notification for it. promtool accepts both configurations.
 */
import { spawn, type ChildProcess, execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prometheusRuleGroups } from "../alerts/index";
import { prometheusArgs } from "../src/local/services";
import { PROMETHEUS_RULES_DIR, REPLICA_LABEL, renderPrometheusConfig, type HaMembers } from "../src/render/prometheus";
import { loadStackSettings } from "../src/settings";
import { renderStack } from "../src/synth";
import { freePort, startAlertmanager, startSink, waitFor, type Alertmanager, type Received } from "./support/servers";
import { tempDir } from "./support/tmp";

const run = promisify(execFile);
const s = loadStackSettings("local");
const dir = tempDir("ha-dedup");
const promDir = path.join(dir, "prometheus");

interface Replica {
  readonly url: string;
  readonly configFile: string;
  readonly proc: ChildProcess;
}

let am: Alertmanager;
let sink: Awaited<ReturnType<typeof startSink>>;
const replicas: Replica[] = [];

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "gm"))].reduce((sum, m) => sum + Number(m[1]), 0);
}

beforeAll(async () => {
  sink = await startSink();
  // Alertmanager groups by alertname only and flushes fast: one notification per alert name.
  const amConfig = path.join(dir, "alertmanager.yaml");
  writeFileSync(amConfig, `route: {receiver: sink, group_by: [alertname], group_wait: 1s, group_interval: 1m, repeat_interval: 1h}\nreceivers: [{name: sink, webhook_configs: [{url: "${sink.url}/hook", send_resolved: false}]}]\n`);
  am = await startAlertmanager(amConfig);
  // The local stack's rule files, as synth renders them, next to each replica's configuration.
  for (const [rel, text] of renderStack(s).files) {
    if (!rel.startsWith(PROMETHEUS_RULES_DIR)) continue;
    const file = path.join(promDir, "rules", path.basename(rel));
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
  const ports = [await freePort(), await freePort()];
  const amAddress = new URL(am.url).host;
  for (const [i, port] of ports.entries()) {
    const members: HaMembers = { replica: `test-${i}`, prometheus: ports.map((p) => `127.0.0.1:${p}`), alertmanagers: [amAddress] };
    const configFile = path.join(promDir, `prometheus-${i}.yaml`);
    writeFileSync(configFile, renderPrometheusConfig(s, prometheusRuleGroups(s), undefined, members));
    // A short resend delay: an alert that fired before the notifier found Alertmanager is sent again within seconds, not a minute.
    const args = [...prometheusArgs({ configFile, dataDir: path.join(promDir, `data-${i}`), port }), "--rules.alert.resend-delay=5s"];
    const proc = spawn("prometheus", args, { stdio: "ignore" });
    replicas.push({ url: `http://127.0.0.1:${port}`, configFile, proc });
  }
  for (const r of replicas) await waitFor("Prometheus to be ready", async () => ((await fetch(`${r.url}/-/ready`).catch(() => undefined))?.ok ? true : undefined), 30_000);
}, 90_000);

afterAll(async () => {
  await Promise.all(
    replicas.map(async (r) => {
      if (r.proc.exitCode !== null) return;
      const exited = new Promise((resolve) => r.proc.once("exit", resolve));
      r.proc.kill("SIGTERM");
      await exited;
    }),
  );
  await am?.stop();
  await sink?.close();
});

describe("two Prometheus replicas, one Alertmanager", () => {
  it("promtool accepts both replicas' configurations", async () => {
    for (const r of replicas) {
      const { stdout } = await run("promtool", ["check", "config", r.configFile]);
      expect(stdout).toMatch(/SUCCESS/);
    }
  });

  it("both replicas send their alerts, and each carries its own replica label", async () => {
    for (const r of replicas) {
      await waitFor("the replica to have sent to Alertmanager", async () => ((await metric(r.url, "prometheus_notifications_sent_total")) > 0 ? true : undefined), 60_000, 500);
      const config = (await (await fetch(`${r.url}/api/v1/status/config`)).json()) as { data: { yaml: string } };
      expect(config.data.yaml).toContain(`${REPLICA_LABEL}: test-${replicas.indexOf(r)}`);
    }
  }, 90_000);

  it("Alertmanager holds each alert once, without the replica label, and notifies once", async () => {
    type AmAlert = { labels: Record<string, string> };
    const alerts = await waitFor(
      "Watchdog in Alertmanager",
      async () => {
        const a = (await (await fetch(`${am.url}/api/v2/alerts`)).json()) as AmAlert[];
        return a.some((x) => x.labels.alertname === "Watchdog") ? a : undefined;
      },
      30_000,
      500,
    );
    expect(alerts.filter((a) => REPLICA_LABEL in a.labels)).toEqual([]);
    const sets = alerts.map((a) => JSON.stringify(Object.entries(a.labels).sort()));
    expect(new Set(sets).size).toBe(sets.length);
    expect(alerts.filter((a) => a.labels.alertname === "Watchdog")).toHaveLength(1);
    const watchdog = await waitFor("the Watchdog notification", () => sink.received.find((r: Received) => (r.body as { groupLabels?: Record<string, string> }).groupLabels?.alertname === "Watchdog"), 20_000, 250);
    expect((watchdog.body as { alerts: unknown[] }).alerts).toHaveLength(1);
    expect(sink.received.filter((r) => (r.body as { groupLabels?: Record<string, string> }).groupLabels?.alertname === "Watchdog")).toHaveLength(1);
  }, 60_000);
});
