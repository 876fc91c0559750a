/**
 * Settings remoteWrite under Pulumi's mocks: prometheusSpec.remoteWrite carries the store's URL,
 * tenant header and queue as set, its credential comes from a Secret of ours written from the
 * Pulumi secret (marked secret on the wire, never plain in any input, output or rendered file),
 * the preflight asks for the secret, and bad settings are refused naming the key.
 */
import * as pulumi from "@pulumi/pulumi";
import { afterEach, describe, expect, it } from "vitest";
import { parseSettings } from "../src/settings";
import { remoteWriteSchema } from "../src/settings/remote-write";
import { renderStack } from "../src/synth";
import { deployableConfig, FAKE_SECRETS, one, runProgram, unwrapSecrets, withoutSecrets, type Config, type Registered } from "./support/pulumi";

const CHART = "kubernetes:helm.sh/v4:Chart";
const SECRET = "kubernetes:core/v1:Secret";
const credential = FAKE_SECRETS.remoteWriteCredential;

const MIMIR = { url: "https://mimir.example.com/api/v1/push", kind: "mimir", username: "authwatch-prod", tenant: "auth", queue: { maxShards: 30 } };
const THANOS = { url: "https://thanos-receive.example.com/api/v1/receive", kind: "thanos", auth: "bearer", tenant: "auth" };

const registered: Registered[] = [];
afterEach(async () => {
  await pulumi.runtime.disconnect();
  registered.length = 0;
});

async function deploy(remoteWrite: unknown, edit: (c: Config) => void = () => {}) {
  const config = deployableConfig("prod");
  config["authwatch:remoteWrite"] = remoteWrite;
  edit(config);
  return run(config);
}
const run = (config: Config) => runProgram("prod", config, { registered });

const prometheusSpec = (resources: Registered[]) => unwrapSecrets(one(resources, CHART, "kube-prometheus-stack").wire).values.prometheus.prometheusSpec;

describe("remote_write to Mimir (basic auth)", () => {
  it("adds the store to prometheusSpec.remoteWrite with the queue as set and the credential from our Secret", async () => {
    const { resources } = await deploy(MIMIR);
    const [rw, ...more] = prometheusSpec(resources).remoteWrite;
    expect(more).toEqual([]);
    expect(rw.url).toBe(MIMIR.url);
    expect(rw.headers).toEqual({ "X-Scope-OrgID": "auth" });
    expect(rw.basicAuth).toEqual({ username: { name: "prometheus-remote-write", key: "username" }, password: { name: "prometheus-remote-write", key: "credential" } });
    expect(rw.authorization).toBeUndefined();
    const defaults = remoteWriteSchema.parse({ url: MIMIR.url, kind: "mimir", username: "u" }).queue;
    expect(rw.queueConfig).toEqual({ ...defaults, maxShards: 30 });

    const secret = one(resources, SECRET, "prometheus-remote-write");
    expect(secret.wire.metadata.namespace).toBe(prometheusNamespace(resources));
    expect(unwrapSecrets(secret.wire).stringData).toEqual({ username: MIMIR.username, credential });
    // Encrypted in state: marked secret on the wire, so no plain copy is kept.
    expect(JSON.stringify(withoutSecrets(secret.wire))).not.toContain(credential);
  });

  it("never puts the credential in plain text: not in any resource's inputs, the program's outputs or a rendered file", async () => {
    const { program, resources } = await deploy(MIMIR);
    for (const r of resources) expect(JSON.stringify(withoutSecrets(r.wire)), `${r.type} ${r.name}`).not.toContain(credential);
    expect(JSON.stringify(program)).not.toContain(credential);
    const settings = parseSettings("prod", { ...deployableConfig("prod"), "authwatch:remoteWrite": MIMIR }, "stacks/Pulumi.prod.yaml");
    for (const [file, text] of renderStack(settings).files) expect(text, file).not.toContain(credential);
  });

  it("refuses to deploy without the secret, naming it", async () => {
    await expect(deploy(MIMIR, (c) => delete c["authwatch:remoteWriteCredential"])).rejects.toThrow(
      /authwatch:remoteWriteCredential: required by remote_write to https:\/\/mimir\.example\.com\/api\/v1\/push \(basic-auth password\)/,
    );
  });

  it("refuses the credential as plain text", async () => {
    await expect(deploy(MIMIR, (c) => (c["authwatch:remoteWriteCredential"] = "plain"))).rejects.toThrow(/authwatch:remoteWriteCredential: is a secret/);
  });
});

describe("remote_write to Thanos Receive (bearer token)", () => {
  it("sends the token from our Secret and the tenant in THANOS-TENANT", async () => {
    const { resources } = await deploy(THANOS);
    const [rw] = prometheusSpec(resources).remoteWrite;
    expect(rw.authorization).toEqual({ type: "Bearer", credentials: { name: "prometheus-remote-write", key: "credential" } });
    expect(rw.basicAuth).toBeUndefined();
    expect(rw.headers).toEqual({ "THANOS-TENANT": "auth" });
    expect(unwrapSecrets(one(resources, SECRET, "prometheus-remote-write").wire).stringData).toEqual({ credential });
  });
});

describe("without remoteWrite", () => {
  it("adds no remote_write and no Secret, and asks for no credential", async () => {
    const { resources } = await run(deployableConfig("prod", ["remoteWriteCredential"]));
    expect(prometheusSpec(resources).remoteWrite).toBeUndefined();
    expect(resources.filter((r) => r.type === SECRET && r.name === "prometheus-remote-write")).toEqual([]);
  });
});

describe("bad remoteWrite settings", () => {
  const problems = (rw: unknown) => () => parseSettings("prod", { ...deployableConfig("prod"), "authwatch:remoteWrite": rw }, "stacks/Pulumi.prod.yaml");
  it.each([
    [{ ...MIMIR, url: "https://mimir.example.com/api/v1/receive" }, /authwatch:remoteWrite\.url: must end with \/api\/v1\/push/],
    [{ ...MIMIR, url: "http://mimir.example.com/api/v1/push" }, /authwatch:remoteWrite\.url: must be https:\/\/ when auth is basic/],
    [{ ...MIMIR, url: "https://u:p@mimir.example.com/api/v1/push" }, /authwatch:remoteWrite\.url: must not carry credentials/],
    [{ ...MIMIR, username: undefined }, /authwatch:remoteWrite\.username: required when auth is basic/],
    [{ ...THANOS, username: "x" }, /authwatch:remoteWrite\.username: is only used when auth is basic/],
    [{ ...MIMIR, queue: { minShards: 60 } }, /authwatch:remoteWrite\.queue\.minShards: must be at most maxShards \(50\)/],
    [{ ...MIMIR, queue: { capacity: 100 } }, /authwatch:remoteWrite\.queue\.capacity: must be at least maxSamplesPerSend \(2000\)/],
    [{ ...MIMIR, kind: "cortex" }, /authwatch:remoteWrite\.kind: must be mimir or thanos/],
    [{ ...MIMIR, password: "x" }, /authwatch:remoteWrite: .*"password"/],
  ])("refuses %j", (rw, message) => {
    expect(problems(rw)).toThrow(message);
  });
});

function prometheusNamespace(resources: Registered[]): string {
  return one(resources, CHART, "kube-prometheus-stack").wire.namespace;
}
