/** The HA stack's drills (`npm run local -- --ha`), by name: `npm run local -- drill <name>` runs them. */
import type { DrillContext } from "../drills";
import { alertmanagerFailover, alertmanagerRestart, prometheusFailover } from "./failover";
import type { HaDrillResult } from "./harness";
import { storm } from "./storm";

export const HA_DRILLS: Readonly<Record<string, (ctx: DrillContext) => Promise<HaDrillResult>>> = {
  "alertmanager-failover": alertmanagerFailover,
  "prometheus-failover": prometheusFailover,
  "alertmanager-restart": alertmanagerRestart,
  storm,
};
export const HA_DRILL_NAMES = Object.keys(HA_DRILLS);
export const isHaDrill = (name: string) => HA_DRILL_NAMES.includes(name);
