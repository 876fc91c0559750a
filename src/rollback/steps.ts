/**
 * Seed 002's rollback steps ("Rollback Automation"), in order, and the undo.
 * Each step can say what it would do (plan: reads only) and do it (run);
 * running a step twice changes nothing the second time. Flag steps commit
 * on their own, so a later failure leaves them as they were done.
 */
import type { Client } from "pg";
import type { StatusPageText } from "../comms/templates";
import { FLAGS, type FlagName } from "../flags/catalog";
import { effectiveValues, formatFlagValue, loadFlags, setFlag, type FlagChange, type FlagValue } from "../flags/store";
import { flagChangedLine, flagsBeforeRollbacks, type LoggedRun, type Sink, type StepRecord } from "./log";

export interface RunContext {
  readonly client: Client;
  readonly actor: string;
  readonly reason: string;
  /** The JSON log (stdout). */
  readonly log: Sink;
  /** Set when --revoke-sessions was given: whether the operator confirmed (or gave --yes). */
  readonly revokeConfirmed: boolean | undefined;
  readonly statusPage: {
    readonly webhookUrl: string | undefined;
    /** Why there is no webhook, for the notice. */
    readonly missing: string;
    readonly token: string | undefined;
    readonly body: StatusPageText;
  };
  /** rollback_log's rollbacks since the last undo (oldest first). */
  readonly previousRuns: readonly LoggedRun[];
  readonly fetch: typeof fetch;
}

export type StepResult = Omit<StepRecord, "step" | "seconds">;

export interface Step {
  readonly name: string;
  /** What it would do now; reads only. */
  plan(ctx: RunContext): Promise<string>;
  run(ctx: RunContext): Promise<StepResult>;
}

/** A failed step: the message is what the operator reads. */
export class StepFailed extends Error {
  override name = "StepFailed";
}

