/**
 * index.ts under Pulumi's mocks, for every deployable stack: least privilege
 * for the log shipper and Grafana (no Secret, no nodes/proxy, nothing
 * cluster-wide), Pod Security `restricted` on the namespace with every chart
 * pod's security context set to comply, default-deny NetworkPolicies with only
 * the stated flows (evaluated as Kubernetes evaluates them), the `job`
 * relabelling scoped to the web endpoints, and the cert-manager preflight.
 */
import * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadStackSettings, parseSettings, type Settings } from "../src/settings";
import { renderStack } from "../src/synth";
import { deployableConfig, ofType, one, runProgram, type Registered, type Run } from "./support/pulumi";

const CHART = "kubernetes:helm.sh/v4:Chart";
const ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role";
const BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding";
const POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy";

/** Pod labels as the charts and the operator set them (chart facts at the pinned versions), and our own. */
const PODS = {
  prometheus: { "app.kubernetes.io/name": "prometheus", "app.kubernetes.io/instance": "kube-prometheus-stack-prometheus" },
  alertmanager: { "app.kubernetes.io/name": "alertmanager", "app.kubernetes.io/instance": "kube-prometheus-stack-alertmanager" },
  grafana: { "app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": "kube-prometheus-stack" },
  operator: { app: "kube-prometheus-stack-operator", release: "kube-prometheus-stack" },
  kubeStateMetrics: { "app.kubernetes.io/name": "kube-state-metrics", "app.kubernetes.io/instance": "kube-prometheus-stack" },
  alloy: { "app.kubernetes.io/name": "alloy", "app.kubernetes.io/instance": "alloy" },
  lokiRuler: { "app.kubernetes.io/name": "loki", "app.kubernetes.io/instance": "loki", "app.kubernetes.io/component": "backend" },
  lokiGateway: { "app.kubernetes.io/name": "loki", "app.kubernetes.io/instance": "loki", "app.kubernetes.io/component": "gateway" },
  lokiWrite: { "app.kubernetes.io/name": "loki", "app.kubernetes.io/instance": "loki", "app.kubernetes.io/component": "write" },
  lokiSingleBinary: { "app.kubernetes.io/name": "loki", "app.kubernetes.io/instance": "loki", "app.kubernetes.io/component": "single-binary" },
  databaseJobs: { "app.kubernetes.io/name": "database-jobs", "app.kubernetes.io/part-of": "authwatch" },
  pushgateway: { "app.kubernetes.io/name": "pushgateway", "app.kubernetes.io/part-of": "authwatch" },
  blackboxExporter: { "app.kubernetes.io/name": "blackbox-exporter", "app.kubernetes.io/part-of": "authwatch" },
  postgresExporter: { "app.kubernetes.io/name": "postgres-exporter", "app.kubernetes.io/part-of": "authwatch" },
  /** Any other pod someone runs in the namespace. */
  other: { app: "debug-shell" },
} as const;
type Pod = keyof typeof PODS;

type Labels = Readonly<Record<string, string>>;
/** A pod (namespace and labels) or an address outside the cluster's pods. */
type Endpoint = { ns: string; labels: Labels } | { ip: string };
type Spec = Record<string, any>;

const selects = (selector: Spec | undefined, labels: Labels) =>
  Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v) &&
  (selector?.matchExpressions ?? []).every((e: Spec) => (e.operator === "In" ? e.values.includes(labels[e.key]) : e.operator === "NotIn" ? !e.values.includes(labels[e.key]) : false));

function peerMatches(peer: Spec, policyNs: string, e: Endpoint): boolean {
  if ("ip" in e) return peer.ipBlock !== undefined && peer.ipBlock.cidr === "0.0.0.0/0" && !(peer.ipBlock.except ?? []).includes(`${e.ip}/32`);
  if (peer.ipBlock) return false;
  const nsOk = peer.namespaceSelector ? selects(peer.namespaceSelector, { "kubernetes.io/metadata.name": e.ns }) : e.ns === policyNs;
  return nsOk && (peer.podSelector ? selects(peer.podSelector, e.labels) : true);
}

