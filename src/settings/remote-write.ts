/**
 * `authwatch:remoteWrite` (optional): every Prometheus replica also sends what it ingests and records
 * to an existing long-term store, Grafana Mimir or Thanos Receive (docs/settings.md, docs/deploy.md
 * "Long-term storage"). The credential is the secret `authwatch:remoteWriteCredential` (the basic-auth
 * password or the bearer token); it never appears in these settings nor in a rendered file.
 *
 * Queue defaults are sized for one replica with 1 M active series scraped every 30 s (the rules bench,
 * README "Scale"): 33 k samples/s. A shard sends up to maxSamplesPerSend samples a request; at 2,000
 * and a store answering in ~250 ms a shard carries ~8 k samples/s, so minShards 4 keeps up without
 * resharding, and maxShards 50 (~400 k samples/s) catches up ~12× the steady rate after the store was
 * away (Prometheus re-reads its WAL, about 2 h). capacity = 5 × maxSamplesPerSend per shard keeps a
 * shard's next batches ready (Prometheus' guidance: 3-10×); worst-case buffer 50 × 10,000 samples.
 */
import { z } from "zod";
import { count, duration, obj, url, type IssueSink } from "./fields";

/** What each store takes: its push path and the header naming the tenant. */
export const REMOTE_WRITE_KINDS = {
  mimir: { path: "/api/v1/push", tenantHeader: "X-Scope-OrgID" },
  thanos: { path: "/api/v1/receive", tenantHeader: "THANOS-TENANT" },
} as const;
export type RemoteWriteKind = keyof typeof REMOTE_WRITE_KINDS;

/** The one secret of remote_write: the basic-auth password, or the bearer token. */
export const REMOTE_WRITE_SECRET_KEY = "remoteWriteCredential";

export const remoteWriteSchema = z
  .object({
    url,
    kind: z.enum(["mimir", "thanos"], { error: "must be mimir or thanos (the store remote_write sends to)" }),
    /** basic: username + the secret as password (Mimir behind a gateway, Grafana Cloud); bearer: the secret as token; none: a store on a private network. */
    auth: z.enum(["basic", "bearer", "none"]).default("basic"),
    /** The basic-auth user (Mimir's gateways often take the tenant id). */
    username: z.string().min(1).optional(),
    /** Sent in the kind's tenant header (X-Scope-OrgID for Mimir, THANOS-TENANT for Thanos). */
    tenant: z.string().regex(/^[A-Za-z0-9_.-]{1,150}$/, "must be 1-150 letters, digits, _, . or - (a tenant id)").optional(),
    remoteTimeout: duration.default("30s"),
    queue: obj({
      capacity: count.default(10000),
      minShards: count.default(4),
      maxShards: count.default(50),
      maxSamplesPerSend: count.default(2000),
      batchSendDeadline: duration.default("5s"),
      minBackoff: duration.default("30ms"),
      maxBackoff: duration.default("5s"),
    }),
  })
  .strict();
export type RemoteWriteSettings = z.infer<typeof remoteWriteSchema>;

/** Cross-field rules; paths are under remoteWrite. */
export function remoteWriteProblems(r: RemoteWriteSettings | undefined, ctx: IssueSink): void {
  if (!r) return;
  const add = (path: string[], message: string) => ctx.addIssue({ code: "custom", path: ["remoteWrite", ...path], message });
  const u = new URL(r.url);
  const expected = REMOTE_WRITE_KINDS[r.kind].path;
  if (!u.pathname.endsWith(expected)) add(["url"], `must end with ${expected} (${r.kind}'s remote-write endpoint), e.g. https://${u.host}${expected}`);
  if (r.auth !== "none" && u.protocol !== "https:") add(["url"], `must be https:// when auth is ${r.auth} (the credential would cross the network in clear)`);
  if (u.username || u.password) add(["url"], `must not carry credentials: set remoteWrite.username and the secret ${REMOTE_WRITE_SECRET_KEY}`);
  if (r.auth === "basic" && !r.username) add(["username"], "required when auth is basic");
  if (r.auth !== "basic" && r.username) add(["username"], `is only used when auth is basic (auth is ${r.auth})`);
  if (r.queue.minShards > r.queue.maxShards) add(["queue", "minShards"], `must be at most maxShards (${r.queue.maxShards})`);
  if (r.queue.capacity < r.queue.maxSamplesPerSend) add(["queue", "capacity"], `must be at least maxSamplesPerSend (${r.queue.maxSamplesPerSend}): a shard fills its batches from it`);
}
