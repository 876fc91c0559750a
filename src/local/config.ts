/**
 * The local stack's configuration: the local stack's settings with the
 * runner's overrides (receivers on the sink, secrets in the data dir), rendered
 * once by renderStack (src/synth.ts) like every stack, and written where the
 * children read it, with the receivers' secret files and the blackbox module.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fromPrometheusDir, PROMETHEUS_RULES_DIR, type ScrapeAddresses } from "../render/prometheus";
import { SECRET_KEYS, type SecretKey, type Settings } from "../settings";
import { renderStack } from "../synth";
import { localUrl, LOOPBACK } from "./net";
import { blackboxConfig } from "./services";
import type { Layout, Ports } from "./state";

export const LOCAL_STACK = "local";

/** The local stack's settings as the runner uses them: secrets as files in the data dir, receivers on the sink. */
export function runtimeSettings(base: Settings, l: Layout, ports: Ports): Settings {
  const s = structuredClone(base) as Settings;
  const sink = localUrl(ports.sink);
  s.routing.secretsDir = l.secrets;
  s.routing.pagerdutyUrl = `${sink}/pagerduty`;
  s.routing.deadMansSwitchUrl = `${sink}/deadmansswitch`;
  return s;
}

export function scrapeTargets(ports: Ports): ScrapeAddresses {
  const at = (p: number) => `${LOOPBACK}:${p}`;
  return {
    auth: at(ports.auth),
    blackbox: at(ports.blackbox),
    healthUrl: `${localUrl(ports.auth)}/health`,
    postgresExporter: at(ports.postgresExporter),
    pushgateway: at(ports.pushgateway),
    prometheus: at(ports.prometheus),
    alertmanager: at(ports.alertmanager),
  };
}

/** Write every configuration file the children read (`s` from runtimeSettings). Returns the number of rule files. */
export function writeConfigs(s: Settings, l: Layout, ports: Ports): number {
  const rendered = renderStack(s, { scrapeTargets: scrapeTargets(ports) });
  // What each program reads from the render; the rule directory is replaced, so that a removed group is gone.
  const into: Record<string, string> = { prometheus: l.prometheus, alertmanager: l.alertmanager };
  rmSync(join(l.prometheus, fromPrometheusDir(PROMETHEUS_RULES_DIR)), { recursive: true, force: true });
  let ruleFiles = 0;
  for (const [rel, content] of rendered.files) {
    const [top = "", ...rest] = rel.split("/");
    const dir = into[top];
    if (!dir) continue;
    const file = join(dir, ...rest);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
    if (rel.startsWith(PROMETHEUS_RULES_DIR)) ruleFiles++;
  }
  writeSecrets(l, ports);
  mkdirSync(l.blackbox, { recursive: true });
  writeFileSync(join(l.blackbox, "blackbox.yml"), blackboxConfig());
  return ruleFiles;
}

/** The receivers' secrets, as files under routing.secretsDir: the Slack webhooks point at the sink. */
function writeSecrets(l: Layout, ports: Ports): void {
  mkdirSync(l.secrets, { recursive: true, mode: 0o700 });
  const sink = localUrl(ports.sink);
  const secrets: Record<SecretKey, string> = {
    slackAuthWebhookUrl: `${sink}/slack-auth`,
    slackSecurityWebhookUrl: `${sink}/slack-security`,
    pagerdutyRoutingKey: "local-routing-key",
    smtpPassword: "local-smtp-password",
    deadMansSwitchToken: "local-dead-mans-switch-token",
  };
  for (const key of SECRET_KEYS) writeFileSync(join(l.secrets, key), secrets[key], { mode: 0o600 });
}
