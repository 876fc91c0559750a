/**
 * What `pulumi up` needs beyond valid settings, checked before any resource is
 * registered: a cluster block (the local stack is run by `npm run local`), and
 * every secret the deployed artifacts refer to (read from the routing tree
 * synth rendered them from), and the deployer's acknowledgement that
 * cert-manager is installed where the stack relies on it (a setting, not a
 * cluster query: preview and the tests need no cluster access, and the
 * failure names the file and key before any resource is registered). synth does not need secrets; a deployment does,
 * so this check lives in the Pulumi layer.
 */
import type { ReceiverName, RoutingTree } from "../../alerts/routing";
import { databaseJobSecrets } from "./database";
import { PROJECT, rollbackDrillRuns, SettingsError, type ClusterSecretKey, type SecretKey, type Settings } from "../settings";

/** The receivers' secrets the rendered Alertmanager configuration reads as files, with the receiver that needs each. */
export function receiverSecrets(tree: RoutingTree): Map<SecretKey, ReceiverName> {
  const out = new Map<SecretKey, ReceiverName>();
  for (const r of tree.receivers) {
    const i = r.integration;
    const key = i.kind === "pagerduty" ? i.routingKey : i.kind === "slack" ? i.webhookUrl : i.kind === "webhook" ? i.bearerToken : i.kind === "email" ? tree.global.smtp?.authPassword : undefined;
    if (key && !out.has(key)) out.set(key, r.name);
  }
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** The cluster delivery's required secrets, with what needs each. */
export function clusterSecrets(s: Settings): Map<ClusterSecretKey, string> {
  const out = new Map<ClusterSecretKey, string>([
    ...databaseJobSecrets(),
    ["postgresExporterDsn", "postgres_exporter (DATA_SOURCE_NAME)"],
    ["restoreVerifyTargetUrl", "the restore verification (RESTORE_VERIFY_TARGET_URL: a server other than the production database's, where the scratch database is created)"],
  ]);
  if (s.cluster?.grafana.enabled) out.set("grafanaAdminPassword", "the chart's Grafana (admin password)");
  if (s.grafana.postgres) out.set("grafanaPostgresPassword", `the PostgreSQL data source of the rollback annotations (grafana.postgres.user ${s.grafana.postgres.user})`);
  if (rollbackDrillRuns(s)) out.set("rollbackDrillDatabaseUrl", "the rollback-drill CronJob (DATABASE_URL: the stack's database, read-only)");
  if (s.remoteWrite && s.remoteWrite.auth !== "none") out.set("remoteWriteCredential", `remote_write to ${s.remoteWrite.url} (${s.remoteWrite.auth === "basic" ? "basic-auth password" : "bearer token"})`);
  return out;
}

/** What asks cert-manager for certificates, by setting (empty: the stack does not need cert-manager). */
export function certManagerUsers(s: Settings): string[] {
  const c = s.cluster;
  if (!c) return [];
  const users = c.admissionWebhooks === "cert-manager" ? ["cluster.admissionWebhooks = cert-manager (the operator's webhook certificate)"] : [];
  const annotations = Object.keys(c.ingress.annotations).filter((k) => k.startsWith("cert-manager.io/"));
  if (c.ingress.enabled && annotations.length > 0) users.push(`cluster.ingress.annotations (${annotations.join(", ")})`);
  return users;
}

export function deploymentProblems(s: Settings, tree: RoutingTree): string[] {
  if (!s.cluster) {
    return [
      s.environment === "local"
        ? `${PROJECT}:cluster: stack ${s.stack} has no cluster settings (the local stack runs with \`npm run local\`, not \`pulumi up\`)`
        : `${PROJECT}:cluster: required to deploy stack ${s.stack}: at least charts.kubePrometheusStack, charts.loki, charts.alloy and jobs.image (docs/deploy.md)`,
    ];
  }
  const missing = (key: string, what: string) =>
    `${PROJECT}:${key}: required by ${what}; set it with \`pulumi config set --secret ${PROJECT}:${key} <value>\``;
  const problems: string[] = [];
  for (const [key, receiver] of receiverSecrets(tree)) if (!s.secrets[key]) problems.push(missing(key, `receiver ${receiver}`));
  for (const [key, what] of clusterSecrets(s)) if (!s.clusterSecrets[key]) problems.push(missing(key, what));
  // Without cert-manager the chart's Issuers and Certificates are refused and the webhooks fail closed: say so before anything is applied.
  const users = certManagerUsers(s);
  if (users.length > 0 && s.cluster.certManager !== "installed") {
    problems.push(
      `${PROJECT}:cluster.certManager: required by ${users.join(" and ")}: install cert-manager in the cluster (docs/deploy.md "cert-manager"), then set cluster.certManager: installed in the stack file`,
    );
  }
  return problems;
}

/** Throws a SettingsError naming the stack file and every missing key; registers nothing. */
export function assertDeployable(s: Settings, tree: RoutingTree, file: string): void {
  const problems = deploymentProblems(s, tree);
  if (problems.length > 0) throw new SettingsError(file, problems);
}
