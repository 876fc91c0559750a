/**
 * The feature_flags table (postgres/migrations/0003_feature_flags.up.sql)
 * through a `pg` client: read every flag, change one, and parse a value typed
 * on a command line. Values are checked here against the catalog before the
 * database's own constraints see them, so a mistake is reported in the
 * catalog's words.
 */
import { FLAGS, FLAG_NAMES, type FlagKind, type FlagName } from "./catalog";

export type FlagValue = boolean | number | string[];

/** The part of a `pg` Client (or PoolClient) the store uses. */
export interface Queryable {
  query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: R[]; rowCount: number | null }>;
}

export interface FlagRow {
  readonly name: FlagName;
  readonly value: FlagValue;
  readonly active: boolean;
  readonly updatedAt: Date;
  readonly updatedBy: string;
  readonly reason: string;
}

export class FlagError extends Error {
  override name = "FlagError";
}

export const isFlagName = (name: string): name is FlagName => Object.prototype.hasOwnProperty.call(FLAGS, name);

function flagNamed(name: string): FlagName {
  if (!isFlagName(name)) throw new FlagError(`unknown flag "${name}": the flags are ${FLAG_NAMES.join(", ")}`);
  return name;
}

const KIND_HELP: Record<FlagKind, string> = {
  switch: "true or false",
  percentage: "a whole number from 0 to 100",
  groups: 'a list of group names, e.g. staff,beta (or [] / "" for every group)',
};

/** What a flag of this kind accepts, in words. */
export const kindHelp = (kind: FlagKind) => KIND_HELP[kind];

/**
 * Problems with a (JSON) value for a flag, in the catalog's words; empty when
 * valid. The same rules as the table's CHECK constraints.
 */
export function valueProblem(name: FlagName, value: unknown): string | undefined {
  const kind = FLAGS[name].kind;
  const ok =
    kind === "switch"
      ? typeof value === "boolean"
      : kind === "percentage"
        ? typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 100
        : Array.isArray(value) && value.every((g) => typeof g === "string" && g !== "") && JSON.stringify(value).length <= 4000;
  return ok ? undefined : `${name} is a ${kind} flag: its value must be ${KIND_HELP[kind]}, got ${JSON.stringify(value)}`;
}

/**
 * A value as typed on a command line: `true`/`false` (also on/off), a whole
 * number 0–100, a comma-separated group list or a JSON value.
 */
export function parseFlagValue(name: string, text: string): FlagValue {
  const flag = flagNamed(name);
  const kind = FLAGS[flag].kind;
  const t = text.trim();
  let value: unknown;
  if (kind === "switch") {
    value = /^(true|on)$/i.test(t) ? true : /^(false|off)$/i.test(t) ? false : t;
  } else if (kind === "percentage") {
    value = /^-?\d+(\.\d+)?%?$/.test(t) ? Number(t.replace(/%$/, "")) : t;
  } else if (t.startsWith("[")) {
    try {
      value = JSON.parse(t);
    } catch {
      value = t;
    }
  } else {
    value = t === "" ? [] : t.split(",").map((g) => g.trim());
  }
  const problem = valueProblem(flag, value);
  if (problem) throw new FlagError(problem);
  return value as FlagValue;
}

/** A value as the list prints it: true, 40, staff,beta (or "[]"). */
export function formatFlagValue(value: unknown): string {
  if (Array.isArray(value)) return value.length === 0 ? "[]" : value.join(",");
  return JSON.stringify(value);
}

interface DbRow {
  name: string;
  value: unknown;
  active: boolean;
  updated_at: Date;
  updated_by: string;
  reason: string;
}

const toRow = (r: DbRow): FlagRow => ({
  name: r.name as FlagName,
  value: r.value as FlagValue,
  active: r.active,
  updatedAt: r.updated_at,
  updatedBy: r.updated_by,
  reason: r.reason,
});

/** Every row of feature_flags, in the catalog's order (rows the catalog does not know come last). */
export async function loadFlags(client: Queryable): Promise<FlagRow[]> {
  const { rows } = await client.query<DbRow>("SELECT name, value, active, updated_at, updated_by, reason FROM feature_flags");
  const order = (n: string) => (isFlagName(n) ? FLAG_NAMES.indexOf(n) : FLAG_NAMES.length);
  return rows.map(toRow).sort((a, b) => order(a.name) - order(b.name) || a.name.localeCompare(b.name));
}

/**
 * The values services act on: each flag's active row, else the catalog's
 * default (a missing or inactive row).
 */
export function effectiveValues(rows: readonly FlagRow[]): Record<FlagName, FlagValue> {
  const out = {} as Record<FlagName, FlagValue>;
  for (const name of FLAG_NAMES) {
    const row = rows.find((r) => r.name === name && r.active);
    out[name] = row ? row.value : (FLAGS[name].default as FlagValue);
  }
  return out;
}

export interface FlagChange {
  readonly name: FlagName;
  /** The effective value before (the default when the row was missing or inactive). */
  readonly before: FlagValue;
  readonly after: FlagValue;
  /** false: the flag already held the value (active), nothing was written and nothing NOTIFYed. */
  readonly changed: boolean;
}

/**
 * Sets one flag (active) with who and why. Idempotent: when the flag already
 * holds the value, nothing is written, so no NOTIFY and no log line either.
 * Runs in the caller's transaction if there is one; locks the row so that
 * `before` is the value it replaced.
 */
export async function setFlag(
  client: Queryable,
  name: string,
  value: unknown,
  by: { actor: string; reason: string },
): Promise<FlagChange> {
  const flag = flagNamed(name);
  const problem = valueProblem(flag, value);
  if (problem) throw new FlagError(problem);
  if (!by.reason.trim()) throw new FlagError("a flag change needs a reason (--reason)");
  const current = await client.query<{ value: unknown; active: boolean }>(
    "SELECT value, active FROM feature_flags WHERE name = $1 FOR UPDATE",
    [flag],
  );
  const row = current.rows[0];
  const before = (row?.active ? row.value : FLAGS[flag].default) as FlagValue;
  if (row?.active && JSON.stringify(row.value) === JSON.stringify(value)) {
    return { name: flag, before, after: before, changed: false };
  }
  await client.query(
    `INSERT INTO feature_flags (name, value, active, updated_at, updated_by, reason)
     VALUES ($1, $2::jsonb, true, now(), $3, $4)
     ON CONFLICT (name) DO UPDATE
       SET value = EXCLUDED.value, active = true, updated_at = now(),
           updated_by = EXCLUDED.updated_by, reason = EXCLUDED.reason`,
    [flag, JSON.stringify(value), by.actor, by.reason],
  );
  return { name: flag, before, after: value as FlagValue, changed: true };
}
