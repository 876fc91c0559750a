/**
 * What Prometheus scrapes besides the chart's own targets, under the telemetry
 * contract's job names (settings scrapeJobs):
 * - the auth service: a ServiceMonitor in the stack's namespace selecting the
 *   auth Service (cluster.auth) in authWorkload.namespace, job `auth`;
 * - its health: a Probe through the blackbox exporter (module http_2xx) on
 *   cluster.auth.healthUrl every scrape interval (30 s), job `auth-health`;
 * - PostgreSQL: postgres_exporter with DATA_SOURCE_NAME from a Secret written
 *   from the Pulumi secret authwatch:postgresExporterDsn, job `postgres`;
 * - the Pushgateway the database jobs push to, scraped with honor_labels so
 *   the pushed `job` (pg-backup, restore-verify, token-cleanup) is kept; it
 *   persists what was pushed, so a restart does not make BackupTooOld fire.
 * The exporters run as the program's own Deployments (non-root, read-only).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { IProbe } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/Probe";
import type { IServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
import type { Settings } from "../settings";
import {
  clusterSettings,
  COMPONENTS,
  containerResources,
  inClusterUrls,
  jobRelabeling,
  metadata,
  OPERATOR_SELECTOR,
  PORTS,
  restricted,
  secretConfig,
  selectorLabels,
  volumeClaimSpec,
} from "./cluster";

type Endpoint = NonNullable<IServiceMonitor["spec"]["endpoints"]>[number];
const NOBODY = 65534;
export const POSTGRES_EXPORTER_SECRET = "postgres-exporter";

interface Exporter {
  readonly component: string;
  readonly image: string;
  readonly port: number;
  /** What the readiness probe asks for. */
  readonly ready: string;
  readonly args?: string[];
  readonly env?: k8s.types.input.core.v1.EnvVar[];
  readonly volume?: { readonly mountPath: string; readonly claim: string };
}

export class ScrapeTargets extends pulumi.ComponentResource {
  /** ServiceMonitor / Probe name → the job its targets get. */
  readonly jobs: Record<string, string>;

