/**
 * Grafana Alloy's configuration (the log shipper of stacks deployed to a
 * cluster): pod logs of the auth service and PostgreSQL, with the stream labels
 * of docs/telemetry.md "Logs", to Loki. It holds the rule that decides
 * which lines are security events (category="security", kept a year): the
 * auth service's SECURITY_LOG_EVENTS, read from the line's `evt`; every other
 * line is category="app". That rule is a LogQL selector, checked here before
 * anything is written.
 */
import { parser as logqlParser } from "@grafana/lezer-logql";
import type { Settings } from "../settings";
import { clusterSettings, inClusterUrls } from "../incluster";
import { LOG_EVENTS, SECURITY_LOG_EVENTS, type LogApp, type LogCategory } from "../telemetry";
import { CatalogError, syntaxErrors } from "../validate";
import { GENERATED } from "./yaml";

/** Where synth writes it; the Pulumi layer places it in the chart's ConfigMap. */
export const ALLOY_CONFIG_FILE = "alloy/config.alloy";
/** The block and field of the security-event rule, for error messages. */
const SECURITY_RULE = 'loki.process "auth": stage.match selector';

/** A River string literal. */
const river = (v: string) => JSON.stringify(v);
/** Prometheus meta label of a pod label (non-alphanumerics become _). */
const podLabelMeta = (key: string) => `__meta_kubernetes_pod_label_${key.replace(/[^A-Za-z0-9_]/g, "_")}`;
const reEscape = (v: string) => v.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The LogQL stream selector (on a temporary `evt` label) that marks a line a security event. */
export function securityEventSelector(events: readonly string[] = SECURITY_LOG_EVENTS): string {
  const alternatives = events.map(reEscape).join("|");
  // Inside a LogQL string literal a backslash is written twice.
  return `{evt=~"${alternatives.replace(/\\/g, "\\\\")}"}`;
}

/**
 * Problems with the security-event selector: it must parse as LogQL, be a bare
 * stream selector with one regex matcher on `evt`, and its regex (anchored, as
 * LogQL anchors it) must match exactly `events` among the contract's events.
 */
export function securityEventSelectorProblems(selector: string, events: readonly string[] = SECURITY_LOG_EVENTS): string[] {
  const tree = logqlParser.parse(selector);
  const syntax = syntaxErrors(tree, selector);
  if (syntax.length > 0) return syntax;
  const log = tree.topNode.firstChild?.firstChild;
  if (!log || log.name !== "LogExpr" || log.firstChild?.name !== "Selector" || log.firstChild.nextSibling) return ["is not a bare stream selector"];
  const matchers: { label: string; op: string; value: string }[] = [];
  log.firstChild.cursor().iterate((c) => {
    if (c.name !== "Matcher") return;
    const [id, op, str] = [c.node.firstChild, c.node.firstChild?.nextSibling, c.node.lastChild];
    if (id && op && str) matchers.push({ label: selector.slice(id.from, id.to), op: selector.slice(op.from, op.to), value: selector.slice(str.from, str.to) });
  });
  const [m] = matchers;
  if (matchers.length !== 1 || !m || m.label !== "evt" || m.op !== "=~") return ['must have exactly one matcher, evt=~"…"'];
  let re: RegExp;
  try {
    re = new RegExp(`^(?:${JSON.parse(m.value) as string})$`);
  } catch (e) {
    return [`evt=~${m.value}: ${(e as Error).message}`];
  }
  const wanted = new Set(events);
  const problems: string[] = [];
  for (const evt of new Set([...events, ...LOG_EVENTS])) {
    if (re.test(evt) !== wanted.has(evt)) problems.push(`${wanted.has(evt) ? "misses" : "also matches"} the event "${evt}"`);
  }
  // Every event of the contract may be a security event: near misses stand for the lines that are not.
  const nearMisses = [...wanted].flatMap((evt) => [`x${evt}`, `${evt}x`, evt.replace(".", "X")]).filter((e) => !wanted.has(e));
  for (const near of new Set(nearMisses)) if (re.test(near)) problems.push(`also matches "${near}", which is not an event of the list`);
  return problems;
}

