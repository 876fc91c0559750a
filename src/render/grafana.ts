/**
 * Dashboard models as files: the JSON Grafana imports, with every object's
 * keys sorted (so the output never depends on the order builders set fields),
 * two-space indentation and a final newline. What synth writes is what the
 * Pulumi program hands to Grafana, byte for byte.
 */
import type * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";

/** A deep copy with sorted keys; functions and undefined values (SDK internals) are dropped, as JSON.stringify would. */
export function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => (v === undefined || typeof v === "function" ? null : sortKeysDeep(v)));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v === undefined || typeof v === "function") continue;
      out[key] = sortKeysDeep(v);
    }
    return out;
  }
  return value;
}

export function renderDashboardJson(model: dashboard.Dashboard): string {
  return `${JSON.stringify(sortKeysDeep(model), null, 2)}\n`;
}

export const dashboardFile = (uid: string) => `grafana/dashboards/${uid}.json`;