async function currentValues(client: Client): Promise<Record<FlagName, FlagValue>> {
  return effectiveValues(await loadFlags(client));
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Sets flags in one transaction, logging each change; the result lists every flag with before and after. */
async function setFlags(ctx: RunContext, values: ReadonlyMap<FlagName, FlagValue>): Promise<StepResult> {
  const changes: FlagChange[] = [];
  const by = { actor: ctx.actor, reason: ctx.reason };
  await ctx.client.query("BEGIN");
  try {
    for (const [flag, value] of values) changes.push(await setFlag(ctx.client, flag, value, by));
    await ctx.client.query("COMMIT");
  } catch (e) {
    await ctx.client.query("ROLLBACK").catch(() => undefined);
    throw e;
  }
  for (const c of changes) if (c.changed) ctx.log(flagChangedLine(c, by));
  const changed = changes.filter((c) => c.changed);
  const detail =
    changed.length === 0
      ? `${changes.map((c) => `${c.name} already ${formatFlagValue(c.after)}`).join(", ") || "no flag to set"}: nothing changed`
      : changed.map((c) => `${c.name}: ${formatFlagValue(c.before)} → ${formatFlagValue(c.after)}`).join(", ");
  return {
    status: changed.length > 0 ? "done" : "unchanged",
    detail,
    flags: changes.map((c) => ({ flag: c.name, before: c.before, after: c.after, changed: c.changed })),
  };
}

function flagStep(name: string, flag: FlagName, value: FlagValue): Step {
  return {
    name,
    async plan(ctx) {
      const now = (await currentValues(ctx.client))[flag];
      return same(now, value) ? `${flag} is already ${formatFlagValue(value)}: nothing to do` : `set ${flag}: ${formatFlagValue(now)} → ${formatFlagValue(value)}`;
    },
    run: (ctx) => setFlags(ctx, new Map([[flag, value]])),
  };
}

const ACTIVE_FAMILIES = "SELECT count(*)::int AS n FROM refresh_token_families WHERE revoked_at IS NULL";

const revokeSessions: Step = {
  name: "revoke_sessions",
  async plan(ctx) {
    if (ctx.revokeConfirmed === undefined) return "not asked for (--revoke-sessions): sessions stay";
    const { rows } = await ctx.client.query<{ n: number }>(ACTIVE_FAMILIES);
    return `revoke ${rows[0]!.n} active refresh-token families (every user logs in again)`;
  },
  async run(ctx) {
    if (ctx.revokeConfirmed === undefined) return { status: "skipped", detail: "not asked for (--revoke-sessions): sessions stay" };
    if (!ctx.revokeConfirmed) return { status: "skipped", detail: "declined at the confirmation prompt: sessions stay" };
    // Revocation is final and set once (0001_refresh_token_families): only families still active are touched.
    const result = await ctx.client.query("UPDATE refresh_token_families SET revoked_at = now() WHERE revoked_at IS NULL");
    const revoked = result.rowCount ?? 0;
    return {
      status: revoked > 0 ? "done" : "unchanged",
      detail: revoked > 0 ? `revoked ${revoked} refresh-token families` : "no active refresh-token family: nothing to revoke",
      revoked,
    };
  },
};

/** The webhook as printed: its origin only (a path or query may hold a token). */
export const shownUrl = (url: string) => new URL(url).origin;

function alreadyPosted(runs: readonly LoggedRun[]): LoggedRun | undefined {
  return runs.find((r) => r.kind === "rollback" && r.actions.some((a) => a.step === "post_status_page" && a.status === "done"));
}

const postStatusPage: Step = {
  name: "post_status_page",
  async plan(ctx) {
    const { webhookUrl, missing, body } = ctx.statusPage;
    if (!webhookUrl) return `skipped: ${missing}`;
    const posted = alreadyPosted(ctx.previousRuns);
    if (posted) return `already posted by rollback #${posted.id}: nothing to do`;
    return `POST the status-page incident "${body.title}" [${body.status}] to ${shownUrl(webhookUrl)}: ${body.message}`;
  },
  async run(ctx) {
    const { webhookUrl, missing, token, body } = ctx.statusPage;
    if (!webhookUrl) return { status: "skipped", detail: missing };
    const posted = alreadyPosted(ctx.previousRuns);
    if (posted) return { status: "unchanged", detail: `already posted by rollback #${posted.id}` };
    let response: Response;
    try {
      response = await ctx.fetch(webhookUrl, {
        method: "POST",
        headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (e) {
      throw new StepFailed(`the status-page webhook at ${shownUrl(webhookUrl)} could not be reached: ${(e as Error).message}`);
    }
    if (!response.ok) throw new StepFailed(`the status-page webhook at ${shownUrl(webhookUrl)} answered HTTP ${response.status}`);
    return { status: "done", detail: `posted "${body.title}" to ${shownUrl(webhookUrl)} (HTTP ${response.status})` };
  },
};

/** The rollback, in seed 002's order: bypass on, auth off, sessions (optional), tell users. */
export const ROLLBACK_STEPS: readonly Step[] = [
  flagStep("enable_bypass", "auth_bypass", true),
  flagStep("disable_auth", "auth_enabled", false),
  revokeSessions,
  postStatusPage,
];

/** What the undo would set: each flag the rollbacks since the last undo changed, back to its value before them. */
async function restoreTargets(ctx: RunContext): Promise<Map<FlagName, FlagValue>> {
  const targets = new Map<FlagName, FlagValue>();
  for (const [flag, value] of flagsBeforeRollbacks(ctx.previousRuns)) {
    if (Object.prototype.hasOwnProperty.call(FLAGS, flag)) targets.set(flag as FlagName, value);
  }
  return targets;
}

const restoreFlags: Step = {
  name: "restore_flags",
  async plan(ctx) {
    const targets = await restoreTargets(ctx);
    if (targets.size === 0) return "no rollback changed a flag since the last undo: nothing to restore";
    const now = await currentValues(ctx.client);
    return `restore ${[...targets].map(([f, v]) => (same(now[f], v) ? `${f} (already ${formatFlagValue(v)})` : `${f}: ${formatFlagValue(now[f])} → ${formatFlagValue(v)}`)).join(", ")}`;
  },
  async run(ctx) {
    const targets = await restoreTargets(ctx);
    if (targets.size === 0) return { status: "unchanged", detail: "no rollback changed a flag since the last undo: nothing to restore" };
    const result = await setFlags(ctx, targets);
    const revoked = ctx.previousRuns.some((r) => r.actions.some((a) => a.step === "revoke_sessions" && a.status === "done"));
    return revoked ? { ...result, detail: `${result.detail} (revoked sessions stay revoked: revocation is final)` } : result;
  },
};

export const UNDO_STEPS: readonly Step[] = [restoreFlags];
