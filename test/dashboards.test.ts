/**
 * The dashboards as built by the SDK and rendered by synth: every query
 * parses and names only known series, every alert is shown and linked both
 * ways, thresholds come from the settings the alerts read, the layout is
 * fixed and never overlaps, and two builds are byte-identical.
 */
import { describe, expect, it } from "vitest";
import * as yaml from "js-yaml";
import { PANELS, SLO_PANELS, sloPanels } from "../dashboards/panels";
import { DASHBOARD_UIDS } from "../dashboards/uids";
import { slos } from "../alerts/slo";
import { listStacks, loadStackSettings, type Settings } from "../src/settings";
import { renderStack } from "../src/synth";
import { logqlProblems, promqlProblems } from "../src/validate";
import { dashboardProblems, substituteVariables } from "../src/dashboards/validate";
import { renderDashboardJson } from "../src/render/grafana";
import { GRID_WIDTH, type AlertLink, type BuiltDashboard } from "../src/dashboards/board";
import { BURN_RATE_ALERTS } from "../src/slo";
import { num } from "../src/promql";
import { buildWithCatalog } from "./support/dashboards";
import { fixtureStack } from "./support/fixtures";
import { withOverrides } from "./support/render";

const build = buildWithCatalog;

type Json = Record<string, any>;
const panels = (d: BuiltDashboard) => (d.model.panels ?? []) as Json[];
const dash = (ds: BuiltDashboard[], uid: string) => ds.find((d) => d.uid === uid)!;
const panel = (d: BuiltDashboard, id: number) => panels(d).find((p) => p.id === id)!;
/** The threshold steps of a panel, without the base colour. */
const stepsOf = (p: Json): number[] => (p.fieldConfig?.defaults?.thresholds?.steps ?? []).map((s: Json) => s.value).filter((v: unknown) => v !== null);

