/** How long Loki keeps each log stream (the selectors are the log shipper's stream labels). */
import type { LogRetention } from "../src/model";
import type { Settings } from "../src/settings";

/** Security events 1 year, other auth logs 90 days (seed 003). The default period covers the rest. */
export function logRetention(s: Settings): LogRetention {
  return {
    defaultDays: s.loki.appRetentionDays,
    streams: [
      { selector: `{category="security"}`, days: s.loki.securityRetentionDays, why: "security events: compliance, 1 year" },
      { selector: `{app="auth", category="app"}`, days: s.loki.appRetentionDays, why: "other auth logs: 90 days" },
    ],
  };
}
