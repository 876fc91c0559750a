/**
 * The rendered Alertmanager configuration running in the real Alertmanager:
 * alerts as Prometheus sends them reach the contract's receivers, with the
 * summary, description, runbook and dashboard links; secrets are read from
 * files; inhibition and the maintenance window hold.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { routingTree } from "../alerts/routing";
import type { AlertingRule, LogAlertRule, Severity } from "../src/model";
import { renderTemplate } from "../src/gotemplate";
import { alertAnnotations, alertLabels } from "../src/render/prometheus";
import { renderStack } from "../src/synth";
import { renderAlertmanagerConfig, renderTemplates, TEMPLATE_FILE } from "../src/render/alertmanager";
import { loadStackSettings, SECRET_KEYS, type Settings } from "../src/settings";
import { freePort, startAlertmanager, startSink, waitFor, type Alertmanager, type Received } from "./support/servers";
import { withOverrides } from "./support/render";
import { tempDir } from "./support/tmp";

type Labels = Record<string, string>;
const WEEKDAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"] as const;

/** The alert Prometheus would send for a rule of the catalog, with a measured value. */
function alertFor(s: Settings, name: string, severity: Severity, value: number, seriesLabels: Labels = {}) {
  // As rendered: synth links each alerting rule to the panel its dashboard_url opens.
  const { rules: linked } = renderStack(s);
  const rules = [...linked.prometheus.flatMap((g) => g.rules), ...linked.loki.flatMap((g) => g.rules)];
  const rule = rules.find((r): r is AlertingRule | LogAlertRule => r.kind !== "record" && r.alert === name && r.severity === severity);
  if (!rule) throw new Error(`no rule ${name} (${severity})`);
  const labels = { alertname: name, ...alertLabels(rule), ...seriesLabels };
  const annotations = Object.fromEntries(Object.entries(alertAnnotations(s, rule)).map(([k, v]) => [k, renderTemplate(v, value, labels)]));
  return { labels, annotations, startsAt: new Date().toISOString(), endsAt: new Date(Date.now() + 3_600_000).toISOString() };
}

/** Render the stack's Alertmanager config with secrets written as files and endpoints on the sink. */
function prepare(base: Settings, sinkUrl: string, edit: (d: Settings) => void = () => {}) {
  const dir = tempDir("amcfg");
  const secretsDir = path.join(dir, "secrets");
  mkdirSync(secretsDir);
  mkdirSync(path.join(dir, "templates"));
  const s = withOverrides(base, (d) => {
    d.routing.secretsDir = secretsDir;
    d.routing.templatesDir = path.join(dir, "templates");
    d.routing.pagerdutyUrl = `${sinkUrl}/pagerduty`;
    d.routing.deadMansSwitchUrl = `${sinkUrl}/deadmansswitch`;
    edit(d);
  });
  const secretValues: Record<(typeof SECRET_KEYS)[number], string> = {
    slackAuthWebhookUrl: `${sinkUrl}/slack-auth`,
    slackSecurityWebhookUrl: `${sinkUrl}/slack-security`,
    pagerdutyRoutingKey: "R0UTING-KEY-FROM-FILE",
    smtpPassword: "smtp-password-from-file",
    deadMansSwitchToken: "DMS-TOKEN-FROM-FILE",
  };
  for (const [k, v] of Object.entries(secretValues)) writeFileSync(path.join(secretsDir, k), v);
  const file = path.join(dir, "alertmanager.yaml");
  writeFileSync(file, renderAlertmanagerConfig(s, routingTree(s)));
  writeFileSync(path.join(dir, "templates", TEMPLATE_FILE), renderTemplates(s));
  return { s, file };
}

async function post(am: Alertmanager, alerts: unknown[]) {
  const res = await fetch(`${am.url}/api/v2/alerts`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(alerts) });
  expect(res.ok, await res.text()).toBe(true);
}

/** Alert names a receiver endpoint was notified about. */
function notified(received: Received[], endpoint: string): string[] {
  return received
    .filter((r) => r.path === `/${endpoint}`)
    .flatMap((r) => {
      const b = r.body as any;
      if (endpoint === "pagerduty") return [String(b.payload?.summary ?? "")];
      if (endpoint === "deadmansswitch") return (b.alerts ?? []).map((a: any) => a.labels.alertname);
      return (b.attachments ?? []).map((a: any) => String(a.title));
    });
}

const has = (list: string[], name: string) => list.some((x) => x.includes(` ${name} `));

/** The prod routing on a real Alertmanager delivering to a fresh sink; the maintenance window is off (proven on its own below). */
async function startProdAlertmanager(): Promise<{ sink: Awaited<ReturnType<typeof startSink>>; am: Alertmanager; s: Settings }> {
  const sink = await startSink();
  const prepared = prepare(loadStackSettings("prod"), sink.url, (d) => (d.routing.maintenanceWindow.enabled = false));
  return { sink, s: prepared.s, am: await startAlertmanager(prepared.file) };
}

