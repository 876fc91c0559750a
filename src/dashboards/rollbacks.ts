/**
 * The "Rollbacks" annotation every dashboard carries where the stack has the
 * PostgreSQL data source (settings grafana.postgres): each run of
 * `npm run rollback` (and its undo) from rollback_log, read as the read-only
 * role authwatch_grafana (SELECT on rollback_log only, postgres/roles.sql).
 */
import * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import type * as cog from "@grafana/grafana-foundation-sdk/cog";
import { POSTGRES } from "./kit";

/** One annotation per rollback_log row in the dashboard's time range ($__timeFilter), its reason and steps as the text. */
export const ROLLBACK_ANNOTATION_SQL =
  `SELECT at AS "time", format('Rollback by %s: %s (steps %s, took %s)', actor, reason, actions::text, duration::text) AS text, 'rollback' AS tags ` +
  "FROM rollback_log WHERE $__timeFilter(at) ORDER BY at";

/** A raw-SQL query of the PostgreSQL data source (the SDK has no builder for it). */
function sqlQuery(rawSql: string): cog.Builder<cog.Dataquery> {
  const query = { refId: "Rollbacks", datasource: { ...POSTGRES }, editorMode: "code", format: "table", rawQuery: true, rawSql };
  return { build: () => query as unknown as cog.Dataquery };
}

export function rollbackAnnotation(): dashboard.AnnotationQueryBuilder {
  return new dashboard.AnnotationQueryBuilder().name("Rollbacks").datasource(POSTGRES).enable(true).iconColor("purple").target(sqlQuery(ROLLBACK_ANNOTATION_SQL));
}
