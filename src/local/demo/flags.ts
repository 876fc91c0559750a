/**
 * The demo service's feature-flag client (seed 002, "real-time flag updates"):
 * loads `feature_flags` from PostgreSQL at start, LISTENs on FLAG_CHANNEL and
 * applies each change the moment its NOTIFY arrives. When the database goes
 * away it keeps the last-known flags, says so in its log, and reconnects
 * (reloading everything, since a change may have been missed meanwhile).
 * A missing or inactive row means the flag's default (src/flags/catalog.ts).
 */
import { Client } from "pg";
import { Gauge, type Registry } from "prom-client";
import { FLAG_CHANNEL, FLAG_NAMES, FLAGS, flagGaugeValue, type FlagName } from "../../flags/catalog";
import { isFlagName, valueProblem } from "../../flags/store";
import { METRICS } from "../../telemetry";

type KindValue = { switch: boolean; percentage: number; groups: readonly string[] };
export type FlagValues = { readonly [K in FlagName]: KindValue[(typeof FLAGS)[K]["kind"]] };

export const defaultFlags = (): FlagValues => Object.fromEntries(FLAG_NAMES.map((n) => [n, FLAGS[n].default])) as unknown as FlagValues;

export type FlagUpdate = { readonly ok: true; readonly name: FlagName; readonly value: unknown; readonly active: boolean } | { readonly ok: false; readonly why: string };

/**
 * A `feature_flags` row, from a SELECT or a NOTIFY payload (`{name, value, active}`), checked
 * as the table's constraints check it (src/flags/store.ts): a client trusts no payload.
 */
export function readFlagRow(row: unknown): FlagUpdate {
  if (typeof row !== "object" || row === null) return { ok: false, why: "not a JSON object; ignored" };
  const { name, value, active } = row as Record<string, unknown>;
  if (typeof name !== "string" || !isFlagName(name)) return { ok: false, why: `unknown flag ${JSON.stringify(name)} ignored` };
  if (typeof active !== "boolean") return { ok: false, why: `${name}: "active" is not a boolean; ignored` };
  const problem = active ? valueProblem(name, value) : undefined;
  if (problem) return { ok: false, why: `${problem}; ignored` };
  return { ok: true, name, value, active };
}

export function parseFlagNotification(payload: string | undefined): FlagUpdate {
  try {
    return readFlagRow(JSON.parse(payload ?? ""));
  } catch {
    return { ok: false, why: `unreadable payload ${JSON.stringify(payload)} ignored` };
  }
}

export const describeFlags = (f: FlagValues) => FLAG_NAMES.map((n) => `${n}=${JSON.stringify(f[n])}`).join(" ");

export type FlagSource = "defaults" | "database" | "last-known";

/** The flags in effect, and where they came from. */
export class FlagState {
  private current: Record<FlagName, unknown> = { ...defaultFlags() };
  source: FlagSource = "defaults";

  constructor(private readonly log: (line: string) => void) {}

  get values(): FlagValues {
    return this.current as unknown as FlagValues;
  }

  /** One change (a NOTIFY): applied at once, or ignored with a log line. Returns whether a value changed. */
  apply(u: FlagUpdate, via: string): boolean {
    if (!u.ok) {
      this.log(`flags: ${via}: ${u.why}`);
      return false;
    }
    const next = u.active ? u.value : FLAGS[u.name].default;
    if (JSON.stringify(next) === JSON.stringify(this.current[u.name])) return false;
    this.current[u.name] = next;
    this.log(`flags: ${u.name} = ${JSON.stringify(next)}${u.active ? "" : " (inactive: the default)"} (${via})`);
    return true;
  }

  /** A full load: every flag without an active row takes its default. */
  load(rows: readonly unknown[], via: string): void {
    const next: Record<FlagName, unknown> = { ...defaultFlags() };
    for (const row of rows) {
      const u = readFlagRow(row);
      if (!u.ok) this.log(`flags: ${via}: ${u.why}`);
      else if (u.active) next[u.name] = u.value;
    }
    this.current = next;
    this.source = "database";
    this.log(`flags: loaded ${rows.length} rows (${via}): ${describeFlags(this.values)}`);
  }
}

