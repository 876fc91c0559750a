/**
 * The demo service's flag client without a database: NOTIFY payloads are
 * read as the table's constraints read them (anything else is ignored with a
 * log line), a change applies at once, the gauge follows, and the HTTP API
 * answers in anonymous mode when the flags say so.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { FLAG_NAMES, FLAGS, flagGaugeValue } from "../src/flags/catalog";
import { ANONYMOUS_USER_ID, AUTH_MODE_HEADER, PLATFORM_HEADER } from "../src/local/demo/access";
import { FlagState, parseFlagNotification } from "../src/local/demo/flags";
import { startDemo, type Demo } from "../src/local/demo/http";
import { DEMO_PASSWORD } from "../src/local/demo/service";
import { freePort } from "../src/local/net";

const notify = (row: unknown) => JSON.stringify(row);

describe("NOTIFY payloads", () => {
  it("reads the trigger's {name, value, active} for every kind of flag", () => {
    expect(parseFlagNotification(notify({ name: "auth_enabled", value: false, active: true }))).toEqual({ ok: true, name: "auth_enabled", value: false, active: true });
    expect(parseFlagNotification(notify({ name: "auth_rollout_percentage", value: 25, active: true }))).toMatchObject({ ok: true, value: 25 });
    expect(parseFlagNotification(notify({ name: "auth_groups", value: ["staff", "beta"], active: true }))).toMatchObject({ ok: true, value: ["staff", "beta"] });
    // A deleted or deactivated row: the flag falls back to its default, whatever the value.
    expect(parseFlagNotification(notify({ name: "auth_bypass", value: true, active: false }))).toMatchObject({ ok: true, active: false });
  });

  it("refuses an unknown flag, a value of the wrong kind, and what is not JSON, each with its reason", () => {
    const no = (payload: string | undefined) => {
      const u = parseFlagNotification(payload);
      expect(u.ok).toBe(false);
      return u.ok ? "" : u.why;
    };
    expect(no(notify({ name: "auth_everything", value: true, active: true }))).toMatch(/unknown flag "auth_everything" ignored/);
    expect(no(notify({ name: "auth_rollout_percentage", value: 101, active: true }))).toMatch(/auth_rollout_percentage is a percentage flag/);
    expect(no(notify({ name: "auth_enabled", value: "false", active: true }))).toMatch(/auth_enabled is a switch flag/);
    expect(no(notify({ name: "auth_groups", value: "staff", active: true }))).toMatch(/auth_groups is a groups flag/);
    expect(no(notify({ name: "auth_enabled", value: false }))).toMatch(/"active" is not a boolean/);
    expect(no("{not json")).toMatch(/unreadable payload/);
    expect(no(undefined)).toMatch(/unreadable payload/);
  });
});

describe("the auth_feature_flag gauge", () => {
  it("takes its help text from the telemetry contract (src/telemetry.ts METRICS), the one place it is written", async () => {
    // A contract whose help text differs: the gauge must say what the contract says.
    vi.resetModules();
    vi.doMock("../src/telemetry", async (original) => {
      const real = await original<typeof import("../src/telemetry")>();
      return { ...real, METRICS: { ...real.METRICS, auth_feature_flag: { ...real.METRICS.auth_feature_flag, help: "the contract says so" } } };
    });
    try {
      const { registerFlagGauge } = await import("../src/local/demo/flags");
      const registry = new Registry();
      registerFlagGauge(registry, () => new FlagState(() => undefined).values);
      expect(await registry.metrics()).toContain("# HELP auth_feature_flag the contract says so\n");
    } finally {
      vi.doUnmock("../src/telemetry");
      vi.resetModules();
    }
  });
});

describe("FlagState", () => {
  it("applies a change at once and logs it; an unknown flag changes nothing and is logged", () => {
    const lines: string[] = [];
    const s = new FlagState((l) => lines.push(l));
    expect(s.apply(parseFlagNotification(notify({ name: "auth_enabled", value: false, active: true })), "NOTIFY")).toBe(true);
    expect(s.values.auth_enabled).toBe(false);
    expect(lines.at(-1)).toBe("flags: auth_enabled = false (NOTIFY)");
    const before = { ...s.values };
    expect(s.apply(parseFlagNotification(notify({ name: "auth_turbo", value: true, active: true })), "NOTIFY")).toBe(false);
    expect(s.values).toEqual(before);
    expect(lines.at(-1)).toBe('flags: NOTIFY: unknown flag "auth_turbo" ignored');
  });

  it("an inactive row means the default; the same value twice is no change", () => {
    const s = new FlagState(() => undefined);
    s.apply({ ok: true, name: "auth_bypass", value: true, active: true }, "NOTIFY");
    expect(s.apply({ ok: true, name: "auth_bypass", value: true, active: true }, "NOTIFY")).toBe(false);
    s.apply({ ok: true, name: "auth_bypass", value: true, active: false }, "NOTIFY");
    expect(s.values.auth_bypass).toBe(FLAGS.auth_bypass.default);
  });

  it("a full load sets every flag: rows that are missing or inactive take their defaults, bad rows are logged", () => {
    const lines: string[] = [];
    const s = new FlagState((l) => lines.push(l));
    s.apply({ ok: true, name: "auth_groups", value: ["staff"], active: true }, "NOTIFY");
    s.load(
      [
        { name: "auth_enabled", value: false, active: true },
        { name: "auth_rollout_percentage", value: 30, active: false },
        { name: "auth_legacy", value: true, active: true },
      ],
      "start",
    );
    expect(s.source).toBe("database");
    expect(s.values.auth_enabled).toBe(false);
    expect(s.values.auth_rollout_percentage).toBe(FLAGS.auth_rollout_percentage.default);
    expect(s.values.auth_groups).toEqual(FLAGS.auth_groups.default);
    expect(lines).toContain('flags: start: unknown flag "auth_legacy" ignored');
  });
});

describe("the demo's HTTP API under the flags (no database: the defaults, then changes applied by hand)", () => {
  const dir = mkdtempSync(join(tmpdir(), "authwatch-demo-flags-"));
  const lines: string[] = [];
  let demo: Demo;
  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${demo.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
    return { status: res.status, mode: res.headers.get(AUTH_MODE_HEADER), json: (await res.json()) as Record<string, unknown> };
  };
  const set = (name: string, value: unknown) => demo.flags.state.apply(parseFlagNotification(notify({ name, value, active: true })), "test");

  beforeAll(async () => {
    demo = await startDemo({ port: await freePort(), logFile: join(dir, "auth.jsonl"), traffic: false, print: (l) => lines.push(l) });
  });
  afterAll(async () => {
    await demo?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("starts on the defaults and says so", () => {
    expect(lines[0]).toMatch(/^flags: no DATABASE_URL; the defaults apply: auth_enabled=true auth_bypass=false/);
  });

  it("with auth on, a login authenticates (tokens, x-auth-mode: authenticated)", async () => {
    const r = await post("/v1/login", { email: "user3@example.com", password: DEMO_PASSWORD });
    expect(r.status).toBe(200);
    expect(r.mode).toBe("authenticated");
    expect(typeof r.json.accessToken).toBe("string");
  });

  it("with auth_enabled off, every route answers 200 as the anonymous user, even a wrong password; /health says so", async () => {
    set("auth_enabled", false);
    const r = await post("/v1/login", { email: "user3@example.com", password: "wrong" });
    expect(r).toEqual({ status: 200, mode: "anonymous", json: { authMode: "anonymous", reason: "auth_disabled", userId: ANONYMOUS_USER_ID } });
    const me = await fetch(`${demo.url}/v1/me`);
    expect(me.status).toBe(200);
    expect(me.headers.get(AUTH_MODE_HEADER)).toBe("anonymous");
    const health = (await (await fetch(`${demo.url}/health`)).json()) as Record<string, string>;
    expect(health).toEqual({ status: "ok", auth: "anonymous (auth_disabled)", flags: "defaults" });
    set("auth_enabled", true);
  });

  it("anonymous answers are no auth events: no login is counted while the bypass is on", async () => {
    const logins = async () => {
      const text = await (await fetch(`${demo.url}/metrics`)).text();
      return [...text.matchAll(/^auth_logins_total\{[^}]*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    };
    const before = await logins();
    set("auth_bypass", true);
    expect((await post("/v1/login", { email: "user4@example.com", password: DEMO_PASSWORD })).json.reason).toBe("bypass");
    expect(await logins()).toBe(before);
    set("auth_bypass", false);
  });

  it("a platform switch serves that platform anonymously and leaves the others authenticated", async () => {
    set("auth_enabled_android", false);
    expect((await post("/v1/login", { email: "user5@example.com", password: DEMO_PASSWORD }, { [PLATFORM_HEADER]: "android" })).json.reason).toBe("platform_disabled");
    expect((await post("/v1/login", { email: "user5@example.com", password: DEMO_PASSWORD }, { [PLATFORM_HEADER]: "web" })).mode).toBe("authenticated");
    set("auth_enabled_android", true);
  });

  it("exports auth_feature_flag{flag} for every flag, as flagGaugeValue reads it, and follows a change", async () => {
    set("auth_rollout_percentage", 40);
    set("auth_groups", ["staff", "beta"]);
    const text = await (await fetch(`${demo.url}/metrics`)).text();
    const gauge = Object.fromEntries([...text.matchAll(/^auth_feature_flag\{flag="(\w+)"\} (\S+)$/gm)].map((m) => [m[1], Number(m[2])]));
    expect(Object.keys(gauge).sort()).toEqual([...FLAG_NAMES].sort());
    expect(gauge).toEqual(Object.fromEntries(FLAG_NAMES.map((n) => [n, flagGaugeValue(demo.flags.values[n])])));
    expect(gauge.auth_rollout_percentage).toBe(40);
    expect(gauge.auth_groups).toBe(2);
    expect(gauge.auth_enabled).toBe(1);
  });
});
