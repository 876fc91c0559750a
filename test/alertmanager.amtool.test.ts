/**
 * The rendered Alertmanager configuration, checked by the real amtool: it
 * loads, and every row of the routing contract (and every alert of the
 * catalog) reaches the receivers docs/alerts.md names.
 */
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import * as yaml from "js-yaml";
import { lokiRuleGroups, prometheusRuleGroups } from "../alerts/index";
import { loadStackSettings } from "../src/settings";
import { alertLabels } from "../src/render/prometheus";
import { contractReceivers } from "../src/local/contract";
import { matches } from "../src/local/drills";
import { tool } from "./support/promtool";
import { renderToTemp, withOverrides, type RenderedStack } from "./support/render";
import { testedStacks } from "./support/stacks";

type Labels = Record<string, string>;

const ROWS: { row: string; labels: Labels }[] = [
  { row: "Watchdog → deadmansswitch only", labels: { alertname: "Watchdog", severity: "none", service: "monitoring", category: "meta" } },
  { row: "critical → pagerduty-critical", labels: { alertname: "AuthServiceDown", severity: "critical", service: "auth", category: "availability" } },
  { row: "critical security → pagerduty-critical and slack-security", labels: { alertname: "AuthRefreshTokenReuse", severity: "critical", service: "auth", category: "security" } },
  { row: "critical meta → pagerduty-critical and slack-auth", labels: { alertname: "AlertmanagerNotificationsFailing", severity: "critical", service: "monitoring", category: "meta" } },
  { row: "warning security → slack-security", labels: { alertname: "AuthCSRFFailures", severity: "warning", service: "auth", category: "security" } },
  { row: "warning → slack-auth", labels: { alertname: "AuthHighErrorRate", severity: "warning", service: "auth", category: "availability" } },
  { row: "info → email-oncall", labels: { alertname: "AuthSessionAnomaly", severity: "info", service: "auth", category: "authentication" } },
  { row: "anything else → slack-auth", labels: { alertname: "SomethingNew", service: "auth" } },
];

async function routesTo(configFile: string, labels: Labels, expected: string[]) {
  const args = ["config", "routes", "test", `--config.file=${configFile}`, `--verify.receivers=${expected.join(",")}`, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)];
  return tool("amtool", args);
}

