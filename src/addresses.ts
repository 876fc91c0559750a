/**
 * Where people and Grafana find what a stack deploys: runbook and dashboard
 * URLs (alert annotations, panel links, Pulumi outputs) and the names the
 * Grafana data sources get. Settings only, so rendering, the dashboard kit and
 * delivery can all depend on it.
 */
import type { Settings } from "./settings";

export function runbookUrl(s: Settings, slug: string): string {
  return `${s.runbookBaseUrl.replace(/\/+$/, "")}/${slug}.md`;
}

/** A dashboard, or one panel of it (`?viewPanel=`). */
export function dashboardUrl(s: Settings, uid: string, panel?: number): string {
  const base = `${s.dashboardBaseUrl.replace(/\/+$/, "")}/d/${uid}`;
  return panel === undefined ? base : `${base}?viewPanel=${panel}`;
}

/** Names the data sources get in Grafana (delivery creates them with the settings' uids; dashboards' variables default to them). */
export const DATASOURCE_NAMES = { prometheus: "authwatch Prometheus", loki: "authwatch Loki", alertmanager: "authwatch Alertmanager", postgres: "authwatch PostgreSQL" } as const;

/** Grafana's plugin id of the PostgreSQL data source (core since Grafana 10.3; "postgres" before). */
export const POSTGRES_DATASOURCE_TYPE = "grafana-postgresql-datasource";
