/** alertmanager.yaml and its notification templates, from the typed routing tree. */
import type { Settings, SecretKey } from "../settings";
import type { Integration, Receiver, Route, RoutingTree, Timing } from "../../alerts/routing";
import { GENERATED, toYaml } from "./yaml";

/**
 * What the configuration takes besides the tree: the stack and environment it
 * names, and where the secrets and templates are mounted where it runs.
 */
export type AlertmanagerPlacement = Pick<Settings, "stack" | "environment"> & {
  readonly routing: Pick<Settings["routing"], "secretsDir" | "templatesDir">;
};

/** The file a secret is mounted as; the Pulumi program writes the Kubernetes Secret with these keys. */
export function secretFile(s: AlertmanagerPlacement, key: SecretKey): string {
  return `${s.routing.secretsDir.replace(/\/+$/, "")}/${key}`;
}

export const TEMPLATE_FILE = "authwatch.tmpl";

const timing = (t: Timing) => ({
  ...(t.groupWait ? { group_wait: t.groupWait } : {}),
  ...(t.groupInterval ? { group_interval: t.groupInterval } : {}),
  ...(t.repeatInterval ? { repeat_interval: t.repeatInterval } : {}),
});

function route(r: Route): Record<string, unknown> {
  return {
    receiver: r.receiver,
    matchers: [...r.matchers],
    ...(r.continue ? { continue: true } : {}),
    ...timing(r),
    ...(r.muteTimeIntervals ? { mute_time_intervals: [...r.muteTimeIntervals] } : {}),
  };
}

function integration(s: AlertmanagerPlacement, i: Integration): Record<string, unknown> {
  switch (i.kind) {
    case "pagerduty":
      return {
        pagerduty_configs: [
          {
            routing_key_file: secretFile(s, i.routingKey),
            send_resolved: true,
            severity: "critical",
            description: '{{ template "authwatch.title" . }}',
            details: {
              summary: '{{ template "authwatch.summary" . }}',
              description: '{{ template "authwatch.description" . }}',
              runbook_url: '{{ template "authwatch.runbook" . }}',
              dashboard_url: '{{ template "authwatch.dashboard" . }}',
              env: s.environment,
            },
          },
        ],
      };
    case "slack":
      return {
        slack_configs: [
          {
            api_url_file: secretFile(s, i.webhookUrl),
            channel: i.channel,
            send_resolved: true,
            title: '{{ template "authwatch.title" . }}',
            title_link: '{{ template "authwatch.runbook" . }}',
            text: '{{ template "authwatch.text" . }}',
          },
        ],
      };
    case "email":
      return {
        email_configs: [
          {
            to: i.to,
            send_resolved: true,
            headers: { Subject: '{{ template "authwatch.title" . }}' },
            html: '{{ template "authwatch.html" . }}',
            text: '{{ template "authwatch.text" . }}',
          },
        ],
      };
    case "webhook":
      return {
        webhook_configs: [
          {
            url: i.url,
            send_resolved: false,
            http_config: { authorization: { type: "Bearer", credentials_file: secretFile(s, i.bearerToken) } },
          },
        ],
      };
    case "none":
      return {};
  }
}

const receiver = (s: AlertmanagerPlacement, r: Receiver) => ({ name: r.name, ...integration(s, r.integration) });

export function renderAlertmanagerConfig(s: AlertmanagerPlacement, tree: RoutingTree): string {
  const g = tree.global;
  const doc = {
    global: {
      resolve_timeout: g.resolveTimeout,
      ...(g.pagerdutyUrl ? { pagerduty_url: g.pagerdutyUrl } : {}),
      ...(g.smtp
        ? {
            smtp_smarthost: g.smtp.smarthost,
            smtp_from: g.smtp.from,
            smtp_auth_username: g.smtp.authUsername,
            smtp_auth_password_file: secretFile(s, g.smtp.authPassword),
            smtp_require_tls: g.smtp.requireTls,
          }
        : {}),
    },
    // Relative to this file in synth's layout and the local stack; on a cluster where the operator mounts them.
    templates: [`${s.routing.templatesDir.replace(/\/+$/, "")}/*.tmpl`],
    route: {
      receiver: tree.root.receiver,
      group_by: [...tree.root.groupBy],
      ...timing(tree.root),
      routes: tree.routes.map(route),
    },
    inhibit_rules: tree.inhibitRules.map((r) => ({
      source_matchers: [...r.source],
      target_matchers: [...r.target],
      ...(r.equal.length > 0 ? { equal: [...r.equal] } : {}),
    })),
    ...(tree.timeIntervals.length > 0
      ? {
          time_intervals: tree.timeIntervals.map((t) => ({
            name: t.name,
            time_intervals: [{ weekdays: [...t.weekdays], times: [{ start_time: t.start, end_time: t.end }], location: t.location }],
          })),
        }
      : {}),
    receivers: tree.receivers.map((r) => receiver(s, r)),
  };
  return toYaml(doc, `${GENERATED}\nAlertmanager for stack ${s.stack}; secrets are files under ${s.routing.secretsDir}.`);
}

/** Notification text: summary, description (with the measured value), runbook and dashboard links. */
export function renderTemplates(s: Pick<Settings, "stack" | "environment">): string {
  return `{{/* ${GENERATED} Stack: ${s.stack}. */}}
{{ define "authwatch.title" }}[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .CommonLabels.severity | toUpper }} {{ .CommonLabels.alertname }} ({{ .CommonLabels.service }}, ${s.environment}){{ end }}
{{ define "authwatch.summary" }}{{ if .CommonAnnotations.summary }}{{ .CommonAnnotations.summary }}{{ else }}{{ (index .Alerts 0).Annotations.summary }}{{ end }}{{ end }}
{{ define "authwatch.description" }}{{ range .Alerts }}{{ .Annotations.description }}
{{ end }}{{ end }}
{{ define "authwatch.runbook" }}{{ (index .Alerts 0).Annotations.runbook_url }}{{ end }}
{{ define "authwatch.dashboard" }}{{ (index .Alerts 0).Annotations.dashboard_url }}{{ end }}
{{ define "authwatch.text" }}{{ range .Alerts }}*{{ .Labels.alertname }}* ({{ .Labels.severity }}, {{ .Labels.category }}) {{ .Status }}
{{ .Annotations.summary }}
{{ .Annotations.description }}
Runbook: {{ .Annotations.runbook_url }}
{{ if .Annotations.dashboard_url }}Dashboard: {{ .Annotations.dashboard_url }}
{{ end }}{{ end }}{{ end }}
{{ define "authwatch.html" }}<h3>{{ template "authwatch.title" . }}</h3>{{ range .Alerts }}<p><b>{{ .Labels.alertname }}</b> ({{ .Labels.severity }}, {{ .Labels.category }}) {{ .Status }}<br>{{ .Annotations.summary }}<br>{{ .Annotations.description }}<br><a href="{{ .Annotations.runbook_url }}">Runbook</a>{{ if .Annotations.dashboard_url }} · <a href="{{ .Annotations.dashboard_url }}">Dashboard</a>{{ end }}</p>{{ end }}{{ end }}
`;
}
