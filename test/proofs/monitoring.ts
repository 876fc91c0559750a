import type { AlertProof } from "../../src/model";
import type { Settings } from "../../src/settings";
import { stackJobs } from "../../alerts/monitoring";
import { counter, gauge, input, minutes } from "./series";

export function monitoringProofs(s: Settings): AlertProof[] {
  const t = s.thresholds;
  const j = s.scrapeJobs;
  const target = { job: j.auth, instance: "auth-7d9f8b6c5-x2x7k:8080" };
  const prom = { job: j.prometheus, instance: "prometheus-0:9090" };
  const am = { job: j.alertmanager, instance: "alertmanager-0:9093", integration: "slack" };
  const downFor = minutes(t.targetDown.for);
  /** An up series for every job of the stack except `missing` (the auth service's own by default). */
  const othersUp = (steps: number, missing = j.auth) =>
    stackJobs(s)
      .filter((job) => job !== missing)
      .map((job) => input("up", { job, instance: `${job}:9100` }, gauge(1, steps)));
  const failFor = minutes(t.notificationsFailing.for);
  return [
    {
      alert: "PrometheusTargetDown",
      cases: [
        {
          name: "a stack target down longer than `for` fires",
          series: [...othersUp(downFor + 20), input("up", target, `1x5 0x${downFor + 10}`)],
          at: `${5 + downFor + 3}m`,
          firing: [{ severity: "warning", labels: target, ruleLabels: { reason: "down" }, value: 0 }],
        },
        { name: "targets up stay silent", series: [...othersUp(30), input("up", target, gauge(1, 30))], at: "20m", firing: [] },
        {
          name: "a target outside the stack stays silent",
          series: [...othersUp(30), input("up", target, gauge(1, 30)), input("up", { job: "kubelet", instance: "node-1:10250" }, gauge(0, 30))],
          at: "20m",
          firing: [],
        },
        {
          name: "a watched job with no target at all fires",
          series: othersUp(downFor + 20),
          at: `${downFor + 3}m`,
          firing: [{ severity: "warning", labels: { job: j.auth }, ruleLabels: { reason: "missing" }, value: 1 }],
        },
        // Regression (issue 11): the missing branch watched only four jobs; every job of the stack counts, its own included.
        ...stackJobs(s)
          .filter((job) => job !== j.auth)
          .map((job) => ({
            name: `job ${job} with no target at all fires`,
            series: [...othersUp(downFor + 20, job), input("up", target, gauge(1, downFor + 20))],
            at: `${downFor + 3}m`,
            firing: [{ severity: "warning" as const, labels: { job }, ruleLabels: { reason: "missing" }, value: 1 }],
          })),
      ],
    },
    {
      alert: "PrometheusRuleEvaluationFailures",
      cases: [
        {
          name: "a failed evaluation fires",
          series: [input("prometheus_rule_evaluation_failures_total", { ...prom, rule_group: "auth-availability" }, "0x10 2x10")],
          at: "12m",
          firing: [{ severity: "critical", labels: { ...prom, rule_group: "auth-availability" }, value: 2 }],
        },
        { name: "no failures stay silent", series: [input("prometheus_rule_evaluation_failures_total", { ...prom, rule_group: "auth-availability" }, gauge(0, 30))], at: "20m", firing: [] },
      ],
    },
    {
      alert: "AlertmanagerNotificationsFailing",
      cases: [
        {
          name: "notifications failing longer than `for` fire",
          series: [input("alertmanager_notifications_failed_total", am, counter(3, failFor + 15))],
          at: `${failFor + 7}m`,
          firing: [{ severity: "critical", labels: am, value: 15 }],
        },
        { name: "no failed notifications stay silent", series: [input("alertmanager_notifications_failed_total", am, gauge(0, 30))], at: "20m", firing: [] },
      ],
    },
    {
      alert: "Watchdog",
      // Always firing by design: there is no silent case to prove, only that it fires with no input at all.
      cases: [{ name: "fires with no input at all", series: [], at: "1m", firing: [{ severity: "none", value: 1 }] }],
    },
    notificationsProof(s),
    lokiRulerProof(s),
  ];
}

/**
 * PrometheusNotificationsFailing at `perMinute` failures, so `perMinute` × 5 in a 5m window.
 * Prometheus counts a drop when no Alertmanager took a batch (or its queue overflowed): alerts are
 * lost, critical. Errors from one Alertmanager while another takes the batch lose nothing (prod runs
 * three): warning, with the refusing Alertmanager named.
 */
function notificationsProof(s: Settings): AlertProof {
  const prom = { job: s.scrapeJobs.prometheus, instance: "prometheus-0:9090" };
  const failFor = minutes(s.thresholds.prometheusNotifications.for);
  const steps = failFor + 15;
  const am = (i: number) => `http://alertmanager-${i}:9093/api/v2/alerts`;
  const errors = (i: number, values: string) => input("prometheus_notifications_errors_total", { ...prom, alertmanager: am(i) }, values);
  const dropped = (values: string) => input("prometheus_notifications_dropped_total", prom, values);
  const at = `${failFor + 7}m`;
  return {
    alert: "PrometheusNotificationsFailing",
    cases: [
      {
        name: "one of three Alertmanagers refusing while the others take the alerts warns, and does not page",
        series: [errors(0, counter(2, steps)), errors(1, gauge(0, steps)), errors(2, gauge(0, steps)), dropped(gauge(0, steps))],
        at,
        firing: [{ severity: "warning", labels: { ...prom, alertmanager: am(0) }, value: 10 }],
      },
      {
        name: "every Alertmanager refusing (the batches are dropped) pages",
        series: [errors(0, counter(2, steps)), errors(1, counter(2, steps)), dropped(counter(2, steps))],
        at,
        firing: [
          { severity: "critical", labels: prom, value: 10 },
          { severity: "warning", labels: { ...prom, alertmanager: am(0) }, value: 10 },
          { severity: "warning", labels: { ...prom, alertmanager: am(1) }, value: 10 },
        ],
      },
      { name: "dropped notifications (a full queue) longer than `for` page", series: [errors(0, gauge(0, steps)), dropped(counter(3, steps))], at, firing: [{ severity: "critical", labels: prom, value: 15 }] },
      { name: "no errors and no drops stay silent", series: [errors(0, gauge(0, steps)), dropped(gauge(0, steps))], at, firing: [] },
    ],
  };
}

/** LokiRuleEvaluationFailures: Loki's ruler counter, scraped from job loki. */
function lokiRulerProof(s: Settings): AlertProof {
  const loki = { job: s.scrapeJobs.loki, instance: "loki-0:3100" };
  const failures = (values: string) => input("loki_prometheus_rule_evaluation_failures_total", { ...loki, rule_group: "auth-security", user: "fake" }, values);
  return {
    alert: "LokiRuleEvaluationFailures",
    cases: [
      { name: "a failed evaluation fires", series: [failures("0x10 2x10")], at: "12m", firing: [{ severity: "critical", labels: { ...loki, rule_group: "auth-security" }, value: 2 }] },
      { name: "no failures stay silent", series: [failures(gauge(0, 30))], at: "20m", firing: [] },
    ],
  };
}
