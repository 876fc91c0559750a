import type { AlertProof } from "../../src/model";
import type { Settings } from "../../src/settings";
import { above, below, gauge, input, minutes, stepFor } from "./series";
import { mustParseDuration } from "../../src/duration";

export function databaseProofs(s: Settings): AlertProof[] {
  const t = s.thresholds;
  const job = s.scrapeJobs.postgres;
  const exporter = { job, instance: "postgres-exporter:9187" };
  const down = stepFor(t.databaseDown.for);
  const downFor = down.steps;
  const dc = t.databaseConnections;
  const connections = (ratio: number) => [
    input("pg_stat_activity_count", { ...exporter, datname: "auth", state: "active" }, gauge(100 * ratio * 0.25, minutes(dc.for) + 10)),
    input("pg_stat_activity_count", { ...exporter, datname: "auth", state: "idle" }, gauge(100 * ratio * 0.75, minutes(dc.for) + 10)),
    input("pg_settings_max_connections", exporter, gauge(100, minutes(dc.for) + 10)),
  ];
  const busy = above(dc.warningRatio);
  return [
    {
      alert: "DatabaseDown",
      interval: down.interval,
      cases: [
        { name: "pg_up 0 longer than `for` fires", series: [input("pg_up", exporter, `1x5 0x${downFor + 10}`)], at: down.at(5 + downFor + 3), firing: [{ severity: "critical", labels: exporter, value: 0 }] },
        { name: "pg_up 0 for one scrape (shorter than `for`) stays silent", series: [input("pg_up", exporter, `1x5 0 1x20`)], at: down.at(7), firing: [] },
        { name: "pg_up 0 stays silent until `for` has passed", series: [input("pg_up", exporter, `1x5 0x${downFor + 10}`)], at: down.at(6 + downFor - 1), firing: [] },
        { name: "pg_up 1 stays silent", series: [input("pg_up", exporter, gauge(1, 30))], at: down.at(20), firing: [] },
      ],
    },
    {
      alert: "DatabaseConnectionsHigh",
      cases: [
        { name: "connections above the share fire", series: connections(busy), at: `${minutes(dc.for) + 2}m`, firing: [{ severity: "warning", labels: exporter, value: busy }] },
        { name: "connections below the share stay silent", series: connections(below(dc.warningRatio)), at: `${minutes(dc.for) + 2}m`, firing: [] },
      ],
    },
    {
      alert: "DatabaseDeadlocks",
      cases: [
        { name: "one deadlock fires", series: [input("pg_stat_database_deadlocks", { ...exporter, datname: "auth" }, "0x10 1x10")], at: "12m", firing: [{ severity: "warning", labels: exporter, value: 1 }] },
        { name: "an unchanged deadlock count stays silent", series: [input("pg_stat_database_deadlocks", { ...exporter, datname: "auth" }, gauge(3, 30))], at: "20m", firing: [] },
      ],
    },
    longTransactionsProof(s),
  ];
}

/**
 * Pushed timestamps are Unix seconds; promtool's clock starts at 0, so a
 * backup pushed at minute m carries timestamp 60·m and its age at minute e is
 * 60·(e − m).
 */

/** DatabaseLongTransactions: the exporter's age of the oldest transaction, growing a minute per minute. */
function longTransactionsProof(s: Settings): AlertProof {
  const lt = s.thresholds.longTransactions;
  const exporter = { job: s.scrapeJobs.postgres, instance: "postgres-exporter:9187" };
  const limit = mustParseDuration(lt.maxAge);
  const forMinutes = minutes(lt.for);
  const steps = forMinutes + 15;
  /** A transaction in `state` that is `start` seconds old at minute 0. */
  const oldest = (state: string, start: number) => input("pg_stat_activity_max_tx_duration", { ...exporter, datname: "auth", state }, `${start}+60x${steps}`);
  const idle = input("pg_stat_activity_max_tx_duration", { ...exporter, datname: "auth", state: "idle" }, gauge(0, steps));
  const at = forMinutes + 3;
  return {
    alert: "DatabaseLongTransactions",
    cases: [
      {
        name: "a transaction idle in transaction older than the limit for `for` fires",
        series: [idle, oldest("idle in transaction", limit)],
        at: `${at}m`,
        firing: [{ severity: "warning", labels: { ...exporter, datname: "auth" }, value: limit + 60 * at }],
      },
      {
        name: "an active transaction older than the limit for `for` fires",
        series: [idle, oldest("active", limit)],
        at: `${at}m`,
        firing: [{ severity: "warning", labels: { ...exporter, datname: "auth" }, value: limit + 60 * at }],
      },
      // It crosses the limit one minute before `at`: pending, not yet firing.
      { name: "a transaction that only just crossed the limit stays silent", series: [idle, oldest("active", limit - 60 * (at - 1))], at: `${at}m`, firing: [] },
      { name: "young transactions stay silent", series: [idle, input("pg_stat_activity_max_tx_duration", { ...exporter, datname: "auth", state: "active" }, gauge(below(limit), steps))], at: `${at}m`, firing: [] },
      { name: "old idle connections (no transaction) stay silent", series: [input("pg_stat_activity_max_tx_duration", { ...exporter, datname: "auth", state: "idle" }, gauge(limit * 10, steps))], at: `${at}m`, firing: [] },
    ],
  };
}
