/**
 * monitoring-health: monitoring the monitoring (seed 004). Can we trust the
 * silence? Targets up, rules evaluating, notifications delivered, the
 * Watchdog firing, and what is firing right now by severity.
 */
import * as statetimeline from "@grafana/grafana-foundation-sdk/statetimeline";
import type { Settings } from "../src/settings";
import { notEqual, re, sel } from "../src/promql";
import { stackJobs } from "../alerts/monitoring";
import { sumIncrease } from "../alerts/terms";
import { common, ENV, promql, stackedPanel, statPanel, steps, tablePanel, timeseriesPanel, upDown } from "../src/dashboards/kit";
import { Board, type BuiltDashboard, type DashboardContext, type PanelSpec } from "../src/dashboards/board";
import { PANELS } from "./panels";

const P = PANELS.monitoring;

export function monitoringDashboard(ctx: DashboardContext): BuiltDashboard {
  const q = scope(ctx.settings);
  return new Board(ctx, {
    key: "monitoring",
    title: "Monitoring / Health",
    description: "Can the silence be trusted: scrape targets, rule evaluation, notification delivery, the Watchdog, and what is firing now.",
    source: "dashboards/monitoring.ts",
    tags: ["monitoring", "meta"],
  })
    .row(P.rowPipeline, "Alerting pipeline")
    .panels(watchdog(), alertsBySeverity(), firingAlerts())
    .row(P.rowPrometheus, "Prometheus")
    .panels(targetsUp(q), targetsDown(q), ruleEvaluationFailures(q), notificationsDropped(q))
    .row(P.rowAlertmanager, "Alertmanager")
    .panels(notificationFailures(q), notificationsSent(q))
    .row(P.rowLoki, "Loki ruler")
    .panels(lokiRuleEvaluationFailures(q))
    .build();
}

/** What the panels read: the settings and the series selections the dashboard's variables narrow. */
function scope(s: Settings) {
  const j = s.scrapeJobs;
  const targets = sel("up", { job: re(stackJobs(s).join("|")), ...ENV });
  return { s, j, targets };
}
type Scope = ReturnType<typeof scope>;

function watchdog(): PanelSpec {
  return {
    id: P.watchdog,
    builder: statPanel("Watchdog", "none")
      .withTarget(promql(`sum(${sel("ALERTS", { alertname: "Watchdog", alertstate: "firing" })})`, "Watchdog"))
      .mappings(upDown("FIRING: alerts flow", "NOT FIRING"))
      .noValue("NOT FIRING")
      .thresholds(steps("red", [1, "green"])),
    w: 6,
    h: 7,
    description: "The Watchdog alert always fires; Alertmanager sends it to the external dead man's switch every minute. NOT FIRING means rule evaluation itself is broken, and the dead man's switch will page.",
    linkedFrom: ["Watchdog"],
  };
}

function alertsBySeverity(): PanelSpec {
  return {
    id: P.alertsBySeverity,
    builder: stackedPanel("Firing alerts by severity", "short")
      .withTarget(promql(`sum by (severity) (${sel("ALERTS", { alertstate: "firing", alertname: notEqual("Watchdog") })})`, "{{severity}}"))
      .min(0),
    w: 9,
    h: 7,
    description: "Alerts firing, by severity (Watchdog excluded): critical pages, warning goes to chat, info to e-mail.",
  };
}

function firingAlerts(): PanelSpec {
  return {
    id: P.firingAlerts,
    builder: tablePanel("Firing now", "short", "series")
      .withTarget(
        promql(`sum by (alertname, severity, service, category) (${sel("ALERTS", { alertstate: "firing", alertname: notEqual("Watchdog") })})`, "{{alertname}}", {
          instant: true,
          format: "table",
        }),
      )
      .thresholds(steps("text")),
    w: 9,
    h: 7,
    description: "Every alert firing now with its labels; series counts how many label sets fire (e.g. one per failing instance).",
  };
}

function targetsUp({ s, targets }: Scope): PanelSpec {
  return {
    id: P.targetsUp,
    builder: new statetimeline.PanelBuilder()
      .title("Scrape targets")
      .unit("none")
      .withTarget(promql(targets, "{{job}} {{instance}}"))
      .mappings(upDown("up", "down"))
      .thresholds(steps("red", [1, "green"]))
      .showValue(common.VisibilityMode.Never)
      .mergeValues(true)
      .rowHeight(0.8),
    w: 16,
    h: 9,
    description: `Every scrape target of the stack (jobs ${stackJobs(s).join(", ")}), up or down over time. A target down for ${s.thresholds.targetDown.for} warns.`,
    linkedFrom: ["PrometheusTargetDown"],
  };
}

