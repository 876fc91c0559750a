import { parseSettings, type Settings } from "../../src/settings";

/** Receivers a fixture stack names for itself (a stack never borrows another stack's). */
const receivers = (stack: string) => ({
  slackAuthChannel: `#auth-alerts-${stack}`,
  slackSecurityChannel: `#security-alerts-${stack}`,
  emailTo: `auth-oncall-${stack}@example.com`,
  emailFrom: `alertmanager@${stack}.example.com`,
  deadMansSwitchUrl: `https://deadmansswitch.example.com/ping/${stack}`,
});

/**
 * A stack the test states explicitly, parsed as its stack file would be:
 * `config` holds `authwatch:` keys (the values the test's expectations quote),
 * the environment's routing mode and the stack's own receivers are added.
 * Expectations then depend on the fixture, not on today's stack files or defaults.
 */
export function fixtureStack(stack: string, environment: "dev" | "staging" | "prod" | "local", config: Record<string, unknown> = {}): Settings {
  const routing = { mode: environment === "dev" ? "chat-only" : "tiered", ...receivers(stack), ...(config["authwatch:routing"] as object | undefined) };
  return parseSettings(stack, { ...config, "authwatch:environment": environment, "authwatch:routing": routing }, `fixture stack ${stack}`);
}
