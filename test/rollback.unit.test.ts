// The rollback's pure parts: the command line, what an undo restores from
// rollback_log, the log line format, and command-line flag values.
import { describe, expect, it } from "vitest";
import { parseFlagValue } from "../src/flags/store";
import { parseSettings } from "../src/settings";
import { parseRollbackArgs } from "../src/rollback/args";
import { flagsBeforeRollbacks, logLine, type LoggedRun } from "../src/rollback/log";

describe("parseRollbackArgs", () => {
  it("reads the options, trimming the reason", () => {
    expect(parseRollbackArgs(["--reason", "  errors  ", "--revoke-sessions", "--yes", "--stack", "prod", "--field", "estimated_time=1h"])).toMatchObject({
      reason: "errors",
      revokeSessions: true,
      yes: true,
      stack: "prod",
      fields: ["estimated_time=1h"],
      undo: false,
      dryRun: false,
      drill: false,
    });
  });

  it("a drill checks the rollback role's grants: authwatch_rollback unless --rollback-role names another", () => {
    const drill = ["--reason", "drill", "--dry-run", "--drill", "--stack", "staging"];
    expect(parseRollbackArgs(drill).rollbackRole).toBe("authwatch_rollback");
    expect(parseRollbackArgs([...drill, "--rollback-role", "ops_rollback"]).rollbackRole).toBe("ops_rollback");
    expect(parseRollbackArgs(["--reason", "x", "--dry-run"]).rollbackRole).toBeUndefined();
  });

  it.each([
    [[], /--reason/],
    [["--reason", "x", "--dry-run", "--rollback-role", "r"], /--rollback-role is for --drill/],
    [["--reason", " "], /--reason/],
    [["--reason", "x", "--undo", "--revoke-sessions"], /cannot be combined/],
    [["--reason", "x", "--undo", "--field", "a=b"], /--undo posts nothing/],
    [["--reason", "x", "--drill", "--stack", "s"], /--drill runs with --dry-run/],
    [["--reason", "x", "--drill", "--dry-run"], /--drill needs --stack/],
    [["--reason", "x", "positional"], /positional/i],
  ])("refuses %j", (argv, message) => expect(() => parseRollbackArgs(argv as string[])).toThrow(message as RegExp));
});

describe("flagsBeforeRollbacks", () => {
  const run = (id: number, flags: [string, unknown, unknown, boolean][]): LoggedRun => ({
    id,
    kind: "rollback",
    actions: [{ step: "s", status: "done", seconds: 0, detail: "", flags: flags.map(([flag, before, after, changed]) => ({ flag, before, after, changed }) as never) }],
  });

  it("takes each flag's value before the first rollback that changed it", () => {
    const restore = flagsBeforeRollbacks([
      run(1, [["auth_bypass", false, true, true]]),
      run(2, [["auth_bypass", true, true, false], ["auth_enabled", true, false, true]]),
      run(3, [["auth_bypass", "manual", true, true]]),
    ]);
    expect([...restore]).toEqual([
      ["auth_bypass", false],
      ["auth_enabled", true],
    ]);
  });

  it("restores nothing when no rollback changed a flag", () => {
    expect(flagsBeforeRollbacks([run(1, [["auth_bypass", true, true, false]])]).size).toBe(0);
    expect(flagsBeforeRollbacks([]).size).toBe(0);
  });
});

describe("log lines", () => {
  it("start with evt, at, level as docs/telemetry.md's logs do", () => {
    const line = logLine("auth.rollback", "info", { step: "enable_bypass", status: "done" }, new Date("2026-11-30T03:00:00Z"));
    expect(line).toBe('{"evt":"auth.rollback","at":"2026-11-30T03:00:00.000Z","level":"info","step":"enable_bypass","status":"done"}');
  });
});

describe("parseFlagValue", () => {
  it.each([
    ["auth_bypass", "on", true],
    ["auth_enabled", "FALSE", false],
    ["auth_rollout_percentage", "40%", 40],
    ["auth_rollout_percentage", "0", 0],
    ["auth_groups", "staff, beta", ["staff", "beta"]],
    ["auth_groups", "[]", []],
    ["auth_groups", "", []],
  ])("%s %j → %j", (name, text, value) => expect(parseFlagValue(name, text)).toEqual(value));

  it.each([
    ["auth_bypass", "1"],
    ["auth_rollout_percentage", "40.5"],
    ["auth_rollout_percentage", "-1"],
    ["auth_groups", "staff,,beta"],
    ["auth_groups", "[1]"],
    ["auth_nope", "true"],
  ])("refuses %s %j", (name, text) => expect(() => parseFlagValue(name, text)).toThrow(new RegExp(name)));
});

describe("the rollback settings block", () => {
  const settings = (rollback: unknown) =>
    parseSettings("t", { "authwatch:environment": "dev", "authwatch:routing": { mode: "chat-only", slackAuthChannel: "#t" }, "authwatch:rollback": rollback }, "Pulumi.t.yaml");

  it("defaults to no webhook and seed 002's two hours", () => {
    expect(settings(undefined).rollback).toEqual({ estimatedResolution: "2 hours" });
    expect(settings({ statusPageWebhookUrl: "https://status.example.com/api/incidents" }).rollback.statusPageWebhookUrl).toBe("https://status.example.com/api/incidents");
  });

  it("refuses a webhook URL carrying a credential, and unknown keys, naming the setting", () => {
    expect(() => settings({ statusPageWebhookUrl: "https://user:secret@status.example.com/x" })).toThrow(
      /authwatch:rollback\.statusPageWebhookUrl: must not carry a user or password/,
    );
    expect(() => settings({ webhook: "https://status.example.com" })).toThrow(/authwatch:rollback: .*"webhook"/);
    expect(() => settings({ statusPageWebhookUrl: "not a url" })).toThrow(/authwatch:rollback\.statusPageWebhookUrl: must be an absolute URL/);
  });
});
