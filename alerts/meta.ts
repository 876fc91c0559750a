/** Monitoring the monitoring: targets, rule evaluation, notification delivery, and the dead man's switch. */
import type { PromRuleGroup } from "../src/model";
import type { Settings } from "../src/settings";
import { re, sel } from "../src/promql";
import { alert, dash } from "./common";

export function metaAlerts(s: Settings): PromRuleGroup {
  const t = s.thresholds;
  const j = s.scrapeJobs;
  const stackJobs = [j.auth, j.authHealth, j.postgres, j.pushgateway, j.prometheus, j.alertmanager, j.grafana, j.loki];
  const common = { service: "monitoring", category: "meta", dashboard: dash("monitoring") } as const;
  return {
    name: "monitoring",
    source: "alerts/meta.ts",
    rules: [
      alert({
        ...common,
        alert: "PrometheusTargetDown",
        expr: `${sel("up", { job: re(stackJobs.join("|")) })} == 0`,
        for: t.targetDown.for,
        severity: "warning",
        summary: "A scrape target of the stack is down",
        description: `Prometheus cannot scrape {{ $labels.instance }} of job {{ $labels.job }} for ${t.targetDown.for} (up {{ $value | humanize }}).`,
      }),
      alert({
        ...common,
        alert: "PrometheusRuleEvaluationFailures",
        expr: `sum by (job, instance, rule_group) (increase(${sel("prometheus_rule_evaluation_failures_total", { job: j.prometheus })}[5m])) > 0`,
        severity: "critical",
        summary: "Prometheus fails to evaluate rules: alerts may be silently broken",
        description: "{{ $value | humanize }} rule evaluation failures in the last 5m in group {{ $labels.rule_group }} on {{ $labels.instance }}.",
      }),
      alert({
        ...common,
        alert: "AlertmanagerNotificationsFailing",
        expr: `sum by (job, instance, integration) (increase(${sel("alertmanager_notifications_failed_total", { job: j.alertmanager })}[5m])) > 0`,
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
    ],
  };
}
