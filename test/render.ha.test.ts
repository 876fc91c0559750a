/**
 * The HA pair's Prometheus configuration: each replica carries its own
 * REPLICA_LABEL value and drops it from alerts, alerts and scrapes every
 * member, and is otherwise the single configuration; the single one is
 * unchanged. Also the HA drills' refusal of a single-node stack and their table.
 */
import * as yaml from "js-yaml";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { prometheusRuleGroups } from "../alerts/index";
import { layout, type StackState } from "../src/local/state";
import { fleetFile, fleetTargets, writeHaConfigs, FLEET_JOB } from "../src/local/ha/config";
import { haDrillTable, NotHaError, requireHa, type HaDrillResult } from "../src/local/ha/harness";
import { DEFAULT_ADDRESSES, REPLICA_LABEL, renderPrometheusConfig, type HaMembers } from "../src/render/prometheus";
import { loadStackSettings } from "../src/settings";
import type { DrillContext } from "../src/local/drills";
import { tempDir } from "./support/tmp";

type Config = {
  global: { external_labels: Record<string, string> };
  alerting: { alert_relabel_configs?: { action: string; regex: string }[]; alertmanagers: { static_configs: { targets: string[] }[] }[] };
  scrape_configs: { job_name: string; static_configs?: { targets: string[] }[]; file_sd_configs?: { files: string[] }[] }[];
  rule_files: string[];
};

const s = loadStackSettings("local");
const groups = prometheusRuleGroups(s);
const members: HaMembers = { replica: "r-1", prometheus: ["127.0.0.1:1", "127.0.0.1:2"], alertmanagers: ["127.0.0.1:3", "127.0.0.1:4", "127.0.0.1:5"] };
const single = yaml.load(renderPrometheusConfig(s, groups)) as Config;
const replica = yaml.load(renderPrometheusConfig(s, groups, DEFAULT_ADDRESSES, members)) as Config;
const job = (c: Config, name: string) => c.scrape_configs.find((j) => j.job_name === name)!;

describe("an HA replica's prometheus.yaml", () => {
  it("labels the replica with REPLICA_LABEL and drops exactly that label from every alert it sends", () => {
    expect(replica.global.external_labels).toEqual({ ...single.global.external_labels, [REPLICA_LABEL]: "r-1" });
    expect(replica.alerting.alert_relabel_configs).toEqual([{ action: "labeldrop", regex: REPLICA_LABEL }]);
  });

  it("sends every alert to every Alertmanager and scrapes every member", () => {
    expect(replica.alerting.alertmanagers).toEqual([{ static_configs: [{ targets: [...members.alertmanagers] }] }]);
    expect(job(replica, s.scrapeJobs.alertmanager).static_configs).toEqual([{ targets: [...members.alertmanagers] }]);
    expect(job(replica, s.scrapeJobs.prometheus).static_configs).toEqual([{ targets: [...members.prometheus] }]);
  });

  it("is otherwise the single configuration: same rules, same jobs", () => {
    expect(replica.rule_files).toEqual(single.rule_files);
    const others = (c: Config) => c.scrape_configs.filter((j) => ![s.scrapeJobs.prometheus, s.scrapeJobs.alertmanager].includes(j.job_name));
    expect(others(replica)).toEqual(others(single));
  });

  it("the single configuration has no replica label and no alert relabelling", () => {
    expect(Object.keys(single.global.external_labels)).not.toContain(REPLICA_LABEL);
    expect(single.alerting.alert_relabel_configs).toBeUndefined();
    expect(single.alerting.alertmanagers).toEqual([{ static_configs: [{ targets: [DEFAULT_ADDRESSES.alertmanager] }] }]);
  });
});

describe("the local HA stack's configuration files", () => {
  it("two replicas with distinct replica values, the same rules, and the storm's empty stub fleet", () => {
    const l = layout(tempDir("ha-render"));
    const ports = { sink: 1, postgres: 2, pushgateway: 3, postgresExporter: 4, auth: 5, blackbox: 6, alertmanager: 7, prometheus: 8 };
    const ha = { prometheus: [8, 9], alertmanager: [7, 10, 11], cluster: [12, 13, 14] };
    mkdirSync(l.prometheus, { recursive: true });
    writeHaConfigs(s, l, ports, ha);
    const configs = ["prometheus.yaml", "prometheus-1.yaml"].map((f) => yaml.load(readFileSync(join(l.prometheus, f), "utf8")) as Config);
    expect(configs.map((c) => c.global.external_labels[REPLICA_LABEL])).toEqual(["local-0", "local-1"]);
    expect(configs[1]!.rule_files).toEqual(configs[0]!.rule_files);
    for (const c of configs) {
      expect(c.alerting.alertmanagers[0]!.static_configs[0]!.targets).toEqual(["127.0.0.1:7", "127.0.0.1:10", "127.0.0.1:11"]);
      expect(job(c, FLEET_JOB).file_sd_configs).toEqual([{ files: [fleetFile(l)], refresh_interval: "5s" }]);
    }
    expect(JSON.parse(readFileSync(fleetFile(l), "utf8"))).toEqual([]);
  });

  it("the storm's fleet: one target group per instance, all labelled with the auth job", () => {
    const groups = JSON.parse(fleetTargets(2000, 9, "auth")) as { targets: string[]; labels: Record<string, string> }[];
    expect(groups).toHaveLength(2000);
    expect(new Set(groups.map((g) => g.labels.instance)).size).toBe(2000);
    expect(new Set(groups.map((g) => g.labels.job))).toEqual(new Set(["auth"]));
  });
});

describe("HA drills", () => {
  const ctx = (ha?: StackState["ha"]) => ({ l: layout("/tmp/x"), state: { ha } as StackState }) as DrillContext;

  it("refuse a single-node stack, saying how to start the HA one", () => {
    expect(() => requireHa(ctx(), "storm")).toThrow(NotHaError);
    expect(() => requireHa(ctx(), "storm")).toThrow(/npm run local -- --ha/);
    expect(requireHa(ctx({ prometheus: [1, 2], alertmanager: [3, 4, 5], cluster: [6, 7, 8] }), "storm").ha.alertmanager).toEqual([3, 4, 5]);
  });

  it("print time to page, pages and duplicates per drill", () => {
    const r: HaDrillResult = { drill: "alertmanager-failover", alert: "AuthServiceDown", receivers: ["pagerduty-critical"], timeToPageMs: 29_200, pages: { "pagerduty-critical": 2 }, resolved: { "pagerduty-critical": 1 }, duplicates: 1, ok: false, notes: ["killed x"] };
    const table = haDrillTable([r]).split("\n");
    expect(table[0]).toMatch(/drill\s+alert\s+receiver\(s\)\s+time to page\s+pages\s+duplicates\s+resolved\s+result/);
    expect(table[2]).toMatch(/alertmanager-failover\s+AuthServiceDown\s+pagerduty-critical\s+29\.2s\s+2\s+1\s+1\s+FAILED/);
    expect(table.at(-1)).toBe("  alertmanager-failover: killed x");
  });
});
