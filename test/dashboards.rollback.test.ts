/**
 * The rollback side of the dashboards: the auth-rollback dashboard shows the
 * flag catalog's switches and links the three rollback alerts, and where the
 * stack has the PostgreSQL data source every dashboard carries the Rollbacks
 * annotation, which reads rollback_log only.
 */
import { describe, expect, it } from "vitest";
import { PANELS } from "../dashboards/panels";
import { DASHBOARD_UIDS } from "../dashboards/uids";
import { dashboardProblems, sqlAnnotationProblems } from "../src/dashboards/validate";
import type { BuiltDashboard } from "../src/dashboards/board";
import { FLAG_NAMES, FLAGS } from "../src/flags/catalog";
import { mustParseDuration } from "../src/duration";
import { buildWithCatalog } from "./support/dashboards";
import { fixtureStack } from "./support/fixtures";

type Json = Record<string, any>;

const build = buildWithCatalog;
const dash = (ds: BuiltDashboard[], uid: string) => ds.find((d) => d.uid === uid)!;
const panel = (d: BuiltDashboard, id: number) => ((d.model.panels ?? []) as Json[]).find((p) => p.id === id)!;
const stepsOf = (p: Json): number[] => (p.fieldConfig?.defaults?.thresholds?.steps ?? []).map((s: Json) => s.value).filter((v: unknown) => v !== null);

describe("rollbacks and flags", () => {
  const pg = { host: "auth-db.example.internal:5432", database: "auth" };
  const withPostgres = fixtureStack("staging", "staging", { "authwatch:grafana": { postgresUid: "pg-staging", postgres: pg } });
  const without = fixtureStack("staging", "staging");
  const annotations = (d: BuiltDashboard) => (d.model.annotations.list ?? []).filter((a) => a.name === "Rollbacks");

  it("every dashboard carries the Rollbacks annotation from rollback_log through the stack's PostgreSQL data source", () => {
    const { dashboards, catalog } = build(withPostgres);
    expect(dashboardProblems(catalog)).toEqual([]);
    for (const d of dashboards) {
      const variable = (d.model.templating.list ?? []).find((v) => v.name === "postgres")!;
      expect(variable.type, d.uid).toBe("datasource");
      expect(variable.query, d.uid).toBe("grafana-postgresql-datasource");
      expect(variable.current?.value, d.uid).toBe("pg-staging");
      const [a] = annotations(d);
      expect(a?.datasource, d.uid).toEqual({ type: "grafana-postgresql-datasource", uid: "${postgres}" });
      const sql = (a!.target as Json).rawSql as string;
      expect(sql).toMatch(/FROM rollback_log WHERE \$__timeFilter\(at\)/);
      expect(sql).toMatch(/AS "time"/);
      expect(sqlAnnotationProblems(a!, new Set(["postgres"]))).toEqual([]);
    }
  });

  it("has no PostgreSQL variable or annotation where the stack has no such data source", () => {
    for (const d of build(without).dashboards) {
      expect((d.model.templating.list ?? []).map((v) => v.name), d.uid).not.toContain("postgres");
      expect(annotations(d), d.uid).toEqual([]);
    }
  });

  it("refuses an annotation that reads beyond rollback_log, the whole log, or a fixed uid", () => {
    const [a] = annotations(build(withPostgres).dashboards[0]!);
    const edited = (rawSql: string, uid = "${postgres}") => ({ ...a!, datasource: { ...a!.datasource, uid }, target: { ...(a!.target as Json), rawSql } }) as typeof a & object;
    const vars = new Set(["postgres"]);
    expect(sqlAnnotationProblems(edited("SELECT at AS time, email AS text FROM users JOIN rollback_log ON true WHERE $__timeFilter(at)"), vars)).toEqual([
      "reads users, rollback_log; only rollback_log (the Grafana role may read nothing else)",
    ]);
    expect(sqlAnnotationProblems(edited("SELECT at AS time FROM rollback_log"), vars)).toEqual(["has no $__timeFilter(...): it would read the whole log on every refresh"]);
    expect(sqlAnnotationProblems(edited((a!.target as Json).rawSql, "pg-staging"), vars)[0]).toMatch(/must be the variable \$\{postgres\}/);
  });

  it("shows every switch of the flag catalog over time, and links the three rollback alerts", () => {
    const { dashboards } = build(without);
    const d = dash(dashboards, DASHBOARD_UIDS.rollback);
    const timeline = panel(d, PANELS.rollback.flagStates);
    expect(timeline.type).toBe("state-timeline");
    const switches = FLAG_NAMES.filter((f) => FLAGS[f].kind === "switch");
    expect(timeline.targets[0].expr).toContain(`flag=~"${switches.join("|")}"`);
    expect(d.links.map((l) => [l.panel, l.alert])).toEqual([
      [PANELS.rollback.killSwitch, "AuthKillSwitchEngaged"],
      [PANELS.rollback.rolloutPercentage, "AuthRolloutChanged"],
      [PANELS.rollback.drillAge, "RollbackDrillMissing"],
    ]);
    expect(stepsOf(panel(d, PANELS.rollback.drillAge))).toEqual([mustParseDuration(without.thresholds.rollbackDrill.maxAge)]);
  });
});
