/**
 * One PrometheusRule per rendered rule group (alerts, recording rules, SLO
 * rules): its spec is exactly the `groups:` document synth writes to
 * prometheus/rules/<group>.yaml, labelled for the operator's ruleSelector.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as yaml from "js-yaml";
import type { Settings } from "../settings";
import type { Rendered } from "../synth";
import { PROMETHEUS_RULES_DIR as RULES_DIR } from "../render/prometheus";
import { metadata, OPERATOR_SELECTOR } from "./cluster";

export interface RuleGroupDocument {
  readonly groups: readonly { readonly name: string; readonly rules: readonly Record<string, unknown>[] }[];
}

/** Group file name (without .yaml) → the parsed rule file, in synth's order. */
export function prometheusRuleSpecs(rendered: Rendered): Map<string, RuleGroupDocument> {
  const out = new Map<string, RuleGroupDocument>();
  for (const [file, text] of rendered.files) {
    if (!file.startsWith(RULES_DIR) || !file.endsWith(".yaml")) continue;
    out.set(file.slice(RULES_DIR.length, -".yaml".length), yaml.load(text, { schema: yaml.CORE_SCHEMA }) as RuleGroupDocument);
  }
  return out;
}

export const alertingRuleCount = (docs: Iterable<RuleGroupDocument>): number =>
  [...docs].reduce((n, d) => n + d.groups.reduce((m, g) => m + g.rules.filter((r) => "alert" in r).length, 0), 0);

export class AlertRules extends pulumi.ComponentResource {
  /** PrometheusRule names (= rule groups). */
  readonly groups: string[];
  /** Alerting rules deployed (each severity tier counts). */
  readonly alertRules: number;

  constructor(name: string, args: { settings: Settings; rendered: Rendered }, opts?: pulumi.ComponentResourceOptions) {
    super("authwatch:prometheus:AlertRules", name, {}, opts);
    const specs = prometheusRuleSpecs(args.rendered);
    for (const [group, spec] of specs) {
      new k8s.apiextensions.CustomResource(
        group,
        {
          apiVersion: "monitoring.coreos.com/v1",
          kind: "PrometheusRule",
          metadata: metadata(args.settings, group, "alert-rules", { labels: { ...OPERATOR_SELECTOR } }),
          spec,
        },
        { parent: this },
      );
    }
    this.groups = [...specs.keys()];
    this.alertRules = alertingRuleCount(specs.values());
    this.registerOutputs({ groups: this.groups, alertRules: this.alertRules });
  }
}