export interface LiveFlagsOptions {
  /** The database to follow; without one the flags stay at their defaults. */
  readonly databaseUrl?: string;
  readonly log: (line: string) => void;
  /** First reconnect delay, doubling up to maxRetryMs. */
  readonly retryMs?: number;
  readonly maxRetryMs?: number;
}

/** The flags, kept in step with the database over one LISTENing connection. */
export class LiveFlags {
  readonly state: FlagState;
  private client?: Client;
  private retry?: NodeJS.Timeout;
  private delayMs: number;
  private lostAt?: number;
  private saidAt = 0;
  private stopped = false;

  constructor(private readonly o: LiveFlagsOptions) {
    this.state = new FlagState(o.log);
    this.delayMs = o.retryMs ?? 500;
  }

  get values(): FlagValues {
    return this.state.values;
  }

  get connected(): boolean {
    return this.client !== undefined;
  }

  /** The first load; resolves also when the database cannot be reached (the defaults apply and it keeps trying). */
  async start(): Promise<void> {
    if (!this.o.databaseUrl) {
      this.o.log(`flags: no DATABASE_URL; the defaults apply: ${describeFlags(this.values)}`);
      return;
    }
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    // LISTEN before the SELECT: a change committed in between is then both loaded and notified, never lost.
    const c = new Client({ connectionString: this.o.databaseUrl, application_name: "authwatch-demo-flags", connectionTimeoutMillis: 3000, keepAlive: true });
    c.on("error", (e) => this.lost(c, e.message));
    c.on("end", () => this.lost(c, "connection closed"));
    c.on("notification", (m) => {
      if (m.channel === FLAG_CHANNEL) this.state.apply(parseFlagNotification(m.payload), "NOTIFY");
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${FLAG_CHANNEL}`);
      const r = await c.query("SELECT name, value, active FROM feature_flags ORDER BY name");
      if (this.stopped) return void c.end().catch(() => undefined);
      this.client = c;
      this.delayMs = this.o.retryMs ?? 500;
      const outage = this.lostAt === undefined ? "" : `, after ${((Date.now() - this.lostAt) / 1000).toFixed(1)}s on the last-known flags`;
      this.lostAt = undefined;
      this.state.load(r.rows, `${this.state.source === "defaults" ? "start" : "reconnected"}${outage}`);
    } catch (e) {
      c.removeAllListeners("end");
      c.on("error", () => undefined);
      await c.end().catch(() => undefined);
      this.unreachable((e as Error).message);
    }
  }

  /** The LISTENing connection broke: keep what we know, say so, and reconnect. */
  private lost(c: Client, why: string): void {
    if (c !== this.client || this.stopped) return;
    this.client = undefined;
    c.removeAllListeners("end");
    c.on("error", () => undefined);
    void c.end().catch(() => undefined);
    if (this.state.source === "database") this.state.source = "last-known";
    this.unreachable(why);
  }

  private unreachable(why: string): void {
    if (this.stopped) return;
    const first = this.lostAt === undefined;
    this.lostAt ??= Date.now();
    const down = Math.round((Date.now() - this.lostAt) / 1000);
    // Once when it goes, then every 30 s while it stays away.
    if (first || Date.now() - this.saidAt >= 30_000) {
      this.saidAt = Date.now();
      this.o.log(`flags: database unreachable (${why})${first ? "" : ` for ${down}s`}; keeping the ${this.state.source} flags: ${describeFlags(this.values)}; reconnecting`);
    }
    this.retry = setTimeout(() => void this.connect(), this.delayMs);
    this.delayMs = Math.min(this.delayMs * 2, this.o.maxRetryMs ?? 5000);
  }
}

/** The `auth_feature_flag{flag}` gauge (docs/telemetry.md): each flag's value as flagGaugeValue reads it. */
export function registerFlagGauge(registry: Registry, values: () => FlagValues): void {
  new Gauge({
    name: "auth_feature_flag",
    help: METRICS.auth_feature_flag.help,
    labelNames: [...METRICS.auth_feature_flag.labels],
    registers: [registry],
    collect() {
      const f = values();
      for (const n of FLAG_NAMES) this.set({ flag: n }, flagGaugeValue(f[n]));
    },
  });
}
