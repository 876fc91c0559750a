/**
 * Dashboard delivery under Pulumi's mocks: index.ts with the stack's config,
 * through the Grafana API (provider, folder, data sources, dashboards) and
 * through the kube-prometheus-stack sidecar (ConfigMaps).
 */
import * as pulumi from "@pulumi/pulumi";
import * as yaml from "js-yaml";
import { afterEach, describe, expect, it } from "vitest";
import { parseSettings } from "../src/settings";
import { renderStack } from "../src/synth";
import { DASHBOARD_UIDS } from "../dashboards/uids";
import { inClusterUrls } from "../src/pulumi/cluster";
import { POSTGRES_DATASOURCE_TYPE } from "../src/addresses";
import { GRAFANA_POSTGRES_PASSWORD_ENV, GRAFANA_POSTGRES_SECRET } from "../src/pulumi/grafana";
import { deployableConfig, FAKE_SECRETS, isSecretMarker, PROVIDER_FAKE_SECRETS, runProgram as run, SECRET_SIG, unwrapSecrets, type Config, type Registered } from "./support/pulumi";

/** Data sources in the order Prometheus, Loki, Alertmanager (registration order under mocks is not guaranteed). */
const byType = (sources: Record<string, any>[]): Record<string, any>[] => {
  const rank = (t: string) => ["prometheus", "loki", "alertmanager"].indexOf(t);
  return [...sources].sort((a, b) => rank(a.type) - rank(b.type));
};

const SECRET = PROVIDER_FAKE_SECRETS["grafana:auth"]!;
/** The stack's config with every secret `pulumi up` needs besides Grafana's (index.ts refuses to deploy without them). */
const stackConfig = deployableConfig;
const runProgram = (config: Config) => run("test", config);

const ofType = (resources: Registered[], type: string) => resources.filter((r) => r.type === type);
/** The resources of the dashboards' delivery component (index.ts names it authwatch-grafana); other components may add ConfigMaps of their own. */
const delivered = (resources: Registered[], type: string) => ofType(resources, type).filter((r) => r.name.startsWith("authwatch-grafana-"));

afterEach(async () => {
  await pulumi.runtime.disconnect();
});

