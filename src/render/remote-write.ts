/**
 * The remote_write entry of settings remoteWrite, in the two shapes that carry it: Prometheus'
 * own configuration (snake_case, the credential read from a file) and the Prometheus operator's
 * RemoteWriteSpec (camelCase, the credential read from a Kubernetes Secret). Neither holds the
 * credential itself.
 */
import { REMOTE_WRITE_KINDS, type RemoteWriteSettings } from "../settings";

/** Where a plain Prometheus reads the credential, relative to its configuration file. */
export const REMOTE_WRITE_CREDENTIAL_FILE = "secrets/remote-write-credential";
/** The Secret's keys (src/pulumi/remote-write.ts writes it). */
export const REMOTE_WRITE_SECRET_KEYS = { username: "username", credential: "credential" } as const;

const name = (r: RemoteWriteSettings) => `${r.kind}-${new URL(r.url).hostname}`.slice(0, 63);
const headers = (r: RemoteWriteSettings) => (r.tenant ? { headers: { [REMOTE_WRITE_KINDS[r.kind].tenantHeader]: r.tenant } } : {});

/** prometheus.yml's `remote_write:` entry. */
export function remoteWriteConfig(r: RemoteWriteSettings, credentialFile = REMOTE_WRITE_CREDENTIAL_FILE): Record<string, unknown> {
  const q = r.queue;
  return {
    url: r.url,
    name: name(r),
    remote_timeout: r.remoteTimeout,
    ...headers(r),
    ...(r.auth === "basic" ? { basic_auth: { username: r.username, password_file: credentialFile } } : {}),
    ...(r.auth === "bearer" ? { authorization: { type: "Bearer", credentials_file: credentialFile } } : {}),
    queue_config: {
      capacity: q.capacity,
      min_shards: q.minShards,
      max_shards: q.maxShards,
      max_samples_per_send: q.maxSamplesPerSend,
      batch_send_deadline: q.batchSendDeadline,
      min_backoff: q.minBackoff,
      max_backoff: q.maxBackoff,
    },
  };
}

/** prometheusSpec.remoteWrite's entry: the credential (and the user) from Secret `secret`. */
export function remoteWriteSpec(r: RemoteWriteSettings, secret: string): Record<string, unknown> {
  const q = r.queue;
  const key = (k: keyof typeof REMOTE_WRITE_SECRET_KEYS) => ({ name: secret, key: REMOTE_WRITE_SECRET_KEYS[k] });
  return {
    url: r.url,
    name: name(r),
    remoteTimeout: r.remoteTimeout,
    ...headers(r),
    ...(r.auth === "basic" ? { basicAuth: { username: key("username"), password: key("credential") } } : {}),
    ...(r.auth === "bearer" ? { authorization: { type: "Bearer", credentials: key("credential") } } : {}),
    queueConfig: {
      capacity: q.capacity,
      minShards: q.minShards,
      maxShards: q.maxShards,
      maxSamplesPerSend: q.maxSamplesPerSend,
      batchSendDeadline: q.batchSendDeadline,
      minBackoff: q.minBackoff,
      maxBackoff: q.maxBackoff,
    },
  };
}
