/**
 * Runs the rollback (or its undo): checks the database before any change,
 * prints the plan, runs the steps in order with their durations, stops at
 * the first failure, writes the rollback_log row and the `auth.rollback`
 * log lines, and reports the flags exactly as the steps left them.
 */
import type { Client } from "pg";
import { requireSchema, NotReadyError, scrub, type Requirement } from "../flags/connect";
import { effectiveValues, formatFlagValue, loadFlags } from "../flags/store";
import { FLAG_NAMES } from "../flags/catalog";
import { insertRun, logLine, rollbacksSinceUndo, type Sink, type StepRecord } from "./log";
import { ROLLBACK_STEPS, UNDO_STEPS, type RunContext, type Step } from "./steps";

export interface RunRequest {
  readonly kind: "rollback" | "undo";
  readonly dryRun: boolean;
  readonly revokeSessions: boolean;
  readonly yes: boolean;
  /**
   * The drill (a dry run connected as a read-only role): whose grants to
   * check, for every step; the connected role needs only what the plan reads.
   */
  readonly privilegesOf?: string;
}

export interface RunIo {
  /** JSON log lines. */
  readonly log: Sink;
  /** What the operator reads. */
  readonly say: Sink;
  /** Asks a yes/no question; resolves false on no answer. */
  readonly confirm: (question: string) => Promise<boolean>;
  readonly databaseUrl: string | undefined;
  readonly now?: () => number;
}

export interface RunReport {
  readonly outcome: "completed" | "failed" | "planned";
  readonly actions: readonly StepRecord[];
  readonly logId?: number;
}

/** What the steps use; `role` unset: the connected role's. */
function stepNeeds(revokeSessions: boolean, role?: string): Requirement[] {
  const needs: Requirement[] = [
    { table: "feature_flags", privileges: ["SELECT", "INSERT", "UPDATE"], role },
    { table: "rollback_log", privileges: ["SELECT", "INSERT"], role },
  ];
  if (revokeSessions) needs.push({ table: "refresh_token_families", privileges: [], columns: { revoked_at: ["SELECT", "UPDATE"] }, role });
  return needs;
}

function requirements(request: RunRequest): Requirement[] {
  if (request.privilegesOf === undefined) return stepNeeds(request.revokeSessions);
  // The drill proves the rollback role could run every step, revoking sessions included; it reads the plan itself.
  const planReads: Requirement[] = [
    { table: "feature_flags", privileges: ["SELECT"] },
    { table: "rollback_log", privileges: ["SELECT"] },
  ];
  if (request.revokeSessions) planReads.push({ table: "refresh_token_families", privileges: [], columns: { revoked_at: ["SELECT"] } });
  return [...stepNeeds(true, request.privilegesOf), ...planReads];
}

/** One rollback at a time: a second operator waits for nothing and is told (session lock, released on disconnect). */
async function takeLock(client: Client): Promise<void> {
  const { rows } = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock(hashtext('authwatch.rollback')) AS ok");
  if (!rows[0]!.ok) throw new NotReadyError("another rollback is running against this database right now; nothing was changed");
}

const seconds = (ms: number) => Math.round(ms) / 1000;

