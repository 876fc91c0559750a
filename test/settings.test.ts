import { parseDuration } from "../src/duration";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { afterEach, describe, expect, it } from "vitest";
import { routingTree } from "../alerts/routing";
import { listStacks, loadStackSettings, parseSettings, SettingsError, stackFile } from "../src/settings";

const FILE = "stacks/Pulumi.test.yaml";
/** A fixture stack's own receivers (no committed stack's). */
const RECEIVERS = {
  slackAuthChannel: "#fixture-auth",
  slackSecurityChannel: "#fixture-security",
  emailTo: "fixture-oncall@example.com",
  deadMansSwitchUrl: "https://deadmansswitch.example.com/ping/fixture",
};
const base = { "authwatch:environment": "prod", "authwatch:routing": RECEIVERS };

/** base with config on top; a routing block is merged into the fixture's receivers. */
const withBase = (config: Record<string, unknown>) => ({
  ...base,
  ...config,
  "authwatch:routing": { ...RECEIVERS, ...(config["authwatch:routing"] as object | undefined) },
});

function problemsOf(raw: Record<string, unknown>): string[] {
  try {
    parseSettings("test", raw, FILE);
  } catch (e) {
    expect(e).toBeInstanceOf(SettingsError);
    expect((e as Error).message).toContain(FILE);
    return [...(e as SettingsError).problems];
  }
  return [];
}
const problems = (config: Record<string, unknown>) => problemsOf(withBase(config));

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
/** A stacks directory in a temp dir holding the given stack files (name → config). */
function stacksDir(files: Record<string, Record<string, unknown>>): string {
  const dir = mkdtempSync(path.join(tmpdir(), "authwatch-stacks-"));
  dirs.push(dir);
  for (const [stack, config] of Object.entries(files)) writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), yaml.dump({ config }));
  return dir;
}

