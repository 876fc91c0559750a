/**
 * docs/alerts.md "Routing", written out independently of alerts/routing.ts:
 * the receivers an alert must reach. amtool's routing test and the drills
 * check the rendered Alertmanager against this.
 */
export type Labels = Readonly<Record<string, string>>;

export function contractReceivers(l: Labels, chatOnly = false): string[] {
  if (chatOnly) return [l.alertname === "Watchdog" ? "blackhole" : "slack-auth"];
  if (l.alertname === "Watchdog") return ["deadmansswitch"];
  if (l.severity === "critical") {
    // A page's copy in chat: security to its channel; meta (a failing PagerDuty, say) where on-call reads.
    if (l.category === "security") return ["slack-security", "pagerduty-critical"];
    if (l.category === "meta") return ["slack-auth", "pagerduty-critical"];
    return ["pagerduty-critical"];
  }
  if (l.severity === "warning") return [l.category === "security" ? "slack-security" : "slack-auth"];
  if (l.severity === "info") return ["email-oncall"];
  return ["slack-auth"];
}

/** Alerts that silence others while they fire (docs/alerts.md "Inhibition"): an availability alert never silences a security one. */
export function inhibitorsOf(l: Labels): { alertname: string; severity?: string }[] {
  const out: { alertname: string; severity?: string }[] = [];
  if (l.severity === "warning" || l.severity === "info") out.push({ alertname: l.alertname!, severity: "critical" });
  if (l.category === "security") return out;
  if (l.service === "auth" && l.alertname !== "AuthServiceDown") out.push({ alertname: "AuthServiceDown" });
  if (l.service === "postgres" && l.alertname !== "DatabaseDown") out.push({ alertname: "DatabaseDown" });
  return out;
}
