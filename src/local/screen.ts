/** What the supervisor prints: the screen once the stack is up, and one block per notification. */
import { existsSync } from "node:fs";
import { join, relative } from "node:path";
import type { Settings } from "../settings";
import { JOBS } from "./jobs";
import { localUrl, LOOPBACK } from "./net";
import { REPO_ROOT } from "./postgres";
import type { Notification } from "./sink";
import type { Layout, Ports } from "./state";

export function formatNotification(n: Notification): string {
  const mark = n.status === "firing" ? "▶ FIRING  " : "✓ RESOLVED";
  const slug = /\/([a-z0-9-]+)\.md$/.exec(n.runbookUrl)?.[1];
  const local = slug && existsSync(join(REPO_ROOT, "runbooks", `${slug}.md`)) ? ` (runbooks/${slug}.md)` : "";
  return [
    `${clock(n.at)} ${mark} ${n.severity || "-"} ${n.alertname} → ${n.receiver}${n.channel ? ` ${n.channel}` : ""}`,
    `           ${n.summary}`,
    `           runbook: ${n.runbookUrl}${local}`,
  ].join("\n");
}

export function clock(ms = Date.now()): string {
  return new Date(ms).toTimeString().slice(0, 8);
}

export function upScreen(s: Settings, l: Layout, ports: Ports, ruleFiles: number): string {
  const rel = (p: string) => relative(process.cwd(), p) || p;
  const row = (what: string, where: string, note = "") => `  ${what.padEnd(20)}${where.padEnd(34)}${note}`;
  const every = (job: keyof typeof JOBS) => `${JOBS[job].everyMs / 60_000}m`;
  return [
    "",
    `authwatch local stack is up (stack "${s.stack}", data in ${rel(l.dir)}/; scrape ${s.scrapeInterval}, evaluate ${s.evaluationInterval})`,
    "",
    row("Prometheus", localUrl(ports.prometheus), `${ruleFiles} rule files, alerts: ${localUrl(ports.prometheus)}/classic/alerts (Debian's 2.42 serves its UI under /classic/)`),
    row("Alertmanager", localUrl(ports.alertmanager), "routing of docs/alerts.md, receivers → the sink below"),
    row("demo auth service", localUrl(ports.auth), `/metrics /health; JSON logs → ${rel(l.authLog)}`),
    row("PostgreSQL", `${LOOPBACK}:${ports.postgres}`, `database auth (postgresql://postgres@${LOOPBACK}:${ports.postgres}/auth)`),
    row("Pushgateway", localUrl(ports.pushgateway), "pg-backup, restore-verify, token-cleanup push here"),
    row("blackbox exporter", localUrl(ports.blackbox), `probes ${localUrl(ports.auth)}/health (job ${s.scrapeJobs.authHealth})`),
    row("postgres_exporter", localUrl(ports.postgresExporter), `job ${s.scrapeJobs.postgres}`),
    row("database jobs", `backup every ${every("backup")}`, `restore-verify every ${every("restore-verify")}, token-cleanup every ${every("token-cleanup")}; log ${rel(l.log("jobs"))}`),
    row("notification sink", localUrl(ports.sink), `Slack, PagerDuty and dead man's switch stand-ins; also ${rel(l.notifications)}`),
    "",
    "Notifications appear below as Alertmanager delivers them (alert, severity, receiver, summary, runbook).",
    "In another terminal:  npm run local -- status | drill <scenario> | drill all | down",
    "Loki and Grafana are not part of the local stack (docs/local.md). Ctrl-C stops everything; data stays for the next start.",
    "",
  ].join("\n");
}
