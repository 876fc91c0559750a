/**
 * Who gets authentication, from the feature flags (seed 002, "Feature Flags"):
 * the kill switch and the bypass, the per-platform switches, the gradual
 * rollout by a stable hash of the user id, and user-group targeting. Everyone
 * else is served seed 002's anonymous mode: the request is answered as the
 * anonymous user, with no credentials checked and no tokens issued.
 */
import { createHash } from "node:crypto";
import type { FlagName } from "../../flags/catalog";
import type { FlagValues } from "./flags";

/** Seed 002's `auth.bypass_mode()`: the user every anonymous request acts as. */
export const ANONYMOUS_USER_ID = "00000000-0000-0000-0000-000000000000";
/** The response header that tells a client how it was served: "authenticated" or "anonymous". */
export const AUTH_MODE_HEADER = "x-auth-mode";
/** The request header a client names its platform in (the traffic generator sends it). */
export const PLATFORM_HEADER = "x-platform";

export const PLATFORMS = ["web", "ios", "android"] as const;
export type Platform = (typeof PLATFORMS)[number];
const PLATFORM_FLAG: Record<Platform, FlagName> = { web: "auth_enabled_web", ios: "auth_enabled_ios", android: "auth_enabled_android" };

/** The demo's user groups: a user's group follows from its id (every tenth is staff, two in ten are beta testers). */
export const USER_GROUPS = ["staff", "beta", "customers"] as const;
export function groupOf(userId: number): (typeof USER_GROUPS)[number] {
  const r = userId % 10;
  return r === 0 ? "staff" : r <= 2 ? "beta" : "customers";
}

/**
 * The user's rollout bucket, 0–99: the first 32 bits of SHA-256 of the decimal
 * user id, mod 100. Stable across processes, restarts and releases, so a user
 * stays in (or out of) the rollout, and raising the percentage only adds users.
 */
export function rolloutBucket(userId: string | number): number {
  return createHash("sha256").update(String(userId)).digest().readUInt32BE(0) % 100;
}

export type AnonymousReason = "bypass" | "auth_disabled" | "platform_disabled" | "not_in_rollout" | "group_not_targeted";
export type AuthMode = { readonly mode: "authenticated" } | { readonly mode: "anonymous"; readonly reason: AnonymousReason };

export interface Caller {
  /** The platform the client named (PLATFORM_HEADER); an unknown or missing one is held to the global switches only. */
  readonly platform?: string;
  /** The user, where the request names one (a login's e-mail, a token's holder); rollout and groups apply to known users only. */
  readonly userId?: number;
}

const isPlatform = (p: string | undefined): p is Platform => (PLATFORMS as readonly string[]).includes(p ?? "");

/** How this caller is served under these flags. The first rule that turns authentication off names the reason. */
export function authMode(f: FlagValues, c: Caller): AuthMode {
  const anonymous = (reason: AnonymousReason): AuthMode => ({ mode: "anonymous", reason });
  if (f.auth_bypass) return anonymous("bypass");
  if (!f.auth_enabled) return anonymous("auth_disabled");
  if (isPlatform(c.platform) && !f[PLATFORM_FLAG[c.platform]]) return anonymous("platform_disabled");
  if (c.userId !== undefined) {
    if (rolloutBucket(c.userId) >= f.auth_rollout_percentage) return anonymous("not_in_rollout");
    if (f.auth_groups.length > 0 && !f.auth_groups.includes(groupOf(c.userId))) return anonymous("group_not_targeted");
  }
  return { mode: "authenticated" };
}

/** The body of an answer in anonymous mode (HTTP 200 on every /v1 route). */
export function anonymousAnswer(reason: AnonymousReason): { authMode: "anonymous"; reason: AnonymousReason; userId: string } {
  return { authMode: "anonymous", reason, userId: ANONYMOUS_USER_ID };
}
