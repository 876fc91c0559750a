/**
 * The Pulumi program. Settings are read and validated once, here; a bad
 * setting or definition throws before any resource is registered. The program
 * only places rendered artifacts into resources: it never builds a rule itself.
 */
import { settingsFromEngine } from "./src/pulumi/settings";
import { renderStack } from "./src/synth";

const settings = settingsFromEngine();
const rendered = renderStack(settings);

/** The Prometheus rule groups this stack deploys (file name → rendered YAML), byte-identical to synth's. */
export const prometheusRuleGroups = Object.fromEntries([...rendered.files].filter(([file]) => file.startsWith("prometheus/rules/")));
export const alertmanagerConfig = rendered.files.get("alertmanager/alertmanager.yaml");
export const alertRuleCount = rendered.summary.alerts.rules;
export const environment = settings.environment;