describe("Alertmanager (prod routing) delivers, inhibits and reads secrets from files", () => {
  let sink: Awaited<ReturnType<typeof startSink>>;
  let am: Alertmanager;
  let s: Settings;

  beforeAll(async () => {
    // Without the maintenance window: what is delivered must not depend on the day CI runs.
    ({ sink, s, am } = await startProdAlertmanager());
    await post(am, [
      alertFor(s, "AuthRefreshTokenReuse", "critical", 1, { job: "auth" }),
      alertFor(s, "AuthCSRFFailures", "warning", 25, { job: "auth" }),
      alertFor(s, "AuthHighErrorRate", "warning", 0.03, { job: "auth" }),
      alertFor(s, "AuthLatencyHigh", "critical", 1.5, { job: "auth" }),
      alertFor(s, "AuthLatencyHigh", "warning", 1.5, { job: "auth" }),
      alertFor(s, "DatabaseDown", "critical", 0, { job: "postgres", instance: "pg:9187" }),
      alertFor(s, "DatabaseConnectionsHigh", "warning", 0.9, { job: "postgres", instance: "pg:9187" }),
      alertFor(s, "Watchdog", "none", 1),
      alertFor(s, "AlertmanagerNotificationsFailing", "critical", 0.5, { job: "alertmanager", integration: "pagerduty" }),
    ]);
    // Criticals wait 10s, the rest 30s (group_wait); wait for the last expected notification.
    await waitFor("every expected notification", () => (has(notified(sink.received, "slack-auth"), "AuthHighErrorRate") && notified(sink.received, "slack-security").length >= 2 && notified(sink.received, "pagerduty").length >= 4 ? true : undefined), 70_000);
    await new Promise((r) => setTimeout(r, 2000));
  }, 90_000);

  afterAll(async () => {
    await am?.stop();
    await sink?.close();
  });

  it("pages a security critical and tells the security channel", () => {
    expect(has(notified(sink.received, "pagerduty"), "AuthRefreshTokenReuse")).toBe(true);
    expect(has(notified(sink.received, "slack-security"), "AuthRefreshTokenReuse")).toBe(true);
  });

  it("tells slack-auth when a meta alert pages: a failing PagerDuty is seen in chat", () => {
    expect(has(notified(sink.received, "pagerduty"), "AlertmanagerNotificationsFailing")).toBe(true);
    expect(has(notified(sink.received, "slack-auth"), "AlertmanagerNotificationsFailing")).toBe(true);
    expect(has(notified(sink.received, "slack-security"), "AlertmanagerNotificationsFailing")).toBe(false);
  });

  it("sends a security warning to slack-security only", () => {
    expect(has(notified(sink.received, "slack-security"), "AuthCSRFFailures")).toBe(true);
    expect(has(notified(sink.received, "slack-auth"), "AuthCSRFFailures")).toBe(false);
    expect(has(notified(sink.received, "pagerduty"), "AuthCSRFFailures")).toBe(false);
  });

  it("notifies with summary, measured value, runbook and dashboard links", () => {
    const msg = sink.received.find((r) => r.path === "/slack-auth" && has(notified([r], "slack-auth"), "AuthHighErrorRate"))!.body as any;
    const text = msg.attachments[0].text as string;
    expect(msg.channel).toBe(s.routing.slackAuthChannel);
    expect(text).toContain("More than 1% of auth requests fail with 5xx");
    expect(text).toContain("3% of requests to auth were answered 5xx");
    expect(text).toContain(`Runbook: ${s.runbookBaseUrl}/auth-high-error-rate.md`);
    expect(text).toContain(`Dashboard: ${s.dashboardBaseUrl}/d/auth-overview`);
    expect(msg.attachments[0].title_link).toBe(`${s.runbookBaseUrl}/auth-high-error-rate.md`);
  });

  it("reads the PagerDuty routing key and the dead man's switch token from their files", () => {
    const pd = sink.received.find((r) => r.path === "/pagerduty")!.body as any;
    expect(pd.routing_key).toBe("R0UTING-KEY-FROM-FILE");
    expect(pd.payload.custom_details.runbook_url).toMatch(/\/runbooks\/[a-z-]+\.md$/);
    const dms = sink.received.find((r) => r.path === "/deadmansswitch")!;
    expect(dms.headers.authorization).toBe("Bearer DMS-TOKEN-FROM-FILE");
    expect(notified(sink.received, "deadmansswitch")).toEqual(["Watchdog"]);
  });

  it("inhibits a warning while the same alert is critical, and postgres symptoms while DatabaseDown fires", async () => {
    expect(has(notified(sink.received, "slack-auth"), "AuthLatencyHigh")).toBe(false);
    expect(has(notified(sink.received, "slack-auth"), "DatabaseConnectionsHigh")).toBe(false);
    const alerts = (await (await fetch(`${am.url}/api/v2/alerts`)).json()) as any[];
    const state = (name: string, severity: string) => alerts.find((a) => a.labels.alertname === name && a.labels.severity === severity)?.status;
    expect(state("AuthLatencyHigh", "warning")).toMatchObject({ state: "suppressed" });
    expect(state("AuthLatencyHigh", "warning").inhibitedBy.length).toBe(1);
    expect(state("DatabaseConnectionsHigh", "warning")).toMatchObject({ state: "suppressed" });
    expect(state("AuthHighErrorRate", "warning")).toMatchObject({ state: "active" });
  });
});

