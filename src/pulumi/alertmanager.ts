/**
 * Alertmanager's configuration, as rendered by synth, delivered the way the
 * Prometheus operator reads it: the configuration Secret (`alertmanager.yaml`
 * and the templates, which the operator mounts at /etc/alertmanager/config,
 * routing.templatesDir), and the receivers' secrets in a Secret of their own,
 * mounted at /etc/alertmanager/secrets/<name> = routing.secretsDir, one file
 * per key (the configuration's `*_file` references). Secret values come from
 * the stack's Pulumi secrets only.
 */
import * as path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Settings } from "../settings";
import type { Rendered } from "../synth";
import { metadata, secretConfig } from "./cluster";
import { receiverSecrets } from "./preflight";

/** The Secret alertmanagerSpec.configSecret names. */
export const ALERTMANAGER_CONFIG_SECRET = "alertmanager-config";
const CONFIG_FILE = "alertmanager/alertmanager.yaml";
const TEMPLATES = "alertmanager/templates/";

/** The receivers' Secret: the last segment of routing.secretsDir (settings ensure it is a Kubernetes name). */
export function receiversSecretName(s: Settings): string {
  return path.posix.basename(s.routing.secretsDir.replace(/\/+$/, ""));
}

/** The configuration Secret's data: alertmanager.yaml and every template, byte for byte as synth renders them. */
export function alertmanagerConfigData(rendered: Rendered): Record<string, string> {
  const config = rendered.files.get(CONFIG_FILE);
  if (config === undefined) throw new Error(`synth rendered no ${CONFIG_FILE}`);
  const templates = [...rendered.files].filter(([f]) => f.startsWith(TEMPLATES)).map(([f, text]) => [f.slice(TEMPLATES.length), text] as const);
  return Object.fromEntries([["alertmanager.yaml", config], ...templates]);
}

export class AlertmanagerConfig extends pulumi.ComponentResource {
  readonly configSecretName = ALERTMANAGER_CONFIG_SECRET;
  readonly receiversSecretName: string;

  constructor(name: string, args: { settings: Settings; rendered: Rendered }, opts?: pulumi.ComponentResourceOptions) {
    super("authwatch:alertmanager:Configuration", name, {}, opts);
    const s = args.settings;
    this.receiversSecretName = receiversSecretName(s);
    new k8s.core.v1.Secret(
      ALERTMANAGER_CONFIG_SECRET,
      { metadata: metadata(s, ALERTMANAGER_CONFIG_SECRET, "alertmanager"), type: "Opaque", stringData: alertmanagerConfigData(args.rendered) },
      { parent: this },
    );
    new k8s.core.v1.Secret(
      this.receiversSecretName,
      {
        metadata: metadata(s, this.receiversSecretName, "alertmanager"),
        type: "Opaque",
        stringData: Object.fromEntries([...receiverSecrets(args.rendered.routing).keys()].map((key) => [key, secretConfig(key)])),
      },
      { parent: this },
    );
    this.registerOutputs({ configSecretName: this.configSecretName, receiversSecretName: this.receiversSecretName });
  }
}