function targetsDown({ targets }: Scope): PanelSpec {
  return {
    id: P.targetsDown,
    builder: statPanel("Targets down", "short")
      .withTarget(promql(`count(${targets} == 0) or vector(0)`, "down"))
      .thresholds(steps("green", [1, "orange"])),
    w: 8,
    h: 9,
    description: "How many of the stack's scrape targets are down now.",
    alerts: ["PrometheusTargetDown"],
  };
}

function ruleEvaluationFailures({ j }: Scope): PanelSpec {
  return {
    id: P.ruleEvaluationFailures,
    builder: timeseriesPanel("Rule evaluation failures (per 5 min)", "short")
      .withTarget(
        promql(sumIncrease(sel("prometheus_rule_evaluation_failures_total", { job: j.prometheus, ...ENV }), "5m", ["rule_group"]), "{{rule_group}}"),
      )
      .min(0)
      .thresholds(steps("green", [1, "red"])),
    w: 12,
    h: 8,
    description: "Rule evaluations that failed, by rule group, in 5-minute windows. Any failure pages: an alert that cannot be evaluated stays silent.",
    linkedFrom: ["PrometheusRuleEvaluationFailures"],
  };
}

function notificationsDropped({ s, j }: Scope): PanelSpec {
  return {
    id: P.notificationsDropped,
    builder: timeseriesPanel("Alerts dropped on the way to Alertmanager (per 5 min)", "short")
      .withTarget(promql(`sum(increase(${sel("prometheus_notifications_dropped_total", { job: j.prometheus, ...ENV })}[5m]))`, "dropped"))
      .withTarget(promql(sumIncrease(sel("prometheus_notifications_errors_total", { job: j.prometheus, ...ENV }), "5m", ["alertmanager"]), "errors to {{alertmanager}}"))
      .min(0)
      .thresholds(steps("green", [1, "red"])),
    w: 12,
    h: 8,
    description: `Alerts Prometheus could not hand to Alertmanager (dropped), and send errors per Alertmanager, in 5-minute windows; either for ${s.thresholds.prometheusNotifications.for} pages. The page itself may not arrive: the Watchdog's silence is the other sign.`,
    linkedFrom: ["PrometheusNotificationsFailing"],
  };
}

function notificationFailures({ s, j }: Scope): PanelSpec {
  return {
    id: P.notificationFailures,
    builder: timeseriesPanel("Failed notifications (per 5 min)", "short")
      .withTarget(
        promql(sumIncrease(sel("alertmanager_notifications_failed_total", { job: j.alertmanager, ...ENV }), "5m", ["integration"]), "{{integration}}"),
      )
      .min(0)
      .thresholds(steps("green", [1, "red"])),
    w: 12,
    h: 8,
    description: `Notifications Alertmanager failed to deliver, by integration (slack, pagerduty, email, webhook), in 5-minute windows; failing for ${s.thresholds.notificationsFailing.for} pages. Alertmanager labels these by integration only, not by receiver.`,
    linkedFrom: ["AlertmanagerNotificationsFailing"],
  };
}

function notificationsSent({ j }: Scope): PanelSpec {
  return {
    id: P.notificationsSent,
    builder: timeseriesPanel("Notifications sent (per 5 min)", "short")
      .withTarget(promql(`sum by (integration) (increase(${sel("alertmanager_notifications_total", { job: j.alertmanager, ...ENV })}[5m]))`, "{{integration}}"))
      .min(0),
    w: 12,
    h: 8,
    description: "Notification attempts by integration, in 5-minute windows; the Watchdog alone keeps the webhook line above zero.",
  };
}

function lokiRuleEvaluationFailures({ j }: Scope): PanelSpec {
  return {
    id: P.lokiRuleEvaluationFailures,
    builder: timeseriesPanel("Loki rule evaluation failures (per 5 min)", "short")
      .withTarget(promql(sumIncrease(sel("loki_prometheus_rule_evaluation_failures_total", { job: j.loki, ...ENV }), "5m", ["rule_group"]), "{{rule_group}}"))
      .min(0)
      .thresholds(steps("green", [1, "red"])),
    w: 24,
    h: 7,
    description: "Log-based rule evaluations Loki's ruler failed, by rule group, in 5-minute windows. Any failure pages: the log-based security alerts (brute force, account and registration abuse, RLS) are blind while it fails.",
    linkedFrom: ["LokiRuleEvaluationFailures"],
  };
}
