/** Shared vocabulary of the alert definitions. */
import type { AlertingRule, LogAlertRule, RecordingRule } from "../src/model";
import { humanizeDuration, humanizePercentage } from "../src/gotemplate";

/** AuthHighErrorRate → auth-high-error-rate: the runbook slug of an alert, unless it names another. */
export function runbookSlug(alertName: string): string {
  return alertName
    .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1-$2")
    .toLowerCase();
}

type AlertInput = Omit<AlertingRule, "kind" | "runbook"> & { readonly runbook?: string };

export function alert(a: AlertInput): AlertingRule {
  return { kind: "alert", ...a, runbook: a.runbook ?? runbookSlug(a.alert) };
}

export function logAlert(a: AlertInput): LogAlertRule {
  return { kind: "log-alert", ...a, runbook: a.runbook ?? runbookSlug(a.alert) };
}

export function record(name: string, expr: string, labels?: Readonly<Record<string, string>>): RecordingRule {
  return labels ? { kind: "record", record: name, expr, labels } : { kind: "record", record: name, expr };
}

/** Thresholds as people read them in descriptions (the same functions Prometheus uses for $value). */
export const pct = humanizePercentage;
export const secs = humanizeDuration;
