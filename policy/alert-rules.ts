/**
 * Every alerting rule of a PrometheusRule carries what on-call needs to act:
 * labels.severity (routing), and annotations summary, description and
 * runbook_url (docs/alerts.md). Recording rules are not checked.
 */
export const PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule";

export const REQUIRED = { labels: ["severity"], annotations: ["summary", "description", "runbook_url"] } as const;

const filled = (v: unknown) => typeof v === "string" && v.trim() !== "";

/** One message per alerting rule that lacks a required label or annotation. */
export function alertRuleProblems(props: Record<string, any>): string[] {
  const problems: string[] = [];
  const groups: any[] = Array.isArray(props?.spec?.groups) ? props.spec.groups : [];
  for (const group of groups) {
    const rules: any[] = Array.isArray(group?.rules) ? group.rules : [];
    for (const rule of rules) {
      if (rule?.alert === undefined) continue;
      const missing = [
        ...REQUIRED.labels.filter((k) => !filled(rule.labels?.[k])).map((k) => `labels.${k}`),
        ...REQUIRED.annotations.filter((k) => !filled(rule.annotations?.[k])).map((k) => `annotations.${k}`),
      ];
      if (missing.length > 0) problems.push(`group ${group.name}, alert ${rule.alert}: missing ${missing.join(", ")}`);
    }
  }
  return problems;
}