/** A TCP listener standing in for the SMTP smarthost: it greets and counts connection attempts. */
async function startSmtpSink(): Promise<{ address: string; connections: () => number; close: () => Promise<void> }> {
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    socket.on("error", () => {});
    socket.end("421 sink closing\r\n");
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { address: `127.0.0.1:${port}`, connections: () => connections, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe("Alertmanager maintenance window", () => {
  let sink: Awaited<ReturnType<typeof startSink>>;
  let smtpOpen: Awaited<ReturnType<typeof startSmtpSink>>;
  let smtpMuted: Awaited<ReturnType<typeof startSmtpSink>>;
  let open: Alertmanager;
  let muted: Alertmanager;

  beforeAll(async () => {
    sink = await startSink();
    [smtpOpen, smtpMuted] = await Promise.all([startSmtpSink(), startSmtpSink()]);
    const prod = loadStackSettings("prod");
    // Inside: a window covering the whole of today (UTC), standing in for Sunday 02:00–04:00.
    // Outside: the same alerts with the window off, to show they would have been sent.
    const today = WEEKDAYS[new Date().getUTCDay()]!;
    const inside = prepare(prod, `${sink.url}/inside`, (d) => {
      d.routing.maintenanceWindow = { enabled: true, weekday: today, start: "00:00", end: "24:00", location: "UTC" };
      d.routing.smtpSmarthost = smtpMuted.address;
    });
    const outside = prepare(prod, `${sink.url}/outside`, (d) => {
      d.routing.maintenanceWindow.enabled = false;
      d.routing.smtpSmarthost = smtpOpen.address;
    });
    [muted, open] = await Promise.all([startAlertmanager(inside.file), startAlertmanager(outside.file)]);
    const alerts = (st: Settings) => [
      alertFor(st, "DatabaseDeadlocks", "warning", 2, { job: "postgres", instance: "pg:9187" }),
      alertFor(st, "AuthSessionAnomaly", "info", 0.6, { job: "auth" }),
      alertFor(st, "PrometheusRuleEvaluationFailures", "critical", 3, { job: "prometheus", instance: "prometheus-0:9090", rule_group: "x" }),
      // Brute force from Loki's ruler: a security warning.
      alertFor(st, "AuthBruteForceSuspected", "warning", 40, { ip: "203.0.113.9" }),
    ];
    await Promise.all([post(muted, alerts(inside.s)), post(open, alerts(outside.s))]);
    const sent = (path: string, name: string) => has(notified(sink.received, path), name);
    await waitFor(
      "the control's warnings and e-mail",
      () => (sent("outside/slack-auth", "DatabaseDeadlocks") && sent("outside/slack-security", "AuthBruteForceSuspected") && smtpOpen.connections() > 0 ? true : undefined),
      60_000,
    );
    // Past the 30s group_wait of warnings and info: the muted ones would have been sent by now too.
    await new Promise((r) => setTimeout(r, 3_000));
  }, 90_000);

  afterAll(async () => {
    await Promise.all([muted?.stop(), open?.stop()]);
    await Promise.all([sink?.close(), smtpOpen?.close(), smtpMuted?.close()]);
  });

  it("still pages criticals inside the window", () => {
    expect(sink.received.filter((r) => r.path === "/inside/pagerduty").length).toBeGreaterThan(0);
  });

  it("never mutes a security warning: brute force reaches slack-security inside the window", () => {
    expect(has(notified(sink.received, "inside/slack-security"), "AuthBruteForceSuspected")).toBe(true);
  });

  it("mutes warning and info inside the window, which are sent outside it", () => {
    // slack-auth inside the window: only the meta critical's copy, never the warning.
    expect(notified(sink.received, "inside/slack-auth").filter((t) => !has([t], "PrometheusRuleEvaluationFailures"))).toEqual([]);
    expect(smtpMuted.connections()).toBe(0);
    expect(sink.received.filter((r) => r.path === "/outside/slack-auth").length).toBeGreaterThan(0);
    expect(smtpOpen.connections()).toBeGreaterThan(0);
  });
});

describe("Alertmanager inhibition while the service is down", () => {
  let sink: Awaited<ReturnType<typeof startSink>>;
  let am: Alertmanager;
  let s: Settings;

  beforeAll(async () => {
    ({ sink, s, am } = await startProdAlertmanager());
    // Every alert carries env, as Prometheus' external labels and Loki's ruler external labels attach it.
    const env = { env: s.environment };
    await post(am, [
      alertFor(s, "AuthServiceDown", "critical", 0, { job: "auth-health", instance: "http://auth/health", ...env }),
      alertFor(s, "DatabaseDown", "critical", 0, { job: "postgres", instance: "pg:9187", ...env }),
      alertFor(s, "AuthHighLoginFailureRate", "critical", 0.5, { job: "auth", ...env }),
      alertFor(s, "DatabaseConnectionsHigh", "warning", 0.9, { job: "postgres", instance: "pg:9187", ...env }),
      alertFor(s, "AuthRefreshTokenReuse", "critical", 1, { job: "auth", ...env }),
      alertFor(s, "AuthBruteForceSuspected", "warning", 40, { ip: "203.0.113.9", ...env }),
      alertFor(s, "DatabaseRLSViolation", "warning", 2, env),
    ]);
    // Security warnings wait the 30s group_wait; inhibited ones would have been sent with them.
    await waitFor("the availability pages", () => (has(notified(sink.received, "pagerduty"), "AuthServiceDown") && has(notified(sink.received, "pagerduty"), "DatabaseDown") ? true : undefined), 40_000);
    await waitFor("the security warnings", () => (notified(sink.received, "slack-security").length >= 3 ? true : undefined), 40_000).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 2_000));
  }, 90_000);

  afterAll(async () => {
    await am?.stop();
    await sink?.close();
  });

  it("silences every other auth alert while AuthServiceDown fires", async () => {
    expect(has(notified(sink.received, "pagerduty"), "AuthHighLoginFailureRate")).toBe(false);
    const alerts = (await (await fetch(`${am.url}/api/v2/alerts`)).json()) as any[];
    expect(alerts.find((a) => a.labels.alertname === "AuthHighLoginFailureRate").status).toMatchObject({ state: "suppressed" });
    expect(alerts.find((a) => a.labels.alertname === "DatabaseConnectionsHigh").status).toMatchObject({ state: "suppressed" });
  });

  it("never lets AuthServiceDown or DatabaseDown hide a security alert: each is active and delivered", async () => {
    const alerts = (await (await fetch(`${am.url}/api/v2/alerts`)).json()) as any[];
    for (const name of ["AuthRefreshTokenReuse", "AuthBruteForceSuspected", "DatabaseRLSViolation"]) {
      expect(alerts.find((a) => a.labels.alertname === name).status, name).toMatchObject({ state: "active", inhibitedBy: [] });
      expect(has(notified(sink.received, "slack-security"), name), name).toBe(true);
    }
    expect(has(notified(sink.received, "pagerduty"), "AuthRefreshTokenReuse")).toBe(true);
  });
});