export async function runRollback(
  client: Client,
  request: RunRequest,
  context: Omit<RunContext, "client" | "previousRuns" | "revokeConfirmed">,
  io: RunIo,
): Promise<RunReport> {
  const now = io.now ?? (() => Date.now());
  // Checking another role's grants proves nothing about this connection's: only for a plan.
  if (request.privilegesOf !== undefined && !request.dryRun) throw new Error("a run that checks another role's privileges must be a dry run");
  await requireSchema(client, requirements(request));
  if (!request.dryRun) await takeLock(client);
  const previousRuns = await rollbacksSinceUndo(client);
  const steps: readonly Step[] = request.kind === "undo" ? UNDO_STEPS : ROLLBACK_STEPS;
  const planning: RunContext = { ...context, client, previousRuns, revokeConfirmed: request.revokeSessions ? true : undefined };
  const common = { kind: request.kind, reason: context.reason, actor: context.actor };

  io.say(`${request.dryRun ? "Plan (dry run: nothing is changed)" : "Plan"} of the ${request.kind}:\n`);
  const plans: string[] = [];
  for (const [i, step] of steps.entries()) {
    plans.push(await step.plan(planning));
    io.say(`  ${i + 1}. ${step.name}: ${plans[i]}\n`);
  }
  if (request.dryRun) {
    const actions = steps.map((s, i): StepRecord => ({ step: s.name, status: "planned", seconds: 0, detail: plans[i]! }));
    for (const a of actions) io.log(logLine("auth.rollback", "info", { ...common, dryRun: true, step: a.step, status: a.status, detail: a.detail }));
    return { outcome: "planned", actions };
  }

  let revokeConfirmed: boolean | undefined;
  if (request.revokeSessions) {
    revokeConfirmed = request.yes || (await io.confirm(`Revoke every active refresh-token family? Every user must log in again; this cannot be undone. (y/n) `));
  }
  const ctx: RunContext = { ...planning, revokeConfirmed };

  const started = now();
  const startedAt = new Date(started);
  const actions: StepRecord[] = [];
  let failed = false;
  for (const step of steps) {
    if (failed) {
      actions.push({ step: step.name, status: "not run", seconds: 0, detail: "not run: an earlier step failed" });
      continue;
    }
    const t0 = now();
    let record: StepRecord;
    try {
      const result = await step.run(ctx);
      record = { step: step.name, seconds: seconds(now() - t0), ...result };
    } catch (e) {
      failed = true;
      record = { step: step.name, status: "failed", seconds: seconds(now() - t0), detail: scrub((e as Error).message, io.databaseUrl) };
    }
    actions.push(record);
    io.say(`  ${record.status === "failed" ? "✗" : "✓"} ${step.name} (${record.seconds.toFixed(3)} s): ${record.status}: ${record.detail}\n`);
    io.log(logLine("auth.rollback", record.status === "failed" ? "error" : "info", { ...common, step: record.step, status: record.status, seconds: record.seconds, detail: record.detail }));
  }
  for (const a of actions.filter((x) => x.status === "not run")) {
    io.log(logLine("auth.rollback", "warn", { ...common, step: a.step, status: a.status, seconds: 0, detail: a.detail }));
  }
  const outcome = failed ? "failed" : "completed";
  const total = seconds(now() - started);

  let logId: number | undefined;
  try {
    logId = await insertRun(client, { ...common, outcome, startedAt, seconds: total, actions });
  } catch (e) {
    io.say(`could not write the rollback_log row: ${scrub((e as Error).message, io.databaseUrl)}\n`);
  }
  io.log(logLine("auth.rollback", failed ? "error" : "warn", { ...common, step: "run", status: outcome, seconds: total, logId }));

  const done = actions.filter((a) => a.status === "done" || a.status === "unchanged").map((a) => a.step);
  const notDone = actions.filter((a) => a.status === "failed" || a.status === "not run").map((a) => `${a.step} (${a.status})`);
  io.say(`The ${request.kind} ${outcome} in ${total.toFixed(3)} s${logId !== undefined ? ` (rollback_log #${logId})` : ""}.\n`);
  if (failed) io.say(`  done: ${done.join(", ") || "nothing"}\n  not done: ${notDone.join(", ")}\n`);
  try {
    const values = effectiveValues(await loadFlags(client));
    io.say(`  flags now: ${FLAG_NAMES.map((f) => `${f}=${formatFlagValue(values[f])}`).join(" ")}\n`);
  } catch (e) {
    io.say(`  cannot read the flags now: ${scrub((e as Error).message, io.databaseUrl)}\n`);
  }
  return { outcome, actions, logId };
}
