/**
 * Render everything one stack deploys, as relative path → file content.
 * Pure apart from reading the repository's runbooks and migrations: the CLI,
 * the tests and the Pulumi program all call this one function.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import type { Settings } from "./settings";
import { lokiRuleGroups, prometheusRuleGroups, PROCEDURE_RUNBOOKS } from "../alerts/index";
import { RECEIVERS, routingTree, type RoutingTree } from "../alerts/routing";
import { logRetention } from "../alerts/retention";
import { CatalogError, runbookQueryProblems, validateCatalog } from "./validate";
import { PROMETHEUS_CONFIG_FILE, prometheusRuleFile, renderLogRuleFile, renderPrometheusConfig, renderRuleFile, type ScrapeAddresses } from "./render/prometheus";
import { renderAlertmanagerConfig, renderTemplates, TEMPLATE_FILE } from "./render/alertmanager";
import { renderLokiLimits } from "./render/loki";
import { ALLOY_CONFIG_FILE, renderAlloyConfig } from "./render/alloy";
import { RUNBOOKS_DIR, runbookSlugs } from "./render/runbooks";
import { SEVERITIES } from "./model";
import { buildDashboards } from "../dashboards/index";
import { DASHBOARD_UIDS } from "../dashboards/uids";
import { dashboardProblems } from "./dashboards/validate";
import { linkAlerts, type LinkedRules } from "./dashboards/links";
import { dashboardFile, renderDashboardJson } from "./render/grafana";

export const REPO_ROOT = path.resolve(__dirname, "..");
const MIGRATIONS_DIR = path.join(REPO_ROOT, "postgres", "migrations");
/** The database jobs and their shared library (they load lib.sh from their own directory). */
const JOBS_DIR = path.join(REPO_ROOT, "postgres", "jobs");

export interface Rendered {
  /** Relative path (POSIX separators) → content, in a stable order. */
  readonly files: ReadonlyMap<string, string>;
  readonly summary: Summary;
  /** The routing tree alertmanager.yaml is rendered from (the Pulumi layer reads the receivers' secrets from it). */
  readonly routing: RoutingTree;
  /** The rule groups as rendered: each alerting rule linked to the panel its dashboard_url opens. */
  readonly rules: LinkedRules;
}

export interface Summary {
  readonly stack: string;
  readonly environment: string;
  readonly alerts: {
    readonly names: readonly string[];
    readonly rules: number;
    readonly bySeverity: Readonly<Record<string, number>>;
    readonly prometheusRules: number;
    readonly lokiRules: number;
  };
  readonly recordingRules: number;
  readonly ruleGroups: { readonly prometheus: readonly string[]; readonly loki: readonly string[] };
  readonly receivers: readonly string[];
  readonly routes: number;
  readonly runbooks: readonly string[];
  readonly dashboards: readonly string[];
  readonly migrations: readonly string[];
}

function migrationFiles(): string[] {
  return existsSync(MIGRATIONS_DIR) ? readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith(".sql")).sort() : [];
}

function jobScripts(): string[] {
  return existsSync(JOBS_DIR) ? readdirSync(JOBS_DIR).filter((f) => f.endsWith(".sh")).sort() : [];
}

