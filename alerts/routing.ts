/**
 * The Alertmanager routing tree (docs/alerts.md "Routing") as typed data,
 * with Alertmanager's globals. Receiver names are a public interface; secrets
 * appear only as keys (the renderer turns them into file paths).
 */
import type { Settings, SecretKey } from "../src/settings";

export const RECEIVERS = ["pagerduty-critical", "slack-auth", "slack-security", "email-oncall", "deadmansswitch", "blackhole"] as const;
export type ReceiverName = (typeof RECEIVERS)[number];

export type Integration =
  | { readonly kind: "pagerduty"; readonly routingKey: SecretKey }
  | { readonly kind: "slack"; readonly webhookUrl: SecretKey; readonly channel: string }
  | { readonly kind: "email"; readonly to: string }
  | { readonly kind: "webhook"; readonly url: string; readonly bearerToken: SecretKey }
  | { readonly kind: "none" };

export interface Receiver {
  readonly name: ReceiverName;
  readonly integration: Integration;
}

export interface Timing {
  readonly groupWait?: string;
  readonly groupInterval?: string;
  readonly repeatInterval?: string;
}

export interface Route extends Timing {
  readonly receiver: ReceiverName;
  /** Label matchers in Alertmanager syntax, e.g. `severity="critical"`. */
  readonly matchers: readonly string[];
  readonly continue?: boolean;
  readonly muteTimeIntervals?: readonly string[];
}

export interface InhibitRule {
  readonly source: readonly string[];
  readonly target: readonly string[];
  readonly equal: readonly string[];
}

export interface TimeInterval {
  readonly name: string;
  readonly weekdays: readonly string[];
  readonly start: string;
  readonly end: string;
  readonly location: string;
}

/** Alertmanager's `global` block: when an alert that stopped updating resolves, and the integrations' endpoints. */
export interface Globals {
  readonly resolveTimeout: string;
  /** Set when a receiver pages through PagerDuty. */
  readonly pagerdutyUrl?: string;
  /** Set when a receiver sends e-mail; the password is a secret, read from a file. */
  readonly smtp?: {
    readonly smarthost: string;
    readonly from: string;
    readonly authUsername: string;
    readonly authPassword: SecretKey;
    readonly requireTls: boolean;
  };
}

export interface RoutingTree {
  readonly global: Globals;
  readonly receivers: readonly Receiver[];
  readonly root: Timing & { readonly receiver: ReceiverName; readonly groupBy: readonly string[] };
  readonly routes: readonly Route[];
  readonly inhibitRules: readonly InhibitRule[];
  readonly timeIntervals: readonly TimeInterval[];
}

export const GROUP_BY = ["alertname", "service"] as const;
export const MAINTENANCE = "maintenance-window";

/**
 * Response times of seed 001: critical within minutes, warning within 30 min, info within hours.
 * A critical group's group_interval is 1m: a new alert joining a group whose earlier alert just
 * resolved (Alertmanager keeps the group, and re-creates it each time Prometheus re-sends the
 * resolved alert) waits for it, and a second incident must page within a minute, not five.
 */
const CRITICAL: Timing = { groupWait: "10s", groupInterval: "1m", repeatInterval: "1h" };
const WARNING: Timing = { repeatInterval: "4h" };
const INFO: Timing = { repeatInterval: "24h" };
const WATCHDOG: Timing = { groupWait: "0s", groupInterval: "1m", repeatInterval: "1m" };

// Every rule also requires the same `env` (Prometheus' external label, and Loki's ruler's), so
// that one Alertmanager serving several environments never lets staging silence prod.
const inhibitRules: InhibitRule[] = [
  // A firing critical makes its own warning/info redundant.
  { source: ['severity="critical"'], target: ['severity=~"warning|info"'], equal: ["alertname", "service", "env"] },
  // When the service or its database is down, their symptoms are noise; a security signal is not
  // (a flapping health probe must never hide a stolen token).
  { source: ['alertname="AuthServiceDown"'], target: ['service="auth"', 'alertname!="AuthServiceDown"', 'category!="security"'], equal: ["env"] },
  { source: ['alertname="DatabaseDown"'], target: ['service="postgres"', 'alertname!="DatabaseDown"', 'category!="security"'], equal: ["env"] },
];