describe("delivery through the Grafana API", () => {
  const config = (): Config => ({ ...stackConfig("prod"), "grafana:url": "https://grafana.internal.example.com", "grafana:auth": { secure: "v1:ciphertext" } });

  it("creates the folder, the three data sources with fixed uids and one dashboard per rendered file", async () => {
    const { program, resources } = await runProgram(config());
    const settings = parseSettings("test", config(), "stacks/Pulumi.prod.yaml");
    const rendered = renderStack(settings);

    const [provider] = ofType(resources, "pulumi:providers:grafana");
    expect(provider?.inputs.url).toBe("https://grafana.internal.example.com");
    expect(provider?.inputs.storeDashboardSha256).toBe("true");

    const folders = ofType(resources, "grafana:oss/folder:Folder");
    expect(folders.map((f) => f.inputs)).toEqual([{ uid: "authwatch", title: "Authentication" }]);

    // The PostgreSQL data source of the rollback annotations has its own tests below.
    const sources = byType(ofType(resources, "grafana:oss/dataSource:DataSource").map((d) => d.inputs).filter((d) => d.type !== POSTGRES_DATASOURCE_TYPE));
    expect(sources.map((d) => [d.type, d.uid])).toEqual([
      ["prometheus", "authwatch-prometheus"],
      ["loki", "authwatch-loki"],
      ["alertmanager", "authwatch-alertmanager"],
    ]);
    expect(JSON.parse(sources[0]!.jsonDataEncoded)).toMatchObject({ alertmanagerUid: "authwatch-alertmanager", timeInterval: settings.scrapeInterval });
    // Loki authenticates a tenant: the data source sends it, else every Loki panel answers 401.
    // The provider marks headers secret (their values are credentials elsewhere).
    expect(unwrapSecrets(sources[1]!.httpHeaders)).toEqual({ "X-Scope-OrgID": settings.loki.tenant });
    expect(sources.filter((d) => d.type !== "loki").every((d) => d.httpHeaders === undefined)).toBe(true);
    // No URL in the settings: the stack's own in-cluster services.
    const urls = inClusterUrls(settings);
    expect(sources.map((d) => d.url)).toEqual([urls.prometheus, urls.lokiGateway, urls.alertmanager]);

    const dashboards = ofType(resources, "grafana:oss/dashboard:Dashboard");
    expect(dashboards.map((d) => JSON.parse(d.inputs.configJson).uid).sort()).toEqual(Object.values(DASHBOARD_UIDS).sort());
    for (const d of dashboards) {
      const uid = JSON.parse(d.inputs.configJson).uid as string;
      // The very bytes synth writes, in the folder of this stack.
      expect(d.inputs.configJson).toBe(rendered.files.get(`grafana/dashboards/${uid}.json`));
      expect(d.inputs.folder).toBe("authwatch");
      expect(d.inputs.overwrite).toBe(true);
    }
    expect(delivered(resources, "kubernetes:core/v1:ConfigMap")).toEqual([]);
    expect(program.grafanaDelivery).toBe("api");
    expect(program.dashboardUrls).toEqual(Object.fromEntries(Object.values(DASHBOARD_UIDS).sort().map((u) => [u, `https://grafana.auth.example.com/d/${u}`])));
  });

  it("hands grafana:auth to the provider as a secret, and to nothing else", async () => {
    const { program, resources } = await runProgram(config());
    const [provider] = ofType(resources, "pulumi:providers:grafana");
    expect(provider?.wire.auth).toEqual({ [SECRET_SIG]: "1b47061264138c4ac30d75fd1eb44270", value: SECRET });
    for (const r of resources.filter((x) => x !== provider)) expect(JSON.stringify(r.inputs), `${r.type} ${r.name}`).not.toContain(SECRET);
    expect(JSON.stringify(program)).not.toContain(SECRET);
  });

  it("falls back to dashboardBaseUrl without grafana:url, and refuses grafana:auth as plain text", async () => {
    const { resources } = await runProgram({ ...stackConfig("prod"), "grafana:auth": { secure: "v1:ciphertext" } });
    expect(ofType(resources, "pulumi:providers:grafana")[0]?.inputs.url).toBe("https://grafana.auth.example.com");
    await expect(runProgram({ ...stackConfig("prod"), "grafana:auth": "admin:admin" })).rejects.toThrow(
      /stacks\/Pulumi\.test\.yaml: invalid stack settings:\n {2}- grafana:auth: is a secret; set it with `pulumi config set --secret grafana:auth/,
    );
  });

  it("uses the stack's data source uids", async () => {
    const { resources } = await runProgram({
      ...config(),
      "authwatch:grafana": { prometheusUid: "prom-staging", lokiUid: "loki-staging", alertmanagerUid: "am-staging" },
    });
    expect(byType(ofType(resources, "grafana:oss/dataSource:DataSource").map((d) => d.inputs).filter((d) => d.type !== POSTGRES_DATASOURCE_TYPE)).map((d) => d.uid)).toEqual(["prom-staging", "loki-staging", "am-staging"]);
    const overview = ofType(resources, "grafana:oss/dashboard:Dashboard").find((d) => d.name.endsWith("auth-overview"))!;
    const model = JSON.parse(overview.inputs.configJson);
    expect(model.templating.list.find((v: any) => v.name === "prometheus").current.value).toBe("prom-staging");
  });
});

describe("delivery through the Grafana sidecar", () => {
  // The chart's Grafana reads ConfigMaps of its own namespace only: sidecarNamespace is the stack's namespace.
  const config = (): Config => {
    const c = stackConfig("prod");
    return { ...c, "authwatch:cluster": { ...(c["authwatch:cluster"] as object), namespace: "observability" }, "authwatch:grafana": { delivery: "sidecar", sidecarNamespace: "observability" } };
  };

  it("writes one labelled ConfigMap per dashboard and one for the data sources, and no Grafana resource", async () => {
    const { program, resources } = await runProgram(config());
    const rendered = renderStack(parseSettings("test", config(), "stacks/Pulumi.prod.yaml"));
    expect(resources.filter((r) => r.type.startsWith("grafana:") || r.type === "pulumi:providers:grafana")).toEqual([]);

    const maps = delivered(resources, "kubernetes:core/v1:ConfigMap").map((r) => r.inputs);
    const uids = Object.values(DASHBOARD_UIDS);
    expect(maps).toHaveLength(uids.length + 1);
    const dashboards = maps.filter((m) => m.metadata.labels.grafana_dashboard === "1");
    expect(dashboards).toHaveLength(uids.length);
    for (const m of dashboards) {
      expect(m.metadata.namespace).toBe("observability");
      expect(m.metadata.annotations).toEqual({ grafana_folder: "Authentication" });
      const entries = Object.entries(m.data as Record<string, string>);
      expect(entries).toHaveLength(1);
      const [file, json] = entries[0]!;
      const uid = file.replace(/\.json$/, "");
      expect(Object.values(DASHBOARD_UIDS)).toContain(uid);
      expect(json).toBe(rendered.files.get(`grafana/dashboards/${uid}.json`));
    }

    const [sources] = maps.filter((m) => m.metadata.labels.grafana_datasource === "1");
    const provisioning = yaml.load(sources!.data["authwatch-datasources.yaml"]) as { apiVersion: number; datasources: { uid: string; type: string }[] };
    expect(provisioning.apiVersion).toBe(1);
    expect(provisioning.datasources.filter((d) => d.type !== POSTGRES_DATASOURCE_TYPE).map((d) => [d.type, d.uid])).toEqual([
      ["prometheus", "authwatch-prometheus"],
      ["loki", "authwatch-loki"],
      ["alertmanager", "authwatch-alertmanager"],
    ]);
    const loki = (provisioning.datasources as Record<string, any>[]).find((d) => d.type === "loki")!;
    expect(loki.jsonData.httpHeaderName1).toBe("X-Scope-OrgID");
    expect(loki.secureJsonData).toEqual({ httpHeaderValue1: parseSettings("prod", config(), "stacks/Pulumi.prod.yaml").loki.tenant });
    expect(program.grafanaDelivery).toBe("sidecar");
  });
});

describe("the PostgreSQL data source of the rollback annotations", () => {
  const PASSWORD = FAKE_SECRETS.grafanaPostgresPassword;
  const pg = { host: "auth-db.test.example.internal:6432", database: "auth_test" };
  /** prod's config with this data source (whatever prod's own file says), delivered through the API or the sidecar. */
  const config = (grafana: Record<string, unknown> = {}, omit: string[] = []): Config => {
    const c = stackConfig("prod", omit);
    return { ...c, "grafana:url": "https://grafana.internal.example.com", "grafana:auth": { secure: "v1:ciphertext" }, "authwatch:grafana": { postgres: pg, postgresUid: "pg-test", ...grafana } };
  };
  const sidecar = (): Config => {
    const c = config({ delivery: "sidecar", sidecarNamespace: "observability" });
    return { ...c, "authwatch:cluster": { ...(c["authwatch:cluster"] as object), namespace: "observability" } };
  };
  const postgresSources = (resources: Registered[]) => ofType(resources, "grafana:oss/dataSource:DataSource").filter((d) => d.inputs.type === POSTGRES_DATASOURCE_TYPE);

  it("through the API: the read-only user, TLS, the password only as a secret in secureJsonData", async () => {
    const { resources } = await runProgram(config());
    const [source, ...more] = postgresSources(resources);
    expect(more).toEqual([]);
    expect(source!.inputs).toMatchObject({ name: "authwatch PostgreSQL", uid: "pg-test", url: pg.host, username: "authwatch_grafana", accessMode: "proxy", isDefault: false });
    expect(JSON.parse(source!.inputs.jsonDataEncoded)).toMatchObject({ database: pg.database, sslmode: "require" });
    expect(isSecretMarker(source!.wire.secureJsonDataEncoded)).toBe(true);
    expect(JSON.parse(unwrapSecrets(source!.wire.secureJsonDataEncoded))).toEqual({ password: PASSWORD });
    for (const r of resources.filter((x) => x !== source)) expect(JSON.stringify(r.inputs), `${r.type} ${r.name}`).not.toContain(PASSWORD);
    expect(JSON.stringify({ ...source!.wire, secureJsonDataEncoded: null })).not.toContain(PASSWORD);
  });

  it("through the sidecar: the provisioning file names Grafana's environment variable, the chart reads it from a Secret", async () => {
    const { resources } = await runProgram(sidecar());
    const [maps] = [delivered(resources, "kubernetes:core/v1:ConfigMap").map((r) => r.inputs).filter((m) => m.metadata.labels.grafana_datasource === "1")];
    const file = maps![0]!.data["authwatch-datasources.yaml"] as string;
    const source = (yaml.load(file) as { datasources: Record<string, any>[] }).datasources.find((d) => d.type === POSTGRES_DATASOURCE_TYPE)!;
    expect(source).toMatchObject({ uid: "pg-test", url: pg.host, user: "authwatch_grafana", jsonData: { database: pg.database, sslmode: "require" } });
    expect(source.secureJsonData).toEqual({ password: `$__env{${GRAFANA_POSTGRES_PASSWORD_ENV}}` });
    for (const r of resources.filter((x) => x.type.includes("ConfigMap"))) expect(JSON.stringify(r.inputs), r.name).not.toContain(PASSWORD);

    const secret = ofType(resources, "kubernetes:core/v1:Secret").find((r) => r.name === GRAFANA_POSTGRES_SECRET)!;
    expect(unwrapSecrets(secret.wire.stringData)).toEqual({ password: PASSWORD });
    expect(isSecretMarker(secret.wire.stringData) || isSecretMarker(secret.wire.stringData?.password)).toBe(true);
    const chart = ofType(resources, "kubernetes:helm.sh/v4:Chart").find((r) => r.name === "kube-prometheus-stack")!;
    const values = unwrapSecrets(chart.inputs.values);
    expect(values.grafana.envValueFrom).toEqual({ [GRAFANA_POSTGRES_PASSWORD_ENV]: { secretKeyRef: { name: GRAFANA_POSTGRES_SECRET, key: "password" } } });
    expect(JSON.stringify(chart.inputs)).not.toContain(PASSWORD);
  });

  it("lets Grafana reach the database's port", async () => {
    const { resources } = await runProgram(config());
    const policy = ofType(resources, "kubernetes:networking.k8s.io/v1:NetworkPolicy").find((r) => r.name === "grafana-allow")!;
    const egress = unwrapSecrets(policy.inputs.spec).egress as { to?: unknown[]; ports: { port?: number }[] }[];
    expect(egress).toContainEqual({ ports: [{ protocol: "TCP", port: 6432 }] });
  });

  it("refuses to deploy without its password, naming the key", async () => {
    await expect(runProgram(config({}, ["grafanaPostgresPassword"]))).rejects.toThrow(/authwatch:grafanaPostgresPassword: required by the PostgreSQL data source of the rollback annotations/);
  });
});
