/**
 * What a rollback leaves behind: `auth.rollback` and `auth.flag.changed`
 * JSON log lines (docs/telemetry.md "Logs": one object per line, `evt`, `at`,
 * `level`, then the event's fields), the rollback_log row, and reading the
 * log back (what the last rollbacks changed, for the undo and idempotence).
 */
import type { FlagChange, Queryable } from "../flags/store";
import type { FlagValue } from "../flags/store";

export type Level = "info" | "warn" | "error";
export type Sink = (line: string) => void;

/** One JSON log line: evt, at, level first, then the fields (undefined ones left out). */
export function logLine(evt: "auth.rollback" | "auth.flag.changed", level: Level, fields: Record<string, unknown>, now = new Date()): string {
  return JSON.stringify({ evt, at: now.toISOString(), level, ...fields });
}

/** The auth.flag.changed line of a change that was written. */
export function flagChangedLine(change: FlagChange, by: { actor: string; reason: string }): string {
  return logLine("auth.flag.changed", "info", { flag: change.name, value: change.after, previous: change.before, actor: by.actor, reason: by.reason });
}

export type StepStatus = "done" | "unchanged" | "skipped" | "failed" | "not run" | "planned";

/** One step as rollback_log.actions records it. */
export interface StepRecord {
  readonly step: string;
  readonly status: StepStatus;
  readonly seconds: number;
  readonly detail: string;
  /** Flag steps: the flags the step set, with their effective values before and after. */
  readonly flags?: readonly { readonly flag: string; readonly before: FlagValue; readonly after: FlagValue; readonly changed: boolean }[];
  /** revoke_sessions: families revoked. */
  readonly revoked?: number;
}

export interface RunRecord {
  readonly kind: "rollback" | "undo";
  readonly outcome: "completed" | "failed";
  readonly startedAt: Date;
  readonly seconds: number;
  readonly reason: string;
  readonly actor: string;
  readonly actions: readonly StepRecord[];
}

/** Appends the run's row to rollback_log; returns its id. */
export async function insertRun(client: Queryable, run: RunRecord): Promise<number> {
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO rollback_log (at, reason, actor, kind, outcome, actions, duration)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb, make_interval(secs => $7)) RETURNING id`,
    [run.startedAt, run.reason, run.actor, run.kind, run.outcome, JSON.stringify(run.actions), run.seconds],
  );
  return Number(rows[0]!.id);
}

export interface LoggedRun {
  readonly id: number;
  readonly kind: "rollback" | "undo";
  readonly actions: readonly StepRecord[];
}

/** The rollback runs since the newest undo (none: the log is empty or ends with an undo), oldest first. */
export async function rollbacksSinceUndo(client: Queryable): Promise<LoggedRun[]> {
  const { rows } = await client.query<{ id: string; kind: "rollback" | "undo"; actions: StepRecord[] }>(
    `SELECT id, kind, actions FROM rollback_log
      WHERE id > coalesce((SELECT max(id) FROM rollback_log WHERE kind = 'undo'), 0)
      ORDER BY id`,
  );
  return rows.map((r) => ({ id: Number(r.id), kind: r.kind, actions: r.actions }));
}

/**
 * What an undo restores: for every flag a rollback since the last undo
 * changed, its value before the first of those changes.
 */
export function flagsBeforeRollbacks(runs: readonly LoggedRun[]): Map<string, FlagValue> {
  const restore = new Map<string, FlagValue>();
  for (const run of runs) {
    for (const action of run.actions) {
      for (const f of action.flags ?? []) if (f.changed && !restore.has(f.flag)) restore.set(f.flag, f.before);
    }
  }
  return restore;
}