/** A port entry without a port: every port of its protocol. */
const portMatches = (ports: Spec[] | undefined, port: number, protocol: string) => !ports || ports.some((p) => (p.port === undefined || p.port === port) && (p.protocol ?? "TCP") === protocol);

/** One side (egress of the source or ingress of the destination) as NetworkPolicy semantics decide it. */
function side(policies: Spec[], ns: string, pod: Labels, type: "Ingress" | "Egress", peer: Endpoint, port: number, protocol: string): boolean {
  const applying = policies.filter((p) => p.metadata.namespace === ns && selects(p.spec.podSelector, pod) && p.spec.policyTypes.includes(type));
  if (applying.length === 0) return true;
  const key = type === "Ingress" ? "from" : "to";
  const rules: Spec[] = applying.flatMap((p) => (p.spec[type.toLowerCase()] ?? []).map((r: Spec) => ({ ...r, ns: p.metadata.namespace })));
  return rules.some((r) => (r[key] === undefined || r[key].some((x: Spec) => peerMatches(x, r.ns, peer))) && portMatches(r.ports, port, protocol));
}

/** Whether a connection from `from` to `to` on a port is allowed by the policies the program writes. */
function allowed(policies: Spec[], from: Endpoint, to: Endpoint, port: number, protocol = "TCP"): boolean {
  const out = "ip" in from ? true : side(policies, from.ns, from.labels, "Egress", to, port, protocol);
  const into = "ip" in to ? true : side(policies, to.ns, to.labels, "Ingress", from, port, protocol);
  return out && into;
}

/** Prometheus' `replace` relabelling (the only action the relabelings use), on one target's labels. */
function relabel(labels: Record<string, string>, rules: Spec[]): Record<string, string> {
  const out = { ...labels };
  for (const r of rules) {
    expect(r.action ?? "replace").toBe("replace");
    const value = (r.sourceLabels ?? []).map((l: string) => out[l] ?? "").join(r.separator ?? ";");
    const m = new RegExp(`^(?:${r.regex ?? "(.*)"})$`).exec(value);
    if (m) out[r.targetLabel] = (r.replacement ?? "$1").replace(/\$(\d)/g, (_: string, i: string) => m[Number(i)] ?? "");
  }
  return out;
}

const restrictedPod = (ctx: Spec | undefined) => ctx?.runAsNonRoot === true && (ctx.runAsUser ?? 1) !== 0 && ctx.seccompProfile?.type === "RuntimeDefault";
const restrictedContainer = (ctx: Spec | undefined) =>
  ctx?.allowPrivilegeEscalation === false && (ctx.capabilities?.drop ?? []).includes("ALL") && (ctx.capabilities?.add ?? []).length === 0 && ctx.privileged !== true && ctx.runAsUser !== 0;