function keepRules(namespace: string, selector: Readonly<Record<string, string>>, container?: string): string[] {
  const keep = (source: string, value: string) => `  rule {\n    source_labels = [${river(source)}]\n    regex         = ${river(reEscape(value))}\n    action        = "keep"\n  }`;
  return [
    keep("__meta_kubernetes_namespace", namespace),
    ...Object.entries(selector).map(([k, v]) => keep(podLabelMeta(k), v)),
    ...(container ? [keep("__meta_kubernetes_pod_container_name", container)] : []),
  ];
}

const staticCategory = (category: LogCategory, indent = "  ") =>
  `${indent}stage.static_labels {\n${indent}  values = { category = ${river(category)} }\n${indent}}`;

/**
 * The configuration for a stack with a cluster block. `securityEvents` is the
 * contract's list; another list is for proving the check.
 */
export function renderAlloyConfig(s: Settings, securityEvents: readonly string[] = SECURITY_LOG_EVENTS): string {
  const selector = securityEventSelector(securityEvents);
  const problems = securityEventSelectorProblems(selector, securityEvents);
  if (problems.length > 0) throw new CatalogError(problems.map((p) => `${ALLOY_CONFIG_FILE}: ${SECURITY_RULE} ${selector}: ${p}`));

  const c = clusterSettings(s);
  const pg = c.postgresLogs;
  const namespaces = [s.authWorkload.namespace, ...(pg.enabled ? [pg.namespace] : [])];
  const streamLabels = (app: LogApp) => [
    `  rule {\n    target_label = "app"\n    replacement  = ${river(app)}\n  }`,
    `  rule {\n    source_labels = ["__meta_kubernetes_namespace"]\n    target_label  = "namespace"\n  }`,
    `  rule {\n    target_label = "env"\n    replacement  = ${river(s.environment)}\n  }`,
  ];
  const clustering = c.logShipper.replicas > 1 ? "\n  clustering {\n    enabled = true\n  }" : "";
  const source = (app: LogApp, rules: string[]) => [
    `discovery.relabel ${river(app)} {\n  targets = discovery.kubernetes.pods.targets\n${[...rules, ...streamLabels(app)].join("\n")}\n}`,
    `loki.source.kubernetes ${river(app)} {\n  targets    = discovery.relabel.${app}.output\n  forward_to = [loki.process.${app}.receiver]${clustering}\n}`,
  ];
  const blocks = [
    `// ${GENERATED}\n// Grafana Alloy for stack ${s.stack}. Stream labels: docs/telemetry.md "Logs"; category "security" for the auth service's security events (retention: loki/limits.yaml).`,
    `discovery.kubernetes "pods" {\n  role = "pod"\n  namespaces {\n    names = [${namespaces.map(river).join(", ")}]\n  }\n}`,
    ...source("auth", keepRules(s.authWorkload.namespace, c.auth.podSelector, s.authWorkload.container)),
    // category: `evt` is a label only for the match, then dropped; the contract keeps stream labels few and bounded.
    `loki.process "auth" {\n  forward_to = [loki.write.loki.receiver]\n  stage.json {\n    expressions = { evt = "evt" }\n  }\n  stage.labels {\n    values = { evt = "" }\n  }\n${staticCategory("app")}\n  stage.match {\n    selector = ${river(selector)}\n${staticCategory("security", "    ")}\n  }\n  stage.label_drop {\n    values = ["evt"]\n  }\n}`,
    ...(pg.enabled
      ? [...source("postgres", keepRules(pg.namespace, pg.podSelector)), `loki.process "postgres" {\n  forward_to = [loki.write.loki.receiver]\n${staticCategory("app")}\n}`]
      : []),
    // Loki authenticates a tenant (X-Scope-OrgID): settings loki.tenant, the one Grafana and the ruler use.
    `loki.write "loki" {\n  endpoint {\n    url       = ${river(`${inClusterUrls(s).lokiPush}/loki/api/v1/push`)}\n    tenant_id = ${river(s.loki.tenant)}\n  }\n}`,
  ];
  return `${blocks.join("\n\n")}\n`;
}
