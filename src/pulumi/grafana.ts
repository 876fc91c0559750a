/**
 * Dashboards into Grafana, as rendered by synth (the same bytes).
 *
 * delivery "api": the Grafana provider (@pulumiverse/grafana) talks to
 * Grafana's HTTP API: a folder, the Prometheus, Loki and Alertmanager data
 * sources with the stack's fixed uids (every panel's datasource variable
 * defaults to them), and one Dashboard per rendered file. Where the stack
 * sets grafana.postgres, also the PostgreSQL data source of the "Rollbacks"
 * annotation: its password (the secret authwatch:grafanaPostgresPassword) in
 * secureJsonData, a secret in state.
 *
 * delivery "sidecar": for clusters whose Grafana API the deployer cannot
 * reach. ConfigMaps labelled for kube-prometheus-stack's Grafana sidecar: one
 * per dashboard (`grafana_dashboard: "1"`) and one with the data sources as a
 * provisioning file (`grafana_datasource: "1"`). That file is a ConfigMap, so
 * the PostgreSQL password is not in it: it names the environment variable
 * the chart's Grafana reads from the Secret grafana-postgres
 * (src/pulumi/prometheus.ts).
 *
 * This component never builds a dashboard: it only places rendered files.
 */
import * as pulumi from "@pulumi/pulumi";
import * as grafana from "@pulumiverse/grafana";
import * as k8s from "@pulumi/kubernetes";
import { LOKI_TENANT_HEADER } from "./loki";
import type { Settings } from "../settings";
import { toYaml } from "../render/yaml";
import { DATASOURCE_NAMES, POSTGRES_DATASOURCE_TYPE, dashboardUrl } from "../addresses";
import { inClusterUrls, secretConfig } from "./cluster";

/** The Secret (key `password`) and the environment variable the chart's Grafana reads the PostgreSQL data source's password from. */
export const GRAFANA_POSTGRES_SECRET = "grafana-postgres";
export const GRAFANA_POSTGRES_PASSWORD_ENV = "AUTHWATCH_GRAFANA_POSTGRES_PASSWORD";

/** The PostgreSQL data source of the rollback annotations, where the stack has one (settings grafana.postgres); no password. */
export function postgresDataSource(s: Settings) {
  const pg = s.grafana.postgres;
  if (!pg) return undefined;
  return {
    name: DATASOURCE_NAMES.postgres,
    type: POSTGRES_DATASOURCE_TYPE,
    uid: s.grafana.postgresUid,
    url: pg.host,
    user: pg.user,
    // Two connections at most: one annotation query per dashboard load, never a load on the auth database.
    jsonData: { database: pg.database, sslmode: pg.sslMode, maxOpenConns: 2, maxIdleConns: 1, timescaledb: false },
  } as const;
}

export interface GrafanaDeliveryArgs {
  readonly settings: Settings;
  /** Dashboard uid → its rendered JSON (synth's grafana/dashboards/<uid>.json). */
  readonly dashboards: ReadonlyMap<string, string>;
}

/** Where Grafana finds the data sources when neither the settings nor a cluster block say (kube-prometheus-stack, namespace monitoring). */
export const DEFAULT_DATASOURCE_URLS = {
  prometheus: "http://prometheus-operated.monitoring.svc:9090",
  loki: "http://loki-gateway.monitoring.svc",
  alertmanager: "http://alertmanager-operated.monitoring.svc:9093",
} as const;

/** The three data sources, as both delivery modes describe them: the settings' URLs, else the stack's own in-cluster services. */
export function dataSources(s: Settings) {
  const g = s.grafana;
  const inCluster = s.cluster ? inClusterUrls(s) : undefined;
  const url = {
    prometheus: g.prometheusUrl ?? inCluster?.prometheus ?? DEFAULT_DATASOURCE_URLS.prometheus,
    loki: g.lokiUrl ?? inCluster?.lokiGateway ?? DEFAULT_DATASOURCE_URLS.loki,
    alertmanager: g.alertmanagerUrl ?? inCluster?.alertmanager ?? DEFAULT_DATASOURCE_URLS.alertmanager,
  };
  return [
    {
      key: "prometheus",
      name: DATASOURCE_NAMES.prometheus,
      type: "prometheus",
      uid: g.prometheusUid,
      url: url.prometheus,
      // timeInterval = the scrape interval, so $__rate_interval covers at least four scrapes.
      jsonData: { alertmanagerUid: g.alertmanagerUid, httpMethod: "POST", timeInterval: s.scrapeInterval },
    },
    // Loki authenticates one tenant (src/pulumi/loki.ts): without its header every query answers 401.
    { key: "loki", name: DATASOURCE_NAMES.loki, type: "loki", uid: g.lokiUid, url: url.loki, jsonData: { maxLines: 1000 }, headers: { [LOKI_TENANT_HEADER]: s.loki.tenant } },
    {
      key: "alertmanager",
      name: DATASOURCE_NAMES.alertmanager,
      type: "alertmanager",
      uid: g.alertmanagerUid,
      url: url.alertmanager,
      jsonData: { handleGrafanaManagedAlerts: false, implementation: "prometheus" },
    },
  ] as const;
}

/** A data source's jsonData for a provisioning file; HTTP headers are numbered pairs, their values in secureJsonData. */
function provisionedJson(d: ReturnType<typeof dataSources>[number]): { jsonData: Record<string, unknown>; secureJsonData?: Record<string, string> } {
  const headers = Object.entries("headers" in d ? d.headers : {});
  if (headers.length === 0) return { jsonData: d.jsonData };
  return {
    jsonData: { ...d.jsonData, ...Object.fromEntries(headers.map(([name], i) => [`httpHeaderName${i + 1}`, name])) },
    secureJsonData: Object.fromEntries(headers.map(([, value], i) => [`httpHeaderValue${i + 1}`, value])),
  };
}