describe.each(listStacks())("dashboards of stack %s", (stack) => {
  const s = loadStackSettings(stack);
  const { dashboards, alerts, records, catalog } = build(s);

  it("builds the reserved dashboards, and they pass validation", () => {
    expect(dashboards.map((d) => d.uid)).toEqual(Object.values(DASHBOARD_UIDS));
    expect(dashboardProblems(catalog)).toEqual([]);
    for (const d of dashboards) expect(d.model.schemaVersion).toBe(42);
  });

  it("every panel query parses (macros and variables substituted) and names only the contract's series or our recording rules", () => {
    let prometheus = 0;
    let loki = 0;
    for (const d of dashboards) {
      const variables = new Set((d.model.templating.list ?? []).map((v) => v.name));
      for (const p of panels(d).filter((x) => x.type !== "row")) {
        for (const t of p.targets as Json[]) {
          const where = `${d.uid} panel ${p.id} query ${t.refId}`;
          const { expr, unknown } = substituteVariables(t.expr, variables);
          expect(unknown, where).toEqual([]);
          expect(expr, where).not.toContain("$");
          if (t.datasource.type === "prometheus") {
            prometheus++;
            expect(promqlProblems(expr, records), where).toEqual([]);
          } else {
            loki++;
            expect(t.datasource.type, where).toBe("loki");
            expect(logqlProblems(expr, { metricOnly: p.type !== "logs" }), where).toEqual([]);
          }
        }
      }
    }
    expect(prometheus).toBeGreaterThan(60);
    expect(loki).toBeGreaterThanOrEqual(6);
  });

  it("shows every alert of the catalog, and each alert's dashboard_url opens a panel that shows it and links its runbook", () => {
    const shown = new Set(dashboards.flatMap((d) => [...d.shows.values()].flat()));
    expect([...shown].sort()).toEqual([...new Set(alerts.map((a) => a.alert))].sort());
    // The definitions name no panel: each link comes from the panel that declares it (linkedFrom).
    expect(alerts.filter((a) => a.dashboard).map((a) => a.alert)).toEqual([]);

    const files = renderStack(s).files;
    const ruleFiles = [...files].filter(([f]) => /^(prometheus|loki)\/rules\//.test(f));
    let linked = 0;
    for (const [file, text] of ruleFiles) {
      for (const rule of (yaml.load(text) as { groups: { rules: Json[] }[] }).groups.flatMap((g) => g.rules)) {
        if (!rule.alert) continue;
        const url = rule.annotations.dashboard_url as string;
        const m = new RegExp(`^${s.dashboardBaseUrl}/d/([a-z-]+)\\?viewPanel=(\\d+)$`).exec(url);
        expect(m, `${file} ${rule.alert}: ${url}`).not.toBeNull();
        const model = JSON.parse(files.get(`grafana/dashboards/${m![1]}.json`)!) as Json;
        const target = (model.panels as Json[]).find((p) => p.id === Number(m![2]));
        expect(target, `${rule.alert} → ${url}`).toBeDefined();
        expect(dash(dashboards, m![1]!).shows.get(Number(m![2]))).toContain(rule.alert);
        expect(target!.links.map((l: Json) => [l.title, l.url])).toContainEqual([`Runbook: ${rule.alert}`, rule.annotations.runbook_url]);
        linked++;
      }
    }
    expect(linked).toBe(alerts.length);
  });

  it("draws on a panel only the thresholds its alerts use", () => {
    const budgets = slos(s).map((slo) => 1 - slo.objective);
    const has = (expr: string, v: number) => new RegExp(`(?<![\\w.])${num(v).replace(".", "\\.")}(?![\\w.])`).test(expr);
    const relations: [string, (e: string, v: number) => boolean][] = [
      ["the same number", has],
      ["any occurrence (> 0, == 0, absent)", (e, v) => v === 1 && /> 0(?!\.)|== 0|absent\(/.test(e)],
      ["the success side of a failure ratio", (e, v) => has(e, 1 - v)],
      ["a count above N drawn from N + 1", (e, v) => has(e, v - 1)],
      ["a burn-rate factor of an SLO budget", (e, v) => budgets.some((b) => has(e, v * b))],
      ["an SLO objective behind a burn-rate limit", (e, v) => BURN_RATE_ALERTS.some((b) => has(e, b.factor * (1 - v)))],
    ];
    let checked = 0;
    for (const d of dashboards) {
      for (const [id, names] of d.shows) {
        const exprs = alerts.filter((a) => names.includes(a.alert)).map((a) => a.expr);
        for (const v of stepsOf(panel(d, id))) {
          const ok = relations.some(([, rel]) => exprs.some((e) => rel(e, v)));
          expect(ok, `${d.uid} panel ${id}: step ${v} is no threshold of ${names.join(", ")}`).toBe(true);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(40);
  });

  it("takes the data source uids of the stack and never a fixed uid in a query", () => {
    for (const d of dashboards) {
      const vars = d.model.templating.list ?? [];
      expect(vars.map((v) => v.name)).toEqual(["prometheus", "loki", "env", "instance", ...(s.grafana.postgres ? ["postgres"] : [])]);
      expect(vars[0]!.current?.value).toBe(s.grafana.prometheusUid);
      expect(vars[1]!.current?.value).toBe(s.grafana.lokiUid);
      for (const p of panels(d).filter((x) => x.type !== "row")) {
        for (const t of p.targets as Json[]) expect(["${prometheus}", "${loki}"]).toContain(t.datasource.uid);
      }
    }
  });

  it("has fixed panel ids from dashboards/panels.ts and a layout without overlaps", () => {
    const expectedIds: Record<string, number[]> = Object.fromEntries(
      (Object.keys(PANELS) as (keyof typeof PANELS)[]).map((k) => [DASHBOARD_UIDS[k], Object.values(PANELS[k]) as number[]]),
    );
    expectedIds[DASHBOARD_UIDS.slo] = slos(s).flatMap((slo) => Object.values(sloPanels(slo.name)));
    for (const d of dashboards) {
      const ps = panels(d);
      expect(ps.map((p) => p.id).sort((a, b) => a - b), d.uid).toEqual([...expectedIds[d.uid]!].sort((a, b) => a - b));
      for (const [i, a] of ps.entries()) {
        const g = a.gridPos;
        expect(g.x >= 0 && g.y >= 0 && g.w >= 1 && g.h >= 1 && g.x + g.w <= GRID_WIDTH, `${d.uid} panel ${a.id} ${JSON.stringify(g)}`).toBe(true);
        if (a.type === "row") expect(g, `${d.uid} row ${a.id}`).toMatchObject({ x: 0, w: GRID_WIDTH, h: 1 });
        for (const b of ps.slice(i + 1)) {
          const h = b.gridPos;
          const overlap = g.x < h.x + h.w && h.x < g.x + g.w && g.y < h.y + h.h && h.y < g.y + g.h;
          expect(overlap, `${d.uid}: panels ${a.id} and ${b.id} overlap`).toBe(false);
        }
      }
      // Reading order is grid order: nothing is placed above what came before it.
      const order = ps.map((p) => p.gridPos.y * GRID_WIDTH + p.gridPos.x);
      expect(order, d.uid).toEqual([...order].sort((a, b) => a - b));
    }
  });

  it("sets a description on every panel and a unit on every panel that plots numbers", () => {
    for (const d of dashboards) {
      expect(d.model.description, d.uid).toBeTruthy();
      for (const p of panels(d).filter((x) => x.type !== "row")) {
        expect(p.description, `${d.uid} panel ${p.id}`).toMatch(/\w{3,}/);
        if (p.type !== "logs") expect(p.fieldConfig?.defaults?.unit, `${d.uid} panel ${p.id}`).toBeTruthy();
      }
    }
  });

  it("renders byte-identically twice, with sorted keys", () => {
    const again = build(s).dashboards;
    for (const [i, d] of dashboards.entries()) {
      const text = renderDashboardJson(d.model);
      expect(renderDashboardJson(again[i]!.model)).toBe(text);
      expect(text.endsWith("}\n")).toBe(true);
      const sorted = (v: unknown): boolean =>
        Array.isArray(v) ? v.every(sorted) : v !== null && typeof v === "object" ? Object.keys(v).join() === Object.keys(v).sort().join() && Object.values(v).every(sorted) : true;
      expect(sorted(JSON.parse(text)), d.uid).toBe(true);
    }
  });
});

describe("thresholds follow the settings the alerts read", () => {
  // A fixture stack stating every value the cases move: "before" is the fixture's, whatever prod or the defaults say today.
  const fixture = fixtureStack("fixture", "prod", {
    "authwatch:thresholds": {
      errorRate: { warningRatio: 0.01, criticalRatio: 0.05 },
      latency: { warningSeconds: 0.5, criticalSeconds: 1 },
      loginFailure: { warningRatio: 0.1, criticalRatio: 0.2 },
      tokenValidationLatency: { warningSeconds: 0.05, criticalSeconds: 0.1 },
      rateLimit: { warningPerMinute: 10, criticalPerMinute: 100 },
      bruteForce: { failuresPerIp: 50 },
      csrf: { warningCount: 10 },
      memory: { warningRatio: 0.8 },
      databaseConnections: { warningRatio: 0.8 },
      backup: { maxAge: "26h" },
    },
    "authwatch:slos": { availability: { objective: 0.999 } },
  });
  const P = PANELS;
  const U = DASHBOARD_UIDS;
  const cases: { setting: string; edit: (s: Settings) => void; uid: string; panel: number; before: number[]; after: number[]; alert: string; expr: string }[] = [
    { setting: "errorRate.criticalRatio", edit: (s) => void (s.thresholds.errorRate.criticalRatio = 0.07), uid: U.overview, panel: P.overview.errorRatio, before: [0.01, 0.05], after: [0.01, 0.07], alert: "AuthHighErrorRate", expr: "> 0.07" },
    { setting: "errorRate.criticalRatio", edit: (s) => void (s.thresholds.errorRate.criticalRatio = 0.07), uid: U.overview, panel: P.overview.errorRatioTimeline, before: [0.01, 0.05], after: [0.01, 0.07], alert: "AuthHighErrorRate", expr: "> 0.07" },
    { setting: "latency.warningSeconds", edit: (s) => void (s.thresholds.latency.warningSeconds = 0.3), uid: U.performance, panel: P.performance.requestP95, before: [0.5, 1], after: [0.3, 1], alert: "AuthLatencyHigh", expr: "> 0.3" },
    { setting: "loginFailure.warningRatio", edit: (s) => void (s.thresholds.loginFailure.warningRatio = 0.15), uid: U.overview, panel: P.overview.loginFailureRatio, before: [0.1, 0.2], after: [0.15, 0.2], alert: "AuthHighLoginFailureRate", expr: "> 0.15" },
    { setting: "loginFailure.warningRatio", edit: (s) => void (s.thresholds.loginFailure.warningRatio = 0.15), uid: U.overview, panel: P.overview.loginSuccessRate, before: [0.8, 0.9], after: [0.8, 0.85], alert: "AuthHighLoginFailureRate", expr: "> 0.15" },
    { setting: "tokenValidationLatency.criticalSeconds", edit: (s) => void (s.thresholds.tokenValidationLatency.criticalSeconds = 0.2), uid: U.performance, panel: P.performance.tokenValidationMean, before: [0.05, 0.1], after: [0.05, 0.2], alert: "AuthTokenValidationSlow", expr: "> 0.2" },
    { setting: "rateLimit.warningPerMinute", edit: (s) => void (s.thresholds.rateLimit.warningPerMinute = 20), uid: U.security, panel: P.security.rateLimit, before: [10, 100], after: [20, 100], alert: "AuthRateLimitSpike", expr: "* 60 > 20" },
    { setting: "bruteForce.failuresPerIp", edit: (s) => void (s.thresholds.bruteForce.failuresPerIp = 80), uid: U.security, panel: P.security.bruteForceByIp, before: [50], after: [80], alert: "AuthBruteForceSuspected", expr: "> 80" },
    { setting: "csrf.warningCount", edit: (s) => void (s.thresholds.csrf.warningCount = 25), uid: U.security, panel: P.security.csrf, before: [10], after: [25], alert: "AuthCSRFFailures", expr: "> 25" },
    { setting: "memory.warningRatio", edit: (s) => void (s.thresholds.memory.warningRatio = 0.9), uid: U.performance, panel: P.performance.memoryRatio, before: [0.8], after: [0.9], alert: "AuthHighMemoryUsage", expr: "> 0.9" },
    { setting: "databaseConnections.warningRatio", edit: (s) => void (s.thresholds.databaseConnections.warningRatio = 0.7), uid: U.database, panel: P.database.connectionUsage, before: [0.8], after: [0.7], alert: "DatabaseConnectionsHigh", expr: "> 0.7" },
    { setting: "backup.maxAge", edit: (s) => void (s.thresholds.backup.maxAge = "30h"), uid: U.database, panel: P.database.backupAge, before: [93600], after: [108000], alert: "BackupTooOld", expr: "> 108000" },
    { setting: "slos.availability.objective", edit: (s) => void (s.slos.availability.objective = 0.995), uid: U.slo, panel: SLO_PANELS["auth-availability"].sli, before: [0.999], after: [0.995], alert: "AuthAvailabilitySLOBurn", expr: "> 0.072" },
  ];

  it.each(cases)("$setting moves $uid panel $panel and the alert $alert", ({ edit, uid, panel: id, before, after, alert, expr }) => {
    const changed = withOverrides(fixture, edit);
    expect(stepsOf(panel(dash(build(fixture).dashboards, uid), id))).toEqual(before);
    const rebuilt = build(changed);
    expect(stepsOf(panel(dash(rebuilt.dashboards, uid), id))).toEqual(after);
    expect(rebuilt.alerts.filter((a) => a.alert === alert).some((a) => a.expr.includes(expr))).toBe(true);
  });

  it("the threshold in a query moves too (connections against max_connections)", () => {
    const expr = (s: Settings) => (panel(dash(build(s).dashboards, U.database), P.database.connectionsByState).targets as Json[]).map((t) => t.expr).join("\n");
    expect(expr(fixture)).toContain("0.8 * max(pg_settings_max_connections");
    expect(expr(withOverrides(fixture, (s) => void (s.thresholds.databaseConnections.warningRatio = 0.7)))).toContain("0.7 * max(pg_settings_max_connections");
  });

  it("a stack file's override reaches the panel: dev's relaxed error-rate tiers", () => {
    const dev = loadStackSettings("dev");
    const steps = stepsOf(panel(dash(build(dev).dashboards, U.overview), P.overview.errorRatio));
    expect(steps).toEqual([dev.thresholds.errorRate.warningRatio, dev.thresholds.errorRate.criticalRatio]);
    const defaults = fixtureStack("defaults", "prod");
    expect(steps).not.toEqual(stepsOf(panel(dash(build(defaults).dashboards, U.overview), P.overview.errorRatio)));
  });
});

describe("dashboard validation rejects", () => {
  const prod = loadStackSettings("prod");
  const problemsAfter = (edit: (ds: BuiltDashboard[]) => void) => {
    const b = build(prod);
    edit(b.dashboards);
    return dashboardProblems(b.catalog);
  };
  const target = (ds: BuiltDashboard[], uid: string, id: number, i = 0) => (panel(dash(ds, uid), id).targets as Json[])[i]!;
  /** The problems once the first query of panel `id` on dashboard `uid` reads `expr`. */
  const problemsWithQuery = (uid: string, id: number, expr: string) =>
    problemsAfter((ds) => {
      target(ds, uid, id).expr = expr;
    });

  it("a misspelt metric, naming the module, dashboard, panel and query", () => {
    expect(
      problemsWithQuery("auth-overview", PANELS.overview.errorRatioTimeline, 'job:http_requests_5xx:ratio_rate5m{job="auth"} + rate(http_request_totl[$__rate_interval])'),
    ).toEqual([
      'dashboards/overview.ts: auth-overview: panel 6 "5xx share of requests": query A: unknown metric "http_request_totl" (not in docs/telemetry.md, not a recording rule of ours)',
    ]);
  });

  it("an unparsable query and an unknown variable", () => {
    const problems = problemsWithQuery("auth-database", PANELS.database.locks, 'sum by (mode) (pg_locks_count{job="postgres", cluster=~"$cluster"}');
    expect(problems).toContainEqual('dashboards/database.ts: auth-database: panel 4 "Locks by mode": query A: unknown variable or macro "$cluster"');
    expect(problems.some((p) => /panel 4 "Locks by mode": query A: syntax error/.test(p))).toBe(true);
  });

  it("a LogQL query on a stream label the contract does not have", () => {
    expect(
      problemsWithQuery("auth-security", PANELS.security.failedLoginsByCountry, 'sum by (country) (count_over_time({service="auth"} | json [$__range]))'),
    ).toEqual([
      'dashboards/security.ts: auth-security: panel 3 "Failed logins by country": query A: stream selector uses "service", not a stream label of the contract (app, category, env, namespace)',
    ]);
  });

  it("a fixed data source uid", () => {
    expect(
      problemsAfter((ds) => {
        target(ds, "auth-slo", SLO_PANELS["auth-availability"].objective).datasource = { type: "prometheus", uid: "P1809F7CD0C75ACF3" };
      })[0],
    ).toMatch(/auth-slo: panel 11 "Objective": query A: data source uid "P1809F7CD0C75ACF3" must be the variable \$\{prometheus\}/);
  });

  it("overlapping panels and a duplicate id", () => {
    const problems = problemsAfter((ds) => {
      const d = dash(ds, "monitoring-health");
      panel(d, PANELS.monitoring.targetsDown).gridPos = { ...panel(d, PANELS.monitoring.targetsUp).gridPos };
      panel(d, PANELS.monitoring.notificationsSent).id = PANELS.monitoring.notificationFailures;
    });
    expect(problems).toContainEqual('dashboards/monitoring.ts: monitoring-health: panel 5 "Targets down": overlaps panel 4 "Scrape targets"');
    expect(problems).toContainEqual('dashboards/monitoring.ts: monitoring-health: panel 8 "Notifications sent (per 5 min)": id 8 is also "Failed notifications (per 5 min)"');
  });

  const links = (ds: BuiltDashboard[], uid: string) => dash(ds, uid).links as AlertLink[];

  it("an alert no dashboard shows, and an alert whose dashboard_url opens a panel that does not show it", () => {
    const problems = problemsAfter((ds) => {
      (dash(ds, "auth-database").shows as Map<number, readonly string[]>).delete(PANELS.database.deadlocks);
    });
    expect(problems).toContainEqual("dashboards/: alert DatabaseDeadlocks is shown on no dashboard (declare it in a panel's alerts or linkedFrom)");
    expect(problems).toContainEqual("dashboards/database.ts: auth-database: panel 5: linkedFrom DatabaseDeadlocks: the panel does not show DatabaseDeadlocks");
  });

  it("an alerting rule no panel links, one two panels link, and a link that matches no rule", () => {
    const problems = problemsAfter((ds) => {
      const db = links(ds, "auth-database");
      db.splice(db.findIndex((l) => l.alert === "DatabaseDeadlocks"), 1);
      db.push({ panel: PANELS.database.backupSize, alert: "BackupTooOld" }, { panel: PANELS.database.rowsMismatched, alert: "BackupRestoreVerificationFailed", labels: { reason: "slow" } });
    });
    expect(problems).toContainEqual("alert DatabaseDeadlocks (warning): dashboard_url: no panel links it (declare it in one panel's linkedFrom)");
    for (const reason of ["stale", "never_reported"]) {
      expect(problems).toContainEqual(
        `alert BackupTooOld (warning, {"reason":"${reason}"}): dashboard_url: 2 panels link it (dashboards/database.ts: auth-database panel 6, dashboards/database.ts: auth-database panel 7); name one`,
      );
    }
    expect(problems).toContainEqual("dashboards/database.ts: auth-database: panel 7: linkedFrom BackupTooOld: the panel does not show BackupTooOld");
    expect(problems).toContainEqual('dashboards/database.ts: auth-database: panel 10: linkedFrom BackupRestoreVerificationFailed {"reason":"slow"}: matches no alerting rule of the catalog');
  });

  it("an SLO without panel ids of its own", () => {
    expect(() => sloPanels("auth-freshness")).toThrow(/dashboards\/panels\.ts: SLO "auth-freshness" .* no panel ids in SLO_PANELS/);
  });

  it("a panel without a description, unit or legend", () => {
    const problems = problemsAfter((ds) => {
      const p = panel(dash(ds, "auth-performance"), PANELS.performance.memoryBytes);
      p.description = "";
      delete p.fieldConfig.defaults.unit;
      (p.targets as Json[])[0]!.legendFormat = "";
    });
    expect(problems).toEqual([
      'dashboards/performance.ts: auth-performance: panel 13 "Memory working set": has no description (say what it shows and how to read it)',
      'dashboards/performance.ts: auth-performance: panel 13 "Memory working set": has no unit',
      'dashboards/performance.ts: auth-performance: panel 13 "Memory working set": query A: no legend (legendFormat)',
    ]);
  });
});
