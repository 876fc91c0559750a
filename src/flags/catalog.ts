/**
 * The feature flags of seed 002 ("Feature Flags"): the one list the schema's
 * constraints, the flags and rollback commands, the demo service and the
 * `auth_feature_flag{flag}` gauge are written from.
 */

export type FlagKind = "switch" | "percentage" | "groups";

export interface FlagSpec {
  readonly kind: FlagKind;
  /** The value a fresh database holds (migration seed) and a service assumes when the row is missing. */
  readonly default: boolean | number | readonly string[];
  readonly help: string;
}

const flag = <const S extends FlagSpec>(spec: S): S => spec;

export const FLAGS = {
  auth_enabled: flag({ kind: "switch", default: true, help: "Authentication on; off serves seed 002's anonymous mode" }),
  auth_bypass: flag({ kind: "switch", default: false, help: "Requests pass as the anonymous user (seed 002's bypass)" }),
  auth_rollout_percentage: flag({ kind: "percentage", default: 100, help: "Share of users (stable hash of the user id) that get authentication" }),
  auth_enabled_web: flag({ kind: "switch", default: true, help: "Authentication on for the web platform" }),
  auth_enabled_ios: flag({ kind: "switch", default: true, help: "Authentication on for iOS" }),
  auth_enabled_android: flag({ kind: "switch", default: true, help: "Authentication on for Android" }),
  auth_groups: flag({ kind: "groups", default: [], help: "User groups authentication is limited to; empty means every group" }),
} as const satisfies Record<string, FlagSpec>;

export type FlagName = keyof typeof FLAGS;
export const FLAG_NAMES = Object.keys(FLAGS) as FlagName[];

/** The NOTIFY channel the feature_flags trigger sends on; the payload is the row as JSON (name, value, active). */
export const FLAG_CHANNEL = "feature_flags";

/**
 * The flag as the `auth_feature_flag{flag}` gauge reports it: 1/0 for a
 * switch, 0–100 for the percentage, the number of groups for a group list.
 */
export function flagGaugeValue(value: unknown): number {
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "number") return value;
  if (Array.isArray(value)) return value.length;
  return Number.NaN;
}
