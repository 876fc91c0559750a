/**
 * Who the demo service authenticates, from the feature flags (seed 002): the
 * rollout hash is stable and spreads users evenly, and every switch that turns
 * authentication off serves anonymous mode with its reason.
 */
import { describe, expect, it } from "vitest";
import { authMode, groupOf, rolloutBucket } from "../src/local/demo/access";
import { defaultFlags, type FlagValues } from "../src/local/demo/flags";

const flags = (over: Partial<FlagValues>): FlagValues => ({ ...defaultFlags(), ...over });
const ids = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe("rollout bucket: a stable hash of the user id", () => {
  it("is the same for the same user in every process and release (fixture: SHA-256 of the decimal id, first 32 bits mod 100)", () => {
    // Pinned: changing the hash would move users in and out of a running rollout.
    expect([1, 2, 3, 42, 500].map(rolloutBucket)).toEqual([19, 54, 17, 28, 69]);
    expect(rolloutBucket(42)).toBe(rolloutBucket("42"));
  });

  it("spreads 10,000 users evenly over the 100 buckets (each tenth within 15 % of its share)", () => {
    const deciles = new Array<number>(10).fill(0);
    for (const id of ids(10_000)) deciles[Math.floor(rolloutBucket(id) / 10)]!++;
    for (const d of deciles) expect(Math.abs(d - 1000)).toBeLessThan(150);
  });

  it("a percentage p authenticates about p % of the users, and raising it only adds users", () => {
    const users = ids(10_000);
    const inAt = (p: number) => new Set(users.filter((u) => authMode(flags({ auth_rollout_percentage: p }), { userId: u }).mode === "authenticated"));
    for (const p of [0, 10, 50, 100]) expect(Math.abs(inAt(p).size - p * 100)).toBeLessThanOrEqual(250);
    expect(inAt(0).size).toBe(0);
    expect(inAt(100).size).toBe(users.length);
    const twenty = inAt(20);
    const fifty = inAt(50);
    expect([...twenty].filter((u) => !fifty.has(u))).toEqual([]);
  });
});

describe("anonymous mode: which switch serves it", () => {
  it("the defaults authenticate everyone, on every platform", () => {
    for (const platform of ["web", "ios", "android", undefined]) expect(authMode(defaultFlags(), { platform, userId: 7 })).toEqual({ mode: "authenticated" });
  });

  it("the bypass and the kill switch turn authentication off for every caller (the bypass named first)", () => {
    expect(authMode(flags({ auth_bypass: true }), {})).toEqual({ mode: "anonymous", reason: "bypass" });
    expect(authMode(flags({ auth_enabled: false }), { userId: 7, platform: "web" })).toEqual({ mode: "anonymous", reason: "auth_disabled" });
    expect(authMode(flags({ auth_bypass: true, auth_enabled: false }), {})).toEqual({ mode: "anonymous", reason: "bypass" });
  });

  it("a platform switch acts on that platform only; an unknown platform follows the global switches", () => {
    const f = flags({ auth_enabled_ios: false });
    expect(authMode(f, { platform: "ios" })).toEqual({ mode: "anonymous", reason: "platform_disabled" });
    expect(authMode(f, { platform: "android" }).mode).toBe("authenticated");
    expect(authMode(f, { platform: "toaster" }).mode).toBe("authenticated");
    expect(authMode(flags({ auth_enabled_web: false, auth_enabled_ios: false, auth_enabled_android: false }), {}).mode).toBe("authenticated");
  });

  it("group targeting authenticates the listed groups only; an empty list means everyone", () => {
    const staff = ids(100).find((u) => groupOf(u) === "staff")!;
    const customer = ids(100).find((u) => groupOf(u) === "customers")!;
    const f = flags({ auth_groups: ["staff"] });
    expect(authMode(f, { userId: staff }).mode).toBe("authenticated");
    expect(authMode(f, { userId: customer })).toEqual({ mode: "anonymous", reason: "group_not_targeted" });
    expect(authMode(flags({ auth_groups: [] }), { userId: customer }).mode).toBe("authenticated");
    // A request that names no user cannot be targeted by group or rollout.
    expect(authMode(f, {}).mode).toBe("authenticated");
  });

  it("a user outside the rollout is served anonymously", () => {
    const out = ids(100).find((u) => rolloutBucket(u) >= 50)!;
    expect(authMode(flags({ auth_rollout_percentage: 50 }), { userId: out })).toEqual({ mode: "anonymous", reason: "not_in_rollout" });
  });
});