/** The PostgreSQL data source in a provisioning file: the password is Grafana's expansion of its environment variable, never the value. */
function provisionedPostgres(s: Settings): Record<string, unknown>[] {
  const pg = postgresDataSource(s);
  if (!pg) return [];
  const { jsonData, ...rest } = pg;
  return [{ ...rest, access: "proxy", isDefault: false, editable: false, jsonData, secureJsonData: { password: `$__env{${GRAFANA_POSTGRES_PASSWORD_ENV}}` } }];
}

/** Labels the kube-prometheus-stack Grafana sidecar looks for (its default `sidecar.dashboards.label` / `sidecar.datasources.label`). */
export const SIDECAR_LABELS = { dashboard: { grafana_dashboard: "1" }, datasource: { grafana_datasource: "1" } } as const;

export class GrafanaDelivery extends pulumi.ComponentResource {
  /** Dashboard uid → URL people open. */
  readonly dashboardUrls: Record<string, string>;
  readonly delivery: Settings["grafana"]["delivery"];

  constructor(name: string, args: GrafanaDeliveryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("authwatch:grafana:Delivery", name, {}, opts);
    const s = args.settings;
    const g = s.grafana;
    const uids = [...args.dashboards.keys()].sort();
    this.delivery = g.delivery;
    this.dashboardUrls = Object.fromEntries(uids.map((uid) => [uid, dashboardUrl(s, uid)]));

    if (g.delivery === "api") this.viaApi(name, args);
    else this.viaSidecar(name, args);

    this.registerOutputs({ dashboardUrls: this.dashboardUrls, delivery: this.delivery });
  }

  private viaApi(name: string, { settings: s, dashboards }: GrafanaDeliveryArgs): void {
    const g = s.grafana;
    const config = new pulumi.Config("grafana");
    const provider = new grafana.Provider(
      `${name}-provider`,
      {
        url: config.get("url") ?? s.dashboardBaseUrl,
        // A secret Output: never in plain text in state. Unset, the provider reads GRAFANA_AUTH.
        auth: config.getSecret("auth"),
        // State keeps a hash of each dashboard, not a second copy of its JSON (the JSON is reviewed in out/).
        storeDashboardSha256: true,
      },
      { parent: this },
    );
    const child = { parent: this, provider };
    const folder = new grafana.oss.Folder(`${name}-folder`, { uid: g.folder.uid, title: g.folder.title }, child);
    const sources = dataSources(s).map(
      (d) =>
        new grafana.oss.DataSource(
          `${name}-${d.key}`,
          {
            name: d.name,
            type: d.type,
            uid: d.uid,
            url: d.url,
            accessMode: "proxy",
            isDefault: false,
            jsonDataEncoded: JSON.stringify(d.jsonData),
            ...("headers" in d ? { httpHeaders: d.headers } : {}),
          },
          child,
        ),
    );
    const pg = postgresDataSource(s);
    if (pg) {
      sources.push(
        new grafana.oss.DataSource(
          `${name}-postgres`,
          {
            name: pg.name,
            type: pg.type,
            uid: pg.uid,
            url: pg.url,
            username: pg.user,
            accessMode: "proxy",
            isDefault: false,
            jsonDataEncoded: JSON.stringify(pg.jsonData),
            secureJsonDataEncoded: pulumi.secret(secretConfig("grafanaPostgresPassword").apply((password) => JSON.stringify({ password }))),
          },
          child,
        ),
      );
    }
    for (const [uid, json] of [...dashboards].sort(([a], [b]) => (a < b ? -1 : 1))) {
      new grafana.oss.Dashboard(
        `${name}-${uid}`,
        { configJson: json, folder: folder.uid, overwrite: true, message: `authwatch: stack ${s.stack}` },
        { ...child, dependsOn: sources },
      );
    }
  }

  private viaSidecar(name: string, { settings: s, dashboards }: GrafanaDeliveryArgs): void {
    const g = s.grafana;
    const metadata = (suffix: string, labels: Record<string, string>, annotations?: Record<string, string>) => ({
      name: `authwatch-${suffix}`,
      namespace: g.sidecarNamespace ?? s.cluster?.namespace ?? "monitoring",
      labels: { ...labels, "app.kubernetes.io/part-of": "authwatch", "app.kubernetes.io/managed-by": "pulumi" },
      ...(annotations ? { annotations } : {}),
    });
    // Read when the chart sets sidecar.dashboards.folderAnnotation=grafana_folder; ignored otherwise.
    const folder = { grafana_folder: g.folder.title };
    new k8s.core.v1.ConfigMap(
      `${name}-datasources`,
      {
        metadata: metadata("grafana-datasources", SIDECAR_LABELS.datasource),
        data: {
          "authwatch-datasources.yaml": toYaml({
            apiVersion: 1,
            datasources: [
              ...dataSources(s).map((d) => ({ name: d.name, type: d.type, uid: d.uid, url: d.url, access: "proxy", isDefault: false, editable: false, ...provisionedJson(d) })),
              ...provisionedPostgres(s),
            ],
          }),
        },
      },
      { parent: this },
    );
    for (const [uid, json] of [...dashboards].sort(([a], [b]) => (a < b ? -1 : 1))) {
      new k8s.core.v1.ConfigMap(`${name}-${uid}`, { metadata: metadata(`dashboard-${uid}`, SIDECAR_LABELS.dashboard, folder), data: { [`${uid}.json`]: json } }, { parent: this });
    }
  }
}