describe("stack settings", () => {
  it("every committed stack is valid", () => {
    expect(listStacks()).toEqual(expect.arrayContaining(["dev", "prod", "staging"]));
    for (const stack of listStacks()) expect(loadStackSettings(stack).stack).toBe(stack);
  });

  it("defaults are the prod values of docs/alerts.md", () => {
    const s = parseSettings("test", base, FILE);
    // Traffic floors (min*, pageMinEvents) are the project's settings, not contract numbers: matched apart.
    expect(s.thresholds.errorRate).toMatchObject({ warningRatio: 0.01, warningFor: "5m", criticalRatio: 0.05, criticalFor: "2m" });
    expect(s.thresholds.latency).toMatchObject({ warningSeconds: 0.5, criticalSeconds: 1, for: "5m" });
    expect(s.thresholds.loginFailure).toMatchObject({ warningRatio: 0.1, criticalRatio: 0.2 });
    // The contract's critical floor: above one client's 20 retries in 5 minutes, at most 100 (100 attempts, 60 % failing, page).
    expect(s.thresholds.loginFailure.criticalMinAttempts).toBeGreaterThan(20);
    expect(s.thresholds.loginFailure.criticalMinAttempts).toBeLessThanOrEqual(100);
    expect(s.thresholds.backup.maxAge).toBe("26h");
    expect(s.thresholds.restoreVerify.maxAge).toBe("8d");
    expect(s.slos).toMatchObject({ availability: { objective: 0.999 }, latency: { objective: 0.95, thresholdSeconds: 0.5 } });
    expect(s.scrapeJobs).toMatchObject({ auth: "auth", authHealth: "auth-health", postgres: "postgres", pgBackup: "pg-backup" });
    expect(s.loki).toEqual({ securityRetentionDays: 365, appRetentionDays: 90, tenant: "authwatch" });
  });

  // Regression (quality bench): at a 20-30 attempt floor, the normal share of failures crossed the warning ratio by chance every few nights.
  it("the default warning floors of the failure-share alerts keep the normal share of failures below the threshold by chance", () => {
    const t = parseSettings("test", base, FILE).thresholds;
    /** P(more than `ratio` of `n` events fail) when each fails with probability `p` (binomial tail). */
    const chance = (n: number, p: number, ratio: number) => {
      let sum = 0;
      for (let k = Math.floor(ratio * n) + 1; k <= n; k++) {
        let c = 1;
        for (let i = 0; i < k; i++) c = (c * (n - i)) / (i + 1);
        sum += c * p ** k * (1 - p) ** (n - k);
      }
      return sum;
    };
    // Normal shares (stated fixture): 4 % of logins fail (mistyped passwords), 3 % of registrations (invalid input, a taken address).
    // A window at the floor may cross the threshold by chance at most once in 400 (a quiet hour holds a dozen independent 5 m windows).
    expect(chance(t.loginFailure.minAttempts, 0.04, t.loginFailure.warningRatio)).toBeLessThan(1 / 400);
    expect(chance(t.loginFailure.criticalMinAttempts, 0.04, t.loginFailure.criticalRatio)).toBeLessThan(1 / 400);
    // Registrations: the contract's floor is low (20), so the share must also hold for `for`: disjoint 5 m windows, each by chance.
    const windows = 1 + Math.floor(parseDuration(t.registrationFailure.for)! / 300);
    expect(chance(t.registrationFailure.minAttempts, 0.03, t.registrationFailure.warningRatio) ** windows).toBeLessThan(1 / 400);
  });

  it("a stack's thresholds come from its own file and the defaults, never from another stack's file", () => {
    // README "Change a threshold": an override in prod's file moves prod only.
    const dir = stacksDir({});
    for (const stack of listStacks()) copyFileSync(stackFile(stack), stackFile(stack, dir));
    const doc = yaml.load(readFileSync(stackFile("prod", dir), "utf8")) as { config: Record<string, any> };
    const thresholds = doc.config["authwatch:thresholds"] ?? {};
    const override = 0.07;
    doc.config["authwatch:thresholds"] = { ...thresholds, errorRate: { ...thresholds.errorRate, criticalRatio: override } };
    writeFileSync(stackFile("prod", dir), yaml.dump(doc));
    expect(loadStackSettings("prod", dir).thresholds.errorRate.criticalRatio).toBe(override);
    for (const stack of listStacks(dir).filter((st) => st !== "prod")) expect(loadStackSettings(stack, dir).thresholds).toEqual(loadStackSettings(stack).thresholds);
    // A stack file without thresholds gets the defaults, whatever prod's file says.
    const staging = withBase({ "authwatch:environment": "staging" });
    const fixture = stacksDir({ prod: withBase({ "authwatch:thresholds": { errorRate: { criticalRatio: override } } }), staging });
    expect(loadStackSettings("staging", fixture).thresholds).toEqual(parseSettings("staging", staging, FILE).thresholds);
  });

  it("every committed stack names each receiver it routes to in its own file", () => {
    for (const stack of listStacks()) {
      const own = (yaml.load(readFileSync(stackFile(stack), "utf8")) as { config: Record<string, any> }).config["authwatch:routing"] ?? {};
      const named = new Set(Object.values(own).filter((v) => typeof v === "string"));
      for (const r of routingTree(loadStackSettings(stack)).receivers) {
        const i = r.integration;
        const where = i.kind === "slack" ? i.channel : i.kind === "email" ? i.to : i.kind === "webhook" ? i.url : undefined;
        if (where !== undefined) expect(named, `${stack}: ${r.name} → ${where}`).toContain(where);
      }
    }
  });

  it("refuses a stack that routes without naming its own receivers, naming the file and the keys", () => {
    const staging = problemsOf({ "authwatch:environment": "staging" });
    for (const key of ["slackAuthChannel", "slackSecurityChannel", "emailTo", "deadMansSwitchUrl"]) {
      expect(staging.some((p) => p.startsWith(`authwatch:routing.${key}: required in routing.mode tiered`)), `${key} in ${staging.join("; ")}`).toBe(true);
    }
    // Naming some receivers is not enough: each missing one is named.
    const partial = problemsOf({ "authwatch:environment": "prod", "authwatch:routing": { slackAuthChannel: "#own" } });
    expect(partial.filter((p) => /: required /.test(p)).map((p) => p.split(":")[1])).toEqual(["routing.slackSecurityChannel", "routing.emailTo", "routing.deadMansSwitchUrl"]);
    // chat-only routes to one channel only: that one is required, the others are not.
    const dev = problemsOf({ "authwatch:environment": "dev", "authwatch:routing": { mode: "chat-only" } });
    expect(dev).toEqual([expect.stringMatching(/^authwatch:routing\.slackAuthChannel: required/)]);
    expect(problemsOf({ "authwatch:environment": "dev", "authwatch:routing": { mode: "chat-only", slackAuthChannel: "#own-dev" } })).toEqual([]);
  });

  it("loads a new stack file that names its own receivers and routes to them", () => {
    const dir = stacksDir({ qa: { "authwatch:environment": "staging", "authwatch:routing": RECEIVERS } });
    const qa = loadStackSettings("qa", dir);
    expect(qa).toMatchObject({ stack: "qa", environment: "staging", routing: { mode: "tiered", ...RECEIVERS } });
    const tree = routingTree(qa);
    expect(tree.receivers.map((r) => r.integration)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: "slack", channel: RECEIVERS.slackAuthChannel }),
        expect.objectContaining({ kind: "slack", channel: RECEIVERS.slackSecurityChannel }),
        expect.objectContaining({ kind: "email", to: RECEIVERS.emailTo }),
        expect.objectContaining({ kind: "webhook", url: RECEIVERS.deadMansSwitchUrl }),
      ]),
    );
    const bare = stacksDir({ qa: { "authwatch:environment": "staging" } });
    expect(() => loadStackSettings("qa", bare)).toThrow(/Pulumi\.qa\.yaml: invalid stack settings:\n(.|\n)*authwatch:routing\.slackAuthChannel: required/);
  });

  it("refuses an unknown environment with the valid ones and what to pick", () => {
    const [message] = problems({ "authwatch:environment": "qa" });
    expect(message).toMatch(/^authwatch:environment: "qa" is not one of dev, staging, prod, local: /);
    for (const env of ["dev", "staging", "prod", "local"]) expect(message).toContain(`${env} for `);
    expect(message).toMatch(/staging for a pre-production stack/);
  });

  it("rejects an unknown key, naming it", () => {
    expect(problems({ "authwatch:thresholds": { errorRate: { criticalRatoi: 0.05 } } })).toEqual([
      'authwatch:thresholds.errorRate: Unrecognized key: "criticalRatoi" ("criticalRatoi")',
    ]);
    expect(problems({ "authwatch:tresholds": {} })[0]).toMatch(/^authwatch: .*"tresholds"/);
  });

  it("rejects a wrong type", () => {
    expect(problems({ "authwatch:thresholds": { loginFailure: { minAttempts: "twenty" } } })[0]).toMatch(/^authwatch:thresholds\.loginFailure\.minAttempts: /);
  });

  it("rejects a ratio above 1", () => {
    expect(problems({ "authwatch:thresholds": { errorRate: { criticalRatio: 1.5 } } })).toContain(
      "authwatch:thresholds.errorRate.criticalRatio: must be at most 1 (a ratio: 0.05 is 5 %)",
    );
  });

  it("rejects a negative or malformed duration", () => {
    expect(problems({ "authwatch:thresholds": { serviceDown: { for: "-5m" } } })[0]).toMatch(/thresholds\.serviceDown\.for: must be a Prometheus duration/);
    expect(problems({ "authwatch:thresholds": { backup: { maxAge: "0s" } } })[0]).toMatch(/thresholds\.backup\.maxAge: must be longer than 0s/);
  });

  it("rejects a warning tier at or above its critical tier", () => {
    expect(problems({ "authwatch:thresholds": { errorRate: { warningRatio: 0.1, criticalRatio: 0.05 } } })).toEqual([
      "authwatch:thresholds.errorRate.warningRatio: must be below errorRate.criticalRatio (0.05), got 0.1",
    ]);
  });

  it("rejects a latency SLO threshold that is not a histogram bucket", () => {
    expect(problems({ "authwatch:slos": { latency: { thresholdSeconds: 0.3 } } })[0]).toMatch(/slos\.latency\.thresholdSeconds: must be one of the service's histogram buckets/);
  });

  it("rejects a secret written as plain text, and accepts it as a secure value", () => {
    expect(problems({ "authwatch:pagerdutyRoutingKey": "R0UT1NGK3Y" })[0]).toMatch(/authwatch:pagerdutyRoutingKey: is a secret; set it with `pulumi config set --secret/);
    const s = parseSettings("test", { ...base, "authwatch:pagerdutyRoutingKey": { secure: "v1:abc" } }, FILE);
    expect(s.secrets.pagerdutyRoutingKey).toBe(true);
    expect(JSON.stringify(s)).not.toContain("v1:abc");
  });

  it("rejects settings under which alerts could never fire or would page from dev", () => {
    expect(problems({ "authwatch:slos": { availability: { objective: 0.9 } } })[0]).toMatch(/slos\.availability\.objective: must be above 0\.931/);
    expect(problems({ "authwatch:scrapeInterval": "1m" })[0]).toMatch(/^authwatch:scrapeInterval: must be at most 30s/);
    expect(problems({ "authwatch:environment": "dev" })).toContain("authwatch:routing.mode: must be chat-only in dev: dev never pages");
    expect(problems({ "authwatch:routing": { maintenanceWindow: { location: "Europe/Berln" } } })[0]).toMatch(/routing\.maintenanceWindow\.location: must be an IANA time zone/);
    expect(problems({ "authwatch:loki": { securityRetentionDays: 30 } })[0]).toMatch(/loki\.securityRetentionDays: must be at least appRetentionDays \(90\)/);
    // Loki's tenant: the one auth-disabled Loki uses is refused, so a stack cannot silently share it.
    expect(problems({ "authwatch:loki": { tenant: "fake" } })[0]).toMatch(/loki\.tenant: must not be "fake"/);
    expect(problems({ "authwatch:loki": { tenant: "Auth Watch" } })[0]).toMatch(/loki\.tenant: must be 1-63 lower-case letters/);
  });

  it("rejects an unknown namespace but passes provider settings through", () => {
    expect(problems({ "authwach:thresholds": {} })[0]).toMatch(/unknown config namespace "authwach"/);
    expect(problems({ "kubernetes:context": "prod", "aws:region": "eu-west-1" })).toEqual([]);
  });

  it("reports every problem at once, and the environment is required", () => {
    const all = (() => {
      try {
        parseSettings("test", { "authwatch:thresholds": { csrf: { warningCount: 0 } } }, FILE);
      } catch (e) {
        return (e as SettingsError).problems;
      }
      return [];
    })();
    expect(all.some((p) => p.startsWith("authwatch:environment"))).toBe(true);
    expect(all.some((p) => p.startsWith("authwatch:thresholds.csrf.warningCount"))).toBe(true);
  });

  it("defaults Grafana delivery to the API with fixed data source uids, and validates it", () => {
    const s = parseSettings("test", { ...base, "authwatch:environment": "local" }, FILE);
    expect(s.grafana).toMatchObject({ delivery: "api", prometheusUid: "authwatch-prometheus", lokiUid: "authwatch-loki", alertmanagerUid: "authwatch-alertmanager" });
    expect(problems({ "authwatch:grafana": { delivery: "configmap" } })[0]).toMatch(/^authwatch:grafana\.delivery: /);
    expect(problems({ "authwatch:grafana": { prometheusUid: "has spaces" } })[0]).toMatch(/^authwatch:grafana\.prometheusUid: must be 1-40 letters, digits, - or _/);
    expect(problems({ "authwatch:grafana": { lokiUid: "authwatch-prometheus" } })).toContain(
      "authwatch:grafana.lokiUid: the Prometheus, Loki, Alertmanager and PostgreSQL data sources need four different uids",
    );
  });

  it("validates the PostgreSQL data source of the rollback annotations: host:port, a read-only user by default, never without TLS", () => {
    const pg = { host: "auth-db.example.internal:5432", database: "auth" };
    const s = parseSettings("test", { ...base, "authwatch:environment": "local", "authwatch:grafana": { postgres: pg } }, FILE);
    expect(s.grafana.postgres).toEqual({ ...pg, user: "authwatch_grafana", sslMode: "require" });
    expect(problems({ "authwatch:grafana": { postgres: { ...pg, host: "auth-db.example.internal" } } })[0]).toMatch(/^authwatch:grafana\.postgres\.host: must be host:port/);
    expect(problems({ "authwatch:grafana": { postgres: { ...pg, sslMode: "disable" } } })[0]).toMatch(/^authwatch:grafana\.postgres\.sslMode: /);
    expect(problems({ "authwatch:grafana": { postgres: { ...pg, password: "x" } } })[0]).toMatch(/^authwatch:grafana\.postgres: .*"password"/);
  });

  it("validates the kill switch's rollback window: 10m to 24h, 2h by default", () => {
    const s = parseSettings("test", { ...base, "authwatch:environment": "local" }, FILE);
    expect(s.thresholds.killSwitch.rollbackWindow).toBe("2h");
    expect(problems({ "authwatch:thresholds": { killSwitch: { rollbackWindow: "5m" } } })).toEqual([expect.stringMatching(/^authwatch:thresholds\.killSwitch\.rollbackWindow: must be at least 10m/)]);
    expect(problems({ "authwatch:thresholds": { killSwitch: { rollbackWindow: "2d" } } })).toEqual([expect.stringMatching(/^authwatch:thresholds\.killSwitch\.rollbackWindow: must be at most 24h/)]);
    expect(problems({ "authwatch:thresholds": { killSwitch: { rollbackWindow: "10m" } } })).toEqual([]);
    // Issue 14's number: no successful rollback drill in 35 days (seed 002 drills monthly).
    expect(s.thresholds.rollbackDrill.maxAge).toBe("35d");
  });

  it("refuses grafana:auth as plain text and accepts it as a secret", () => {
    expect(problems({ "grafana:auth": "admin:admin" })).toContain(
      "grafana:auth: is a secret; set it with `pulumi config set --secret grafana:auth <value>`, never as plain text",
    );
    expect(problems({ "grafana:auth": { secure: "v1:abc" }, "grafana:url": "https://grafana.example.com" }).filter((p) => p.startsWith("grafana:"))).toEqual([]);
  });

  it("names the file when a stack file is missing or not YAML", () => {
    const dir = stacksDir({});
    writeFileSync(stackFile("broken", dir), "config: [unclosed");
    expect(() => loadStackSettings("broken", dir)).toThrow(/Pulumi\.broken\.yaml: invalid stack settings:\n {2}- not valid YAML/);
    expect(() => loadStackSettings("nope", dir)).toThrow(/Pulumi\.nope\.yaml: .*no such stack file \(stacks: broken\)/s);
  });
});