describe.each(["dev", "staging", "prod"])("least privilege on %s", (stack) => {
  let run: Run;
  let s: Settings;
  let ns: string;
  let policies: Spec[];
  const chart = (name: string) => one(run.resources, CHART, name).inputs.values;
  const pod = (name: Pod, namespace = ns): Endpoint => ({ ns: namespace, labels: PODS[name] });
  beforeAll(async () => {
    run = await runProgram(stack, deployableConfig(stack));
    s = loadStackSettings(stack);
    ns = s.cluster!.namespace;
    policies = ofType(run.resources, POLICY).map((p) => p.inputs);
  });
  afterAll(async () => {
    await pulumi.runtime.disconnect();
  });

  it("gives the log shipper Roles only in the namespaces it ships, over pods and their logs, and no chart ClusterRole", () => {
    const alloy = chart("alloy");
    expect(alloy.rbac).toEqual({ create: false });
    const shipped = [s.authWorkload.namespace, ...(s.cluster!.postgresLogs.enabled ? [s.cluster!.postgresLogs.namespace] : [])].sort();
    const roles = ofType(run.resources, ROLE).filter((r) => r.inputs.metadata.name === "alloy-logs");
    expect(roles.map((r) => r.inputs.metadata.namespace).sort()).toEqual(shipped);
    for (const r of roles) expect(r.inputs.rules).toEqual([{ apiGroups: [""], resources: ["pods", "pods/log"], verbs: ["get", "list", "watch"] }]);
    const bindings = ofType(run.resources, BINDING).filter((b) => b.inputs.roleRef.name === "alloy-logs");
    expect(bindings.map((b) => b.inputs.metadata.namespace).sort()).toEqual(shipped);
    for (const b of bindings) expect(b.inputs.subjects).toEqual([{ kind: "ServiceAccount", name: "alloy", namespace: ns }]);
  });

  it("scopes Grafana's sidecars to ConfigMaps of the stack's namespace: a Role of ours, no ClusterRole, no Secret", () => {
    const g = chart("kube-prometheus-stack").grafana;
    expect(g.rbac.namespaced).toBe(true);
    const role = ofType(run.resources, ROLE).find((r) => r.inputs.metadata.name === g.rbac.useExistingRole);
    expect(role?.inputs.metadata.namespace).toBe(ns);
    expect(role?.inputs.rules).toEqual([{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] }]);
    expect(g.rbac.extraClusterRoleRules ?? []).toEqual([]);
    for (const kind of ["dashboards", "datasources"]) {
      expect(g.sidecar[kind].resource, kind).toBe("configmap");
      expect(g.sidecar[kind].searchNamespace, kind).toBe(ns);
    }
  });

  it("registers no ClusterRole, and no Role rule grants secrets, nodes/proxy or a wildcard", () => {
    expect(run.resources.filter((r) => /ClusterRole/.test(r.type))).toEqual([]);
    for (const r of ofType(run.resources, ROLE)) {
      for (const rule of r.inputs.rules) {
        for (const res of rule.resources) expect(["secrets", "nodes/proxy", "*"], `${r.name}: ${res}`).not.toContain(res);
        expect(rule.verbs, r.name).not.toContain("*");
      }
    }
  });

  it("enforces Pod Security restricted on the namespace", () => {
    const labels = one(run.resources, "kubernetes:core/v1:Namespace", ns).inputs.metadata.labels;
    for (const mode of ["enforce", "audit", "warn"]) expect(labels[`pod-security.kubernetes.io/${mode}`], mode).toBe("restricted");
  });

  it("sets every chart pod's security context to comply with restricted, never root", () => {
    const alloy = chart("alloy");
    expect(restrictedPod(alloy.global.podSecurityContext), "alloy pod").toBe(true);
    expect(restrictedContainer(alloy.alloy.securityContext), "alloy").toBe(true);
    expect(restrictedContainer(alloy.configReloader.securityContext), "alloy config reloader").toBe(true);
    // Alloy's storage path is writable on a read-only root filesystem.
    const mount = alloy.alloy.mounts.extra.find((m: Spec) => m.mountPath === alloy.alloy.storagePath);
    expect(alloy.controller.volumes.extra.find((v: Spec) => v.name === mount?.name)?.emptyDir).toEqual({});
    const v = chart("kube-prometheus-stack");
    const pods: [string, Spec | undefined][] = [
      ["operator", v.prometheusOperator.securityContext],
      ["prometheus", v.prometheus.prometheusSpec.securityContext],
      ["alertmanager", v.alertmanager.alertmanagerSpec.securityContext],
      ["kube-state-metrics", v["kube-state-metrics"].securityContext],
      ["grafana", v.grafana.securityContext],
    ];
    for (const [name, ctx] of pods) expect(restrictedPod(ctx), name).toBe(true);
    const containers: [string, Spec | undefined][] = [
      ["operator", v.prometheusOperator.containerSecurityContext],
      ["kube-state-metrics", v["kube-state-metrics"].containerSecurityContext],
      ["grafana", v.grafana.containerSecurityContext],
      ["grafana sidecars", v.grafana.sidecar.securityContext],
    ];
    for (const [name, ctx] of containers) expect(restrictedContainer(ctx), name).toBe(true);
    const loki = chart("loki");
    for (const [name, ctx] of [["loki", loki.loki.podSecurityContext], ["loki gateway", loki.gateway.podSecurityContext]] as const) expect(restrictedPod(ctx), name).toBe(true);
    const lokiContainers: [string, Spec | undefined][] = [
      ["loki", loki.loki.containerSecurityContext],
      ["loki gateway", loki.gateway.containerSecurityContext],
      ["loki rules sidecar", loki.sidecar.securityContext],
    ];
    for (const [name, ctx] of lokiContainers) expect(restrictedContainer(ctx), name).toBe(true);
    // Host namespaces and root init containers: not deployed.
    expect(v.nodeExporter.enabled).toBe(false);
    expect(v.grafana.initChownData.enabled).toBe(false);
    expect(v.grafana.testFramework.enabled).toBe(false);
    expect(v.prometheusOperator.admissionWebhooks.patch.enabled).toBe(false);
  });

  it("denies all ingress and egress in the namespace by default", () => {
    const deny = policies.filter((p) => Object.keys(p.spec.podSelector).length === 0 && p.spec.ingress === undefined && p.spec.egress === undefined);
    expect(deny.map((p) => p.spec.policyTypes)).toEqual([["Ingress", "Egress"]]);
    expect(allowed(policies, pod("other"), { ip: "203.0.113.7" }, 443)).toBe(false);
    expect(allowed(policies, pod("other"), pod("prometheus"), 9090)).toBe(false);
    // DNS for every pod, nothing else for a pod nobody allowed.
    for (const name of Object.keys(PODS) as Pod[]) {
      for (const protocol of ["UDP", "TCP"]) expect(allowed(policies, pod(name), { ns: "kube-system", labels: { "k8s-app": "kube-dns" } }, 53, protocol), `${name} DNS ${protocol}`).toBe(true);
    }
  });

  it("opens Alertmanager's API only to Prometheus, Grafana and the Loki ruler; its peers gossip; it reaches the receivers", () => {
    // Alertmanager's side (the Loki ruler's egress is Loki's policy).
    const may = (Object.keys(PODS) as Pod[]).filter((p) => side(policies, ns, PODS.alertmanager, "Ingress", pod(p), 9093, "TCP"));
    expect(may.sort()).toEqual(["grafana", "lokiRuler", "lokiSingleBinary", "prometheus"]);
    expect(allowed(policies, pod("prometheus", s.authWorkload.namespace), pod("alertmanager"), 9093)).toBe(false);
    for (const protocol of ["TCP", "UDP"]) expect(allowed(policies, pod("alertmanager"), pod("alertmanager"), 9094, protocol)).toBe(true);
    expect(allowed(policies, pod("other"), pod("alertmanager"), 9094)).toBe(false);
    expect(allowed(policies, pod("alertmanager"), { ip: "203.0.113.7" }, 443)).toBe(true);
    const smtp = renderStack(s).routing.global.smtp;
    if (smtp) expect(allowed(policies, pod("alertmanager"), { ip: "203.0.113.7" }, Number(smtp.smarthost.split(":")[1]))).toBe(true);
    expect(allowed(policies, pod("alertmanager"), { ip: "203.0.113.7" }, 22)).toBe(false);
  });

  it("lets Prometheus scrape, Grafana query, the shipper push, and the API clients reach the API server", () => {
    const targets: [Pod, number][] = [["alertmanager", 9093], ["grafana", 3000], ["kubeStateMetrics", 8080], ["pushgateway", 9091], ["blackboxExporter", 9115], ["postgresExporter", 9187], ["prometheus", 9090]];
    for (const [target, port] of targets) expect(allowed(policies, pod("prometheus"), pod(target), port), `prometheus -> ${target}:${port}`).toBe(true);
    const operatorPort = s.cluster!.admissionWebhooks === "cert-manager" ? 10250 : 8080;
    expect(allowed(policies, pod("prometheus"), pod("operator"), operatorPort)).toBe(true);
    expect(allowed(policies, pod("prometheus"), pod("other", s.authWorkload.namespace), 8080)).toBe(true);
    for (const [target, port] of [["prometheus", 9090], ["alertmanager", 9093]] as const) expect(allowed(policies, pod("grafana"), pod(target), port)).toBe(true);
    expect(allowed(policies, pod("other"), pod("grafana"), 3000)).toBe(false);
    // Grafana queries through the gateway; the shipper pushes to the write path (the next test), not through the gateway.
    expect(allowed(policies, pod("grafana"), pod("lokiGateway"), 8080)).toBe(true);
    expect(allowed(policies, pod("alloy"), pod("lokiGateway"), 8080)).toBe(false);
    for (const client of ["operator", "grafana", "alloy", "kubeStateMetrics", "prometheus"] as const) expect(allowed(policies, pod(client), { ip: "10.0.0.1" }, 443), client).toBe(true);
    expect(allowed(policies, pod("databaseJobs"), pod("pushgateway"), 9091)).toBe(true);
    expect(allowed(policies, pod("databaseJobs"), pod("alertmanager"), 9093)).toBe(false);
  });

  it("lets the shipper push to Loki's write path, and Loki reach its peers, the ruler's Alertmanager, the API server and S3", () => {
    const single = s.cluster!.loki.mode === "single-binary";
    const writer = single ? pod("lokiSingleBinary") : pod("lokiWrite");
    const ruler = single ? pod("lokiSingleBinary") : pod("lokiRuler");
    expect(allowed(policies, pod("alloy"), writer, 3100), "alloy -> loki write").toBe(true);
    expect(allowed(policies, pod("other"), writer, 3100), "another pod -> loki write").toBe(false);
    expect(allowed(policies, ruler, pod("alertmanager"), 9093), "ruler -> alertmanager").toBe(true);
    expect(allowed(policies, pod("grafana"), pod("lokiGateway"), 8080), "grafana -> gateway").toBe(true);
    if (!single) {
      for (const port of [7946, 9095, 3100]) expect(allowed(policies, writer, ruler, port), `write -> backend :${port}`).toBe(true);
      expect(allowed(policies, pod("lokiGateway"), pod("lokiRuler"), 3100), "gateway -> backend").toBe(true);
    }
    expect(allowed(policies, ruler, { ip: "10.0.0.1" }, 443), "loki rules sidecar -> API server").toBe(true);
    if (s.cluster!.aws.enabled) expect(allowed(policies, writer, { ip: "52.218.0.1" }, 443), "loki -> S3").toBe(true);
    expect(allowed(policies, writer, { ip: "203.0.113.7" }, 22)).toBe(false);
  });

  it("lets only the ingress controller reach Grafana from outside the namespace, when the stack has an ingress", () => {
    const controller = { ns: s.cluster!.ingress.controllerNamespace, labels: { "app.kubernetes.io/name": "ingress-nginx" } };
    expect(allowed(policies, controller, pod("grafana"), 3000)).toBe(s.cluster!.ingress.enabled);
    expect(allowed(policies, { ns: "default", labels: {} }, pod("grafana"), 3000)).toBe(false);
  });

  it("sets the contract's job only on Prometheus' and Alertmanager's web endpoints, not on their config reloaders", () => {
    const v = chart("kube-prometheus-stack");
    const cases = [
      [v.prometheus.serviceMonitor.relabelings, v.prometheus.prometheusSpec.portName ?? "http-web", s.scrapeJobs.prometheus],
      [v.alertmanager.serviceMonitor.relabelings, v.alertmanager.alertmanagerSpec.portName ?? "http-web", s.scrapeJobs.alertmanager],
    ] as const;
    for (const [rules, web, job] of cases) {
      // The operator sets `endpoint` to the port name before the user's relabelings.
      expect(relabel({ job: "kube-prometheus-stack-x", endpoint: web }, rules).job).toBe(job);
      expect(relabel({ job: "kube-prometheus-stack-x", endpoint: "reloader-web" }, rules).job).toBe("kube-prometheus-stack-x");
    }
  });
});

