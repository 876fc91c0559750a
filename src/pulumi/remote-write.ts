/**
 * remote_write to a long-term store (settings remoteWrite): the Secret holding its credential, which
 * prometheusSpec.remoteWrite names (src/pulumi/prometheus.ts). The credential is the Pulumi secret
 * authwatch:remoteWriteCredential: encrypted in state, never in the chart's values.
 */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { REMOTE_WRITE_SECRET_KEYS, remoteWriteSpec } from "../render/remote-write";
import type { Settings } from "../settings";
import { metadata, secretConfig } from "./cluster";

export const REMOTE_WRITE_SECRET = "prometheus-remote-write";

/** prometheusSpec.remoteWrite: empty without the setting. */
export function prometheusRemoteWrite(s: Settings): Record<string, unknown>[] {
  return s.remoteWrite ? [remoteWriteSpec(s.remoteWrite, REMOTE_WRITE_SECRET)] : [];
}

/** The Secret prometheusSpec.remoteWrite reads (none when the store takes no credential). */
export function remoteWriteSecret(s: Settings, parent: pulumi.Resource): k8s.core.v1.Secret | undefined {
  const r = s.remoteWrite;
  if (!r || r.auth === "none") return undefined;
  return new k8s.core.v1.Secret(
    REMOTE_WRITE_SECRET,
    {
      metadata: metadata(s, REMOTE_WRITE_SECRET, "prometheus"),
      type: "Opaque",
      stringData: {
        ...(r.auth === "basic" ? { [REMOTE_WRITE_SECRET_KEYS.username]: r.username! } : {}),
        [REMOTE_WRITE_SECRET_KEYS.credential]: secretConfig("remoteWriteCredential"),
      },
    },
    { parent },
  );
}