/** What the receivers need globally; only the integrations a receiver uses. */
function globals(r: Settings["routing"], receivers: readonly Receiver[]): Globals {
  const uses = (kind: Integration["kind"]) => receivers.some((x) => x.integration.kind === kind);
  return {
    resolveTimeout: "5m",
    ...(uses("pagerduty") ? { pagerdutyUrl: r.pagerdutyUrl } : {}),
    ...(uses("email") ? { smtp: { smarthost: r.smtpSmarthost, from: r.emailFrom, authUsername: r.smtpAuthUsername, authPassword: "smtpPassword", requireTls: true } } : {}),
  };
}

export function routingTree(s: Settings): RoutingTree {
  const r = s.routing;
  const w = r.maintenanceWindow;
  const timeIntervals: TimeInterval[] = w.enabled ? [{ name: MAINTENANCE, weekdays: [w.weekday], start: w.start, end: w.end, location: w.location }] : [];
  const muted = w.enabled ? { muteTimeIntervals: [MAINTENANCE] } : {};
  const slackAuth: Receiver = { name: "slack-auth", integration: { kind: "slack", webhookUrl: "slackAuthWebhookUrl", channel: r.slackAuthChannel } };
  const blackhole: Receiver = { name: "blackhole", integration: { kind: "none" } };
  const root = { receiver: "slack-auth" as const, groupBy: GROUP_BY, groupWait: "30s", groupInterval: "5m", repeatInterval: "4h" };

  if (r.mode === "chat-only") {
    // dev: one chat channel for everything, nothing pages, Watchdog stays quiet.
    const receivers = [slackAuth, blackhole];
    return {
      global: globals(r, receivers),
      receivers,
      root,
      routes: [
        { receiver: "blackhole", matchers: ['alertname="Watchdog"'] },
        // The maintenance window never mutes a security alert.
        { receiver: "slack-auth", matchers: ['severity=~"warning|info"', 'category="security"'] },
        { receiver: "slack-auth", matchers: ['severity=~"warning|info"'], ...muted },
      ],
      inhibitRules,
      timeIntervals,
    };
  }

  const receivers: Receiver[] = [
    { name: "pagerduty-critical", integration: { kind: "pagerduty", routingKey: "pagerdutyRoutingKey" } },
    slackAuth,
    { name: "slack-security", integration: { kind: "slack", webhookUrl: "slackSecurityWebhookUrl", channel: r.slackSecurityChannel } },
    { name: "email-oncall", integration: { kind: "email", to: r.emailTo } },
    { name: "deadmansswitch", integration: { kind: "webhook", url: r.deadMansSwitchUrl, bearerToken: "deadMansSwitchToken" } },
    blackhole,
  ];
  return {
    global: globals(r, receivers),
    receivers,
    root,
    routes: [
      { receiver: "deadmansswitch", matchers: ['alertname="Watchdog"'], ...WATCHDOG },
      // Security pages also reach the security channel, and meta pages (a failing PagerDuty) the
      // team's channel: matched first, then on to PagerDuty.
      { receiver: "slack-security", matchers: ['severity="critical"', 'category="security"'], continue: true, ...CRITICAL },
      { receiver: "slack-auth", matchers: ['severity="critical"', 'category="meta"'], continue: true, ...CRITICAL },
      { receiver: "pagerduty-critical", matchers: ['severity="critical"'], ...CRITICAL },
      // The maintenance window mutes warning and info, never a security alert.
      { receiver: "slack-security", matchers: ['severity="warning"', 'category="security"'], ...WARNING },
      { receiver: "slack-auth", matchers: ['severity="warning"'], ...WARNING, ...muted },
      { receiver: "email-oncall", matchers: ['severity="info"', 'category="security"'], ...INFO },
      { receiver: "email-oncall", matchers: ['severity="info"'], ...INFO, ...muted },
    ],
    inhibitRules,
    timeIntervals,
  };
}