describe("the cert-manager preflight", () => {
  const registered: Registered[] = [];
  afterAll(async () => {
    await pulumi.runtime.disconnect();
  });
  const without = (stack: string, edit: (cluster: Record<string, any>) => void) => {
    const config = deployableConfig(stack) as Record<string, any>;
    edit(config["authwatch:cluster"]);
    return config;
  };

  it.each(["staging", "prod"])("refuses %s (webhook certificates from cert-manager) until cluster.certManager says it is installed", async (stack) => {
    registered.length = 0;
    await expect(runProgram(stack, without(stack, (c) => delete c.certManager), { registered })).rejects.toThrow(
      new RegExp(`stacks/Pulumi\\.${stack}\\.yaml: invalid stack settings:\\n[^]*authwatch:cluster\\.certManager: required by cluster\\.admissionWebhooks = cert-manager[^]*docs/deploy\\.md`),
    );
    expect(registered).toEqual([]);
  });

  it("refuses an ingress whose annotations ask cert-manager for the certificate, without the acknowledgement", async () => {
    registered.length = 0;
    const config = without("prod", (c) => {
      delete c.certManager;
      c.admissionWebhooks = "disabled";
    });
    await expect(runProgram("prod", config, { registered })).rejects.toThrow(/authwatch:cluster\.certManager: required by cluster\.ingress\.annotations \(cert-manager\.io\/cluster-issuer\)/);
    expect(registered).toEqual([]);
  });

  it("does not ask a stack that needs no cert-manager (dev)", async () => {
    registered.length = 0;
    await runProgram("dev", deployableConfig("dev"), { registered });
    expect(registered.length).toBeGreaterThan(0);
  });
});