/** `scrapeTargets`: what prometheus.yaml scrapes (default DEFAULT_TARGETS; the local stack passes its own ports). */
export function renderStack(s: Settings, opts: { runbooksDir?: string; scrapeTargets?: ScrapeAddresses } = {}): Rendered {
  const prom = prometheusRuleGroups(s);
  const loki = lokiRuleGroups(s);
  const runbooks = runbookSlugs(opts.runbooksDir ?? RUNBOOKS_DIR);
  validateCatalog({ prometheus: prom, loki, runbooks, procedures: PROCEDURE_RUNBOOKS });
  const runbooksDir = opts.runbooksDir ?? RUNBOOKS_DIR;
  const queryIssues = runbookQueryProblems(
    runbooks.map((slug) => ({ file: `runbooks/${slug}.md`, text: readFileSync(path.join(runbooksDir, `${slug}.md`), "utf8") })),
    new Set(prom.flatMap((g) => g.rules.flatMap((r) => (r.kind === "record" ? [r.record] : [])))),
  );
  if (queryIssues.length > 0) throw new CatalogError(queryIssues);
  const dashboards = buildDashboards(s, prom, loki);
  const dashboardIssues = dashboardProblems({
    dashboards,
    alerts: [...prom.flatMap((g) => g.rules), ...loki.flatMap((g) => g.rules)].filter((r) => r.kind !== "record"),
    records: new Set(prom.flatMap((g) => g.rules.flatMap((r) => (r.kind === "record" ? [r.record] : [])))),
    uids: Object.values(DASHBOARD_UIDS),
  });
  if (dashboardIssues.length > 0) throw new CatalogError(dashboardIssues);
  const rules = linkAlerts({ prometheus: prom, loki }, dashboards);
  const tree = routingTree(s);

  const files = new Map<string, string>();
  for (const g of rules.prometheus) files.set(prometheusRuleFile(g.name), renderRuleFile(s, g));
  files.set(PROMETHEUS_CONFIG_FILE, renderPrometheusConfig(s, prom, opts.scrapeTargets));
  files.set("alertmanager/alertmanager.yaml", renderAlertmanagerConfig(s, tree));
  files.set(`alertmanager/templates/${TEMPLATE_FILE}`, renderTemplates(s));
  for (const g of rules.loki) files.set(`loki/rules/${g.name}.yaml`, renderLogRuleFile(s, g));
  files.set("loki/limits.yaml", renderLokiLimits(s, logRetention(s)));
  // Only a stack deployed to a cluster ships logs (the local stack writes them to a file).
  if (s.cluster) files.set(ALLOY_CONFIG_FILE, renderAlloyConfig(s));
  for (const d of dashboards) files.set(dashboardFile(d.uid), renderDashboardJson(d.model));
  const migrations = migrationFiles();
  for (const m of migrations) files.set(`postgres/migrations/${m}`, readFileSync(path.join(MIGRATIONS_DIR, m), "utf8"));
  for (const job of jobScripts()) files.set(`postgres/jobs/${job}`, readFileSync(path.join(JOBS_DIR, job), "utf8"));

  const alertRules = [...prom.flatMap((g) => g.rules), ...loki.flatMap((g) => g.rules)].filter((r) => r.kind !== "record");
  const summary: Summary = {
    stack: s.stack,
    environment: s.environment,
    alerts: {
      names: [...new Set(alertRules.map((r) => r.alert))].sort(),
      rules: alertRules.length,
      bySeverity: Object.fromEntries(SEVERITIES.map((sev) => [sev, alertRules.filter((r) => r.severity === sev).length])),
      prometheusRules: alertRules.filter((r) => r.kind === "alert").length,
      lokiRules: alertRules.filter((r) => r.kind === "log-alert").length,
    },
    recordingRules: prom.flatMap((g) => g.rules).filter((r) => r.kind === "record").length,
    ruleGroups: { prometheus: prom.map((g) => g.name), loki: loki.map((g) => g.name) },
    receivers: RECEIVERS.filter((name) => tree.receivers.some((r) => r.name === name)),
    routes: tree.routes.length,
    runbooks,
    dashboards: dashboards.map((d) => d.uid),
    migrations,
  };
  files.set("summary.json", `${JSON.stringify(summary, null, 2)}\n`);
  return { files, summary, routing: tree, rules };
}

export class OutDirError extends Error {}

/**
 * Replace `outDir` with exactly the rendered files, or leave it as it was.
 * Only an empty directory or an earlier render (it holds summary.json) is
 * replaced: `--out .` must not wipe a repository. The files are written into a
 * sibling directory first and swapped in whole, so a full disk or a denied
 * write leaves no half-written render behind.
 */
export function writeRendered(files: ReadonlyMap<string, string>, outDir: string): void {
  const fail = (what: string, e: unknown): never => {
    throw new OutDirError(`cannot write ${outDir}: ${what}${e instanceof Error && "code" in e ? ` (${String((e as NodeJS.ErrnoException).code)})` : ""}`);
  };
  if (existsSync(outDir)) {
    if (!statSync(outDir).isDirectory()) fail("it exists and is not a directory", undefined);
    if (readdirSync(outDir).length > 0 && !existsSync(path.join(outDir, "summary.json"))) {
      throw new OutDirError(`${outDir} is neither empty nor an earlier render (no summary.json): refusing to replace it`);
    }
  }
  const staging = `${outDir}.partial-${process.pid}`;
  const cleanUp = () => {
    try {
      rmSync(staging, { recursive: true, force: true });
    } catch {
      // nothing was created there
    }
  };
  try {
    rmSync(staging, { recursive: true, force: true });
    for (const [rel, content] of files) {
      const file = path.join(staging, rel);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, content);
    }
  } catch (e) {
    cleanUp();
    fail("writing the rendered files failed", e);
  }
  try {
    rmSync(outDir, { recursive: true, force: true });
    renameSync(staging, outDir);
  } catch (e) {
    cleanUp();
    fail("replacing the earlier render failed", e);
  }
}
