/**
 * The HA stack's shape (`npm run local -- --ha`), as prod runs it: two
 * Prometheus replicas with the same rules, each with its own REPLICA_LABEL
 * value, both alerting every Alertmanager; three Alertmanagers in one gossip
 * cluster on loopback. This file holds the members' ports and writes each
 * replica's configuration; src/local/ha/processes.ts starts them.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import * as yaml from "js-yaml";
import { prometheusRuleGroups } from "../../../alerts/index";
import { renderPrometheusConfig, type HaMembers } from "../../render/prometheus";
import { toYaml } from "../../render/yaml";
import type { Settings } from "../../settings";
import { scrapeTargets } from "../config";
import { LOOPBACK, pickPort } from "../net";
import type { HaPorts, Layout, Ports } from "../state";

export const PROMETHEUS_REPLICAS = 2;
export const ALERTMANAGER_REPLICAS = 3;

/** Preferred ports of the further members (the first ones keep DEFAULT_PORTS' prometheus and alertmanager). */
const DEFAULT_HA_PORTS = { prometheus: [19190], alertmanager: [19193, 19293], cluster: [19094, 19194, 19294] };

/** The members' ports: the fixed defaults when free, any free port otherwise (or always, with randomPorts). */
export async function chooseHaPorts(ports: Ports, random: boolean): Promise<HaPorts> {
  const taken = new Set<number>(Object.values(ports));
  const pick = async (preferred: number) => {
    const p = await pickPort(random ? undefined : preferred, taken);
    taken.add(p);
    return p;
  };
  const each = async (list: number[]) => {
    const out: number[] = [];
    for (const p of list) out.push(await pick(p));
    return out;
  };
  return {
    prometheus: [ports.prometheus, ...(await each(DEFAULT_HA_PORTS.prometheus))],
    alertmanager: [ports.alertmanager, ...(await each(DEFAULT_HA_PORTS.alertmanager))],
    cluster: await each(DEFAULT_HA_PORTS.cluster),
  };
}

/** Replica i's process name, configuration file and data directory (replica 0 keeps the single stack's). */
export const prometheusMember = (l: Layout, i: number) => ({
  name: i === 0 ? "prometheus" : `prometheus-${i}`,
  configFile: join(l.prometheus, i === 0 ? "prometheus.yaml" : `prometheus-${i}.yaml`),
  dataDir: join(l.prometheus, i === 0 ? "data" : `data-${i}`),
  replica: `local-${i}`,
});

export const alertmanagerMember = (l: Layout, i: number) => ({
  name: i === 0 ? "alertmanager" : `alertmanager-${i}`,
  storage: join(l.alertmanager, i === 0 ? "data" : `data-${i}`),
});

/**
 * The storm drill's stub targets (file_sd): empty normally; the drill writes 2,000 of them, each
 * labelled job=auth with its own instance and all pointing at one closed port, so that the fleet
 * reads as down.
 */
export const fleetFile = (l: Layout) => join(l.prometheus, "fleet.json");
export const FLEET_JOB = "auth-fleet";

/** Each replica's prometheus.yaml (replica 0's replaces the single stack's), and an empty fleet. */
export function writeHaConfigs(s: Settings, l: Layout, ports: Ports, ha: HaPorts): void {
  const groups = prometheusRuleGroups(s);
  const at = (p: number) => `${LOOPBACK}:${p}`;
  for (let i = 0; i < ha.prometheus.length; i++) {
    const m = prometheusMember(l, i);
    const members: HaMembers = { replica: m.replica, prometheus: ha.prometheus.map(at), alertmanagers: ha.alertmanager.map(at) };
    const rendered = renderPrometheusConfig(s, groups, scrapeTargets(ports), members);
    writeFileSync(m.configFile, withFleetJob(rendered, l));
  }
  writeFileSync(fleetFile(l), "[]\n");
}

/** The rendered configuration with the stub fleet's scrape job added (the local stack's own, not prod's). */
function withFleetJob(rendered: string, l: Layout): string {
  const doc = yaml.load(rendered) as { scrape_configs: unknown[] };
  doc.scrape_configs.push({ job_name: FLEET_JOB, file_sd_configs: [{ files: [fleetFile(l)], refresh_interval: "5s" }] });
  const header = rendered.split("\n").filter((line) => line.startsWith("# ")).map((line) => line.slice(2));
  return toYaml(doc, [...header, `One replica of the local HA stack, with the storm drill's stub fleet (job ${FLEET_JOB}).`].join("\n"));
}

/** The fleet file's content: `count` down targets (the drill picks a closed port). */
export function fleetTargets(count: number, closedPort: number, authJob: string): string {
  const groups = Array.from({ length: count }, (_, i) => ({
    targets: [`${LOOPBACK}:${closedPort}`],
    labels: { job: authJob, instance: `auth-fleet-${String(i).padStart(4, "0")}` },
  }));
  return `${JSON.stringify(groups)}\n`;
}