describe("Grafana's public ingress", () => {
  const FILE = "stacks/Pulumi.prod.yaml";
  const problems = (edit: (c: Record<string, any>) => void) => {
    const config = deployableConfig("prod") as Record<string, any>;
    edit(config);
    try {
      parseSettings("prod", config, FILE);
      return "";
    } catch (e) {
      return (e as Error).message;
    }
  };

  it("requires a TLS secret and an https dashboardBaseUrl, naming the file and key", () => {
    expect(problems(() => {})).toBe("");
    expect(problems((c) => delete c["authwatch:cluster"].ingress.tlsSecretName)).toMatch(/stacks\/Pulumi\.prod\.yaml: [^]*authwatch:cluster\.ingress\.tlsSecretName: required when the ingress is enabled/);
    expect(problems((c) => (c["authwatch:dashboardBaseUrl"] = "http://grafana.auth.example.com"))).toMatch(/stacks\/Pulumi\.prod\.yaml: [^]*authwatch:dashboardBaseUrl: must be https:\/\/ when the ingress is enabled/);
    expect(problems((c) => (c["authwatch:cluster"].ingress.enabled = false, c["authwatch:dashboardBaseUrl"] = "http://grafana.internal"))).toBe("");
  });

  it("keeps the dashboards sidecar in the stack's namespace", () => {
    expect(problems((c) => (c["authwatch:grafana"] = { ...(c["authwatch:grafana"] ?? {}), delivery: "sidecar", sidecarNamespace: "dashboards" }))).toMatch(
      /authwatch:grafana\.sidecarNamespace: must be the stack's namespace \(monitoring\)/,
    );
  });
});