describe.each(testedStacks())("stack %s", (stack) => {
  let r: RenderedStack;
  let config: string;
  let doc: Record<string, unknown>;
  beforeAll(() => {
    // Templates where synth writes them, so that check-config parses them (a cluster stack's
    // configuration names /etc/alertmanager/config, where the operator mounts them).
    r = renderToTemp(withOverrides(loadStackSettings(stack), (d) => void (d.routing.templatesDir = "templates")));
    config = path.join(r.dir, "alertmanager", "alertmanager.yaml");
    doc = yaml.load(r.files.get("alertmanager/alertmanager.yaml")!) as Record<string, unknown>;
  });
  const chatOnly = () => r.settings.routing.mode === "chat-only";

  it("amtool check-config accepts the configuration and its templates", async () => {
    const res = await tool("amtool", ["check-config", config]);
    expect(res.ok, res.output).toBe(true);
    expect(res.output).toMatch(/1 templates/);
  });

  it.each(ROWS)("routing row: $row", async ({ labels }) => {
    const expected = contractReceivers(labels, chatOnly());
    const res = await routesTo(config, labels, expected);
    expect(res.ok, res.output).toBe(true);
    expect(res.output.trim().split("\n")[0]).toBe(expected.join(","));
  });

  it("every alert of the catalog reaches the receivers its severity and category call for", async () => {
    const rules = [...prometheusRuleGroups(r.settings).flatMap((g) => g.rules), ...lokiRuleGroups(r.settings).flatMap((g) => g.rules)];
    const seen = new Set<string>();
    for (const rule of rules) {
      if (rule.kind === "record") continue;
      const labels = { alertname: rule.alert, ...alertLabels(rule) };
      const key = JSON.stringify(labels);
      if (seen.has(key)) continue;
      seen.add(key);
      const expected = contractReceivers(labels, chatOnly());
      const res = await routesTo(config, labels, expected);
      expect(res.ok, `${rule.alert} (${rule.severity}): ${res.output}`).toBe(true);
    }
    expect(seen.size).toBeGreaterThan(30);
  });

  it("groups by alertname and service, with the contract's timings", () => {
    const route = doc.route as { group_by: string[]; routes: Record<string, unknown>[] };
    expect(route.group_by).toEqual(["alertname", "service"]);
    if (chatOnly()) return;
    const byMatchers = (m: string[]) => route.routes.find((x) => JSON.stringify(x.matchers) === JSON.stringify(m))!;
    expect(byMatchers(['alertname="Watchdog"'])).toMatchObject({ receiver: "deadmansswitch", repeat_interval: "1m" });
    expect(byMatchers(['severity="critical"'])).toMatchObject({ receiver: "pagerduty-critical", group_wait: "10s", group_interval: "1m", repeat_interval: "1h" });
    // Every route a critical takes (security and meta copies too): a new alert in a group whose
    // earlier alert just resolved pages within a minute, not after the root's group_interval.
    const critical = route.routes.filter((x) => (x.matchers as string[]).includes('severity="critical"'));
    expect(critical.length).toBeGreaterThanOrEqual(3);
    for (const x of critical) expect(x, JSON.stringify(x)).toMatchObject({ group_wait: "10s", group_interval: "1m", repeat_interval: "1h" });
    expect(byMatchers(['severity="warning"'])).toMatchObject({ receiver: "slack-auth", repeat_interval: "4h" });
    expect(byMatchers(['severity="info"'])).toMatchObject({ receiver: "email-oncall", repeat_interval: "24h" });
  });

  it("mutes warning and info in the Sunday maintenance window, never critical nor security", () => {
    const routes = (doc.route as { routes: { matchers: string[]; mute_time_intervals?: string[] }[] }).routes;
    const w = r.settings.routing.maintenanceWindow;
    for (const route of routes) {
      const muted = (route.mute_time_intervals ?? []).length > 0;
      const critical = route.matchers.some((m) => m.includes('"critical"') || m.includes("Watchdog"));
      const security = route.matchers.includes('category="security"');
      expect(muted, JSON.stringify(route)).toBe(w.enabled && !critical && !security);
    }
    // A security alert of every severity takes a route without the window (first match wins).
    for (const severity of ["warning", "info"]) {
      const labels = { alertname: "AuthBruteForce", severity, service: "auth", category: "security" };
      const first = routes.find((x) => x.matchers.every((m) => matches(m, labels)));
      expect(first, `${severity} security`).toBeDefined();
      expect(first!.mute_time_intervals ?? [], `${severity} security`).toEqual([]);
    }
    if (w.enabled) {
      expect(doc.time_intervals).toEqual([
        { name: "maintenance-window", time_intervals: [{ weekdays: ["sunday"], times: [{ start_time: "02:00", end_time: "04:00" }], location: "UTC" }] },
      ]);
    }
  });

  it("never lets an availability alert inhibit a security alert", () => {
    type Rule = { source_matchers: string[]; target_matchers: string[]; equal: string[] };
    const rules = doc.inhibit_rules as Rule[];
    const inhibits = (x: Rule, source: Labels, target: Labels) =>
      x.source_matchers.every((m) => matches(m, source)) && x.target_matchers.every((m) => matches(m, target)) && x.equal.every((l) => (source[l] ?? "") === (target[l] ?? ""));
    const security = { alertname: "AuthRefreshTokenReuse", severity: "critical", service: "auth", category: "security" };
    const availability = [
      { alertname: "AuthServiceDown", severity: "critical", service: "auth", category: "availability" },
      { alertname: "DatabaseDown", severity: "critical", service: "postgres", category: "availability" },
    ];
    for (const source of availability) {
      for (const target of [security, { ...security, service: source.service, severity: "warning" }]) {
        const hit = rules.filter((x) => inhibits(x, source, target));
        expect(hit, `${source.alertname} → ${JSON.stringify(target)}`).toEqual([]);
      }
    }
    // ...while still silencing the service's other symptoms.
    const symptom = { alertname: "AuthHighErrorRate", severity: "critical", service: "auth", category: "availability" };
    expect(rules.some((x) => inhibits(x, availability[0]!, symptom))).toBe(true);
  });

  it("never pages from dev", async () => {
    if (r.settings.environment !== "dev") return;
    expect(r.settings.routing.mode).toBe("chat-only");
    const res = await routesTo(config, { alertname: "AuthServiceDown", severity: "critical", service: "auth" }, ["slack-auth"]);
    expect(res.ok, res.output).toBe(true);
    expect(r.files.get("alertmanager/alertmanager.yaml")).not.toMatch(/pagerduty/);
  });

  it("takes every secret from a file, none inline", () => {
    const text = r.files.get("alertmanager/alertmanager.yaml")!;
    // Any key naming a credential, with any prefix (slack_api_url, smtp_auth_password, ...), must be a *_file.
    expect(text).not.toMatch(/^\s*(- )?\w*(api_url|routing_key|service_key|auth_password|auth_secret|credentials|password|token)\s*:/m);
    for (const m of text.matchAll(/_file: (.*)/g)) expect(m[1]).toMatch(new RegExp(`^${r.settings.routing.secretsDir}/`));
  });
});