  constructor(name: string, args: { settings: Settings }, opts?: pulumi.ComponentResourceOptions) {
    super("authwatch:prometheus:ScrapeTargets", name, {}, opts);
    const s = args.settings;
    const c = clusterSettings(s);
    const j = s.scrapeJobs;
    const child = { parent: this };

    const dsn = new k8s.core.v1.Secret(
      POSTGRES_EXPORTER_SECRET,
      { metadata: metadata(s, POSTGRES_EXPORTER_SECRET, COMPONENTS.postgresExporter), type: "Opaque", stringData: { DATA_SOURCE_NAME: secretConfig("postgresExporterDsn") } },
      child,
    );
    const pushgatewayData = new k8s.core.v1.PersistentVolumeClaim(
      `${COMPONENTS.pushgateway}-data`,
      { metadata: metadata(s, `${COMPONENTS.pushgateway}-data`, COMPONENTS.pushgateway), spec: volumeClaimSpec({ size: "1Gi", className: c.prometheus.storage.className }) },
      child,
    );

    const exporters: Exporter[] = [
      {
        component: COMPONENTS.pushgateway,
        image: c.exporters.pushgatewayImage,
        port: PORTS.pushgateway,
        ready: "/-/ready",
        args: ["--persistence.file=/data/pushgateway.db", "--persistence.interval=1m"],
        volume: { mountPath: "/data", claim: `${COMPONENTS.pushgateway}-data` },
      },
      { component: COMPONENTS.blackboxExporter, image: c.exporters.blackboxExporterImage, port: PORTS.blackboxExporter, ready: "/-/healthy" },
      {
        component: COMPONENTS.postgresExporter,
        image: c.exporters.postgresExporterImage,
        port: PORTS.postgresExporter,
        ready: "/metrics",
        env: [{ name: "DATA_SOURCE_NAME", valueFrom: { secretKeyRef: { name: POSTGRES_EXPORTER_SECRET, key: "DATA_SOURCE_NAME" } } }],
      },
    ];
    const sec = restricted(NOBODY);
    for (const e of exporters) {
      new k8s.apps.v1.Deployment(
        e.component,
        {
          metadata: metadata(s, e.component),
          spec: {
            replicas: 1,
            // The Pushgateway's volume is ReadWriteOnce: the old pod lets go before the new one starts.
            strategy: { type: e.volume ? "Recreate" : "RollingUpdate" },
            selector: { matchLabels: selectorLabels(e.component) },
            template: {
              metadata: { labels: metadata(s, e.component).labels },
              spec: {
                automountServiceAccountToken: false,
                securityContext: sec.pod,
                containers: [
                  {
                    name: e.component,
                    image: e.image,
                    ...(e.args ? { args: e.args } : {}),
                    ...(e.env ? { env: e.env } : {}),
                    ports: [{ name: "http", containerPort: e.port }],
                    readinessProbe: { httpGet: { path: e.ready, port: "http" } },
                    resources: containerResources(c.exporters.resources),
                    securityContext: sec.container,
                    ...(e.volume ? { volumeMounts: [{ name: "data", mountPath: e.volume.mountPath }] } : {}),
                  },
                ],
                ...(e.volume ? { volumes: [{ name: "data", persistentVolumeClaim: { claimName: e.volume.claim } }] } : {}),
              },
            },
          },
        },
        { ...child, dependsOn: e.component === COMPONENTS.postgresExporter ? [dsn] : e.volume ? [pushgatewayData] : [] },
      );
      new k8s.core.v1.Service(
        e.component,
        { metadata: metadata(s, e.component), spec: { selector: selectorLabels(e.component), ports: [{ name: "http", port: e.port, targetPort: "http" }] } },
        child,
      );
    }

    const monitorLabels = { labels: { ...OPERATOR_SELECTOR } };
    // Typed by the operator's CRD models: a misspelt field does not compile.
    const serviceMonitor = (monitor: string, job: string, spec: Omit<IServiceMonitor["spec"], "endpoints">, endpoint: Partial<Endpoint> = {}) =>
      new k8s.apiextensions.CustomResource(
        monitor,
        {
          apiVersion: "monitoring.coreos.com/v1",
          kind: "ServiceMonitor",
          metadata: metadata(s, monitor, monitor, monitorLabels),
          spec: { ...spec, endpoints: [{ port: "http", interval: s.scrapeInterval, relabelings: [jobRelabeling(job)], ...endpoint }] } satisfies IServiceMonitor["spec"],
        },
        child,
      );
    serviceMonitor(
      "auth",
      j.auth,
      { namespaceSelector: { matchNames: [s.authWorkload.namespace] }, selector: { matchLabels: c.auth.serviceSelector } },
      { port: c.auth.metricsPort, path: c.auth.metricsPath },
    );
    serviceMonitor(COMPONENTS.postgresExporter, j.postgres, { selector: { matchLabels: selectorLabels(COMPONENTS.postgresExporter) } });
    serviceMonitor(COMPONENTS.pushgateway, j.pushgateway, { selector: { matchLabels: selectorLabels(COMPONENTS.pushgateway) } }, { honorLabels: true });
    serviceMonitor(COMPONENTS.blackboxExporter, j.blackbox, { selector: { matchLabels: selectorLabels(COMPONENTS.blackboxExporter) } });
    new k8s.apiextensions.CustomResource(
      "auth-health",
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "Probe",
        metadata: metadata(s, "auth-health", "auth-health", monitorLabels),
        spec: {
          jobName: j.authHealth,
          interval: s.scrapeInterval,
          module: "http_2xx",
          prober: { url: inClusterUrls(s).blackboxExporter, path: "/probe" },
          targets: { staticConfig: { static: [c.auth.healthUrl] } },
        } satisfies IProbe["spec"],
      },
      child,
    );
    this.jobs = {
      auth: j.auth,
      "auth-health": j.authHealth,
      [COMPONENTS.postgresExporter]: j.postgres,
      [COMPONENTS.pushgateway]: j.pushgateway,
      [COMPONENTS.blackboxExporter]: j.blackbox,
    };
    this.registerOutputs({ jobs: this.jobs });
  }
}
