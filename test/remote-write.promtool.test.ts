/**
 * Settings remoteWrite rendered into the plain Prometheus configuration the local stack runs
 * (renderStack → prometheus/prometheus.yaml) is accepted by the real promtool (Prometheus 2.42),
 * for each store and each kind of credential; the credential is a file reference, never a value.
 */
import * as path from "node:path";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { loadStackSettings, parseSettings } from "../src/settings";
import { REMOTE_WRITE_CREDENTIAL_FILE } from "../src/render/remote-write";
import { tool } from "./support/promtool";
import { renderToTemp } from "./support/render";
import { stackConfig } from "./support/pulumi";

const STORES = {
  "Mimir with basic auth": { url: "https://mimir.example.com/api/v1/push", kind: "mimir", username: "authwatch-local", tenant: "auth" },
  "Thanos Receive with a bearer token": { url: "https://thanos.example.com/api/v1/receive", kind: "thanos", auth: "bearer", tenant: "auth", queue: { maxShards: 20, minShards: 2 } },
  "a store on a private network": { url: "http://mimir.monitoring.svc:8080/api/v1/push", kind: "mimir", auth: "none" },
} as const;

describe.each(Object.entries(STORES))("remote_write to %s", (_, store) => {
  const settings = parseSettings("local", { ...stackConfig("local"), "authwatch:remoteWrite": store }, "stacks/Pulumi.local.yaml");
  const r = renderToTemp(settings);
  const file = path.join(r.dir, "prometheus", "prometheus.yaml");
  const config = load(r.files.get("prometheus/prometheus.yaml")!) as { remote_write?: Record<string, any>[] };

  it("renders one remote_write entry with the settings' URL and queue, the credential as a file", () => {
    const [rw, ...more] = config.remote_write ?? [];
    expect(more).toEqual([]);
    expect(rw!.url).toBe(store.url);
    const q = settings.remoteWrite!.queue;
    expect(rw!.queue_config).toMatchObject({ capacity: q.capacity, max_shards: q.maxShards, min_shards: q.minShards, max_samples_per_send: q.maxSamplesPerSend });
    const auth = settings.remoteWrite!.auth;
    if (auth === "basic") expect(rw!.basic_auth).toEqual({ username: settings.remoteWrite!.username, password_file: REMOTE_WRITE_CREDENTIAL_FILE });
    if (auth === "bearer") expect(rw!.authorization).toEqual({ type: "Bearer", credentials_file: REMOTE_WRITE_CREDENTIAL_FILE });
    if (auth === "none") expect([rw!.basic_auth, rw!.authorization]).toEqual([undefined, undefined]);
  });

  it("promtool check config accepts it", async () => {
    const res = await tool("promtool", ["check", "config", file]);
    expect(res.ok, res.output).toBe(true);
  });
});

it("the local stack's own settings add no remote_write", () => {
  const r = renderToTemp(loadStackSettings("local"));
  expect((load(r.files.get("prometheus/prometheus.yaml")!) as Record<string, unknown>).remote_write).toBeUndefined();
});