describe("Alertmanager pages a second incident within a minute of the first one's resolution", () => {
  let sink: Awaited<ReturnType<typeof startSink>>;
  let am: Alertmanager;
  let s: Settings;

  beforeAll(async () => {
    ({ sink, s, am } = await startProdAlertmanager());
  }, 30_000);

  afterAll(async () => {
    await am?.stop();
    await sink?.close();
  });

  const triggers = (since: number) => sink.received.filter((r) => r.path === "/pagerduty" && r.at >= since && (r.body as any).event_action === "trigger");

  it("a new critical in a group whose earlier alert just resolved pages within 1 minute (contract: group_interval 1m)", async () => {
    const first = alertFor(s, "AuthHighErrorRate", "critical", 0.5, { job: "auth", instance: "auth-0:8080" });
    await post(am, [first]);
    await waitFor("the first page", () => (triggers(0).length > 0 ? true : undefined), 40_000);
    // The first incident ends; a second one (another instance, same alertname and service: the same group) starts.
    await post(am, [{ ...first, endsAt: new Date().toISOString() }]);
    const second = alertFor(s, "AuthHighErrorRate", "critical", 0.9, { job: "auth", instance: "auth-1:8080" });
    const posted = Date.now();
    await post(am, [second]);
    const page = await waitFor("the second page", () => triggers(posted).find((r) => String((r.body as any).payload.custom_details.description).includes(second.annotations.description!)), 75_000).catch(() => undefined);
    expect(page, `no page for the second incident within 75s; Alertmanager holds it for the group's group_interval`).toBeDefined();
    expect(page!.at - posted).toBeLessThanOrEqual(60_000 + 5_000);
  }, 130_000);
});
