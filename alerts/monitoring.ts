/** Monitoring the monitoring: targets, rule evaluation, notification delivery, and the dead man's switch. */
import type { PromRuleGroup } from "../src/model";
import type { Settings } from "../src/settings";
import { re, sel } from "../src/promql";
import { alert } from "./common";
import { sumIncrease } from "./terms";

/**
 * The scrape jobs of the stack whose targets must be up (PrometheusTargetDown; the monitoring dashboard shows the same).
 * Grafana and Loki run only where the stack is deployed to a cluster (the local stack runs neither): watching a job
 * the stack does not run would fire "no target at all" for ever.
 */
export function stackJobs(s: Settings): string[] {
  const j = s.scrapeJobs;
  const cluster = s.cluster ? [...(s.cluster.grafana.enabled ? [j.grafana] : []), j.loki] : [];
  return [j.auth, j.authHealth, j.postgres, j.pushgateway, j.prometheus, j.alertmanager, ...cluster];
}

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

export function monitoringAlerts(s: Settings): PromRuleGroup {
  const t = s.thresholds;
  const j = s.scrapeJobs;
  const common = { service: "monitoring", category: "meta" } as const;
  return {
    name: "auth-monitoring",
    source: "alerts/monitoring.ts",
    rules: [
      alert({
        ...common,
        alert: "PrometheusTargetDown",
        expr: `${sel("up", { job: re(stackJobs(s).map(escapeRegex).join("|")) })} == 0`,
        for: t.targetDown.for,
        severity: "warning",
        labels: { reason: "down" },
        summary: "A scrape target of the stack is down",
        description: `Prometheus cannot scrape {{ $labels.instance }} of job {{ $labels.job }} for ${t.targetDown.for} (up {{ $value | humanize }}).`,
      }),
      alert({
        ...common,
        alert: "PrometheusTargetDown",
        // A job with no target at all reports nothing, which must not read as "all is well".
        expr: stackJobs(s)
          .map((job) => `absent(${sel("up", { job })})`)
          .join(" or "),
        for: t.targetDown.for,
        severity: "warning",
        labels: { reason: "missing" },
        summary: "A scrape job of the stack has no target: its alerts cannot fire",
        description: `Prometheus has had no target for job {{ $labels.job }} for ${t.targetDown.for} (absent = {{ $value | humanize }}).`,
      }),
      alert({
        ...common,
        alert: "PrometheusRuleEvaluationFailures",
        expr: `${sumIncrease(sel("prometheus_rule_evaluation_failures_total", { job: j.prometheus }), "5m", ["job", "instance", "rule_group"])} > 0`,
        severity: "critical",
        summary: "Prometheus fails to evaluate rules: alerts may be silently broken",
        description: "{{ $value | humanize }} rule evaluation failures in the last 5m in group {{ $labels.rule_group }} on {{ $labels.instance }}.",
      }),
      alert({
        ...common,
        alert: "AlertmanagerNotificationsFailing",
        expr: `${sumIncrease(sel("alertmanager_notifications_failed_total", { job: j.alertmanager }), "5m", ["job", "instance", "integration"])} > 0`,
        for: t.notificationsFailing.for,
        severity: "critical",
        summary: "Alertmanager cannot deliver notifications",
        description: `Notifications through {{ $labels.integration }} on {{ $labels.instance }} have been failing for ${t.notificationsFailing.for} ({{ $value | humanize }} failed in the last 5m).`,
      }),
      alert({
        ...common,
        alert: "Watchdog",
        expr: "vector(1)",
        severity: "none",
        summary: "The alerting pipeline works (always firing)",
        description: "Always firing; the external dead man's switch pages when this notification stops arriving ({{ $value | humanize }}).",
      }),
      // Prometheus drops a batch when no Alertmanager took it (or its queue overflowed): those alerts reach nobody.
      alert({
        ...common,
        alert: "PrometheusNotificationsFailing",
        expr: `${sumIncrease(sel("prometheus_notifications_dropped_total", { job: j.prometheus }), "5m", ["job", "instance"])} > 0`,
        for: t.prometheusNotifications.for,
        severity: "critical",
        summary: "Prometheus cannot send alerts to any Alertmanager",
        description: `{{ $labels.instance }} has dropped alert notifications for ${t.prometheusNotifications.for} ({{ $value | humanize }} in the last 5m): no Alertmanager took them, so firing alerts reach nobody.`,
      }),
      // One Alertmanager refusing while another takes the batch loses nothing (prod runs several): a drain or a
      // rolling update must not page, but a member that stays unreachable is a cluster running without its spare.
      alert({
        ...common,
        alert: "PrometheusNotificationsFailing",
        expr: `${sumIncrease(sel("prometheus_notifications_errors_total", { job: j.prometheus }), "5m", ["job", "instance", "alertmanager"])} > 0`,
        for: t.prometheusNotifications.for,
        severity: "warning",
        summary: "Prometheus cannot send alerts to one Alertmanager",
        description: `{{ $labels.instance }} has failed to send alerts to {{ $labels.alertmanager }} for ${t.prometheusNotifications.for} ({{ $value | humanize }} in the last 5m); the other Alertmanagers still receive them unless PrometheusNotificationsFailing is also critical.`,
      }),
      alert({
        ...common,
        alert: "LokiRuleEvaluationFailures",
        expr: `${sumIncrease(sel("loki_prometheus_rule_evaluation_failures_total", { job: j.loki }), "5m", ["job", "instance", "rule_group"])} > 0`,
        severity: "critical",
        summary: "Loki's ruler fails to evaluate rules: the log-based security alerts are blind",
        description: "{{ $value | humanize }} Loki rule evaluation failures in the last 5m in group {{ $labels.rule_group }} on {{ $labels.instance }}.",
      }),
    ],
  };
}
