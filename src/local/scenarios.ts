/**
 * The drills' scenarios: each one injects a fault into the running local
 * stack (through the demo service's API, the supervisor's control API or the
 * Pushgateway) that one alert must page for, and restores normal behaviour.
 */
import type { Severity } from "../model";
import type { Settings } from "../settings";
import type { DrillContext, DrillStep } from "./drills";
import { DEMO_PASSWORD } from "./demo/service";
import { postJson, requestLoop } from "./net";
import { ROLLBACK_SCENARIO } from "./rollback-drill";

export interface Scenario {
  readonly name: string;
  /** The fault, as a person would describe the incident. */
  readonly fault: string;
  readonly alert: string;
  readonly severity: Severity;
  /** Tells rules of one name apart (BackupTooOld reason="never_reported"). */
  readonly ruleLabels?: Readonly<Record<string, string>>;
  /**
   * How long the signal itself takes to cross the threshold once the fault is
   * on, where the alert reads a ratio over a window: a fault that turns a share
   * I of the events bad moves a W-window ratio past T after W × T ÷ I.
   */
  ramp?(s: Settings): { seconds: number; text: string };
  inject(ctx: DrillContext): Promise<void>;
  /** Once the page has arrived (at `pageAt`, ms), before restore: a further timed step (the rollback drill's). */
  afterPage?(ctx: DrillContext, pageAt: number): Promise<DrillStep>;
  restore(ctx: DrillContext): Promise<string>;
}

const control = (ctx: DrillContext, path: string, body: unknown = {}) => postJson(`${ctx.url.sink}/api/${path}`, body, 120_000);
const demoFaults = (ctx: DrillContext, faults: { errorRatio?: number; health?: boolean }) => postJson(`${ctx.url.auth}/_control`, faults);

async function call(ctx: DrillContext, path: string, body: unknown, ip: string): Promise<{ status: number; json: Record<string, string> }> {
  const res = await fetch(`${ctx.url.auth}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-forwarded-for": ip },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : {}) as Record<string, string> };
}

/** The share of requests the error-burst drill fails. */
const ERROR_BURST = 0.8;
/** The window of the ratio recording rules the ratio alerts read. */
const RATIO_WINDOW_SECONDS = 300;

/** A credential-stuffing run against the login endpoint, until stopped. */
let attack: { stop: () => Promise<void> } | undefined;

function startAttack(ctx: DrillContext, perSecond: number): { stop: () => Promise<void> } {
  const guess = (n: number) =>
    call(ctx, "/v1/login", { email: `user${1 + Math.floor(Math.random() * 500)}@example.com`, password: `guess-${n}` }, `203.0.113.${1 + Math.floor(Math.random() * 254)}`);
  const loop = requestLoop(perSecond, guess);
  return {
    async stop() {
      ctx.log(`  the attacker sent ${await loop.stop()} failed logins`);
    },
  };
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: "refresh-reuse",
    fault: "a stolen refresh token is replayed after its owner already rotated it",
    alert: "AuthRefreshTokenReuse",
    severity: "critical",
    async inject(ctx) {
      const victim = "user7@example.com";
      const login = await call(ctx, "/v1/login", { email: victim, password: DEMO_PASSWORD }, "198.51.100.7");
      if (login.status !== 200) throw new Error(`login as ${victim} failed: HTTP ${login.status}`);
      const stolen = login.json.refreshToken!;
      const owner = await call(ctx, "/v1/token/refresh", { refreshToken: stolen }, "198.51.100.7");
      if (owner.status !== 200) throw new Error(`the owner's refresh failed: HTTP ${owner.status}`);
      const replay = await call(ctx, "/v1/token/refresh", { refreshToken: stolen }, "203.0.113.66");
      ctx.log(`  the attacker's replay was answered HTTP ${replay.status}: ${replay.json.error ?? ""}`);
      if (replay.status !== 401) throw new Error("the service accepted a reused refresh token");
    },
    async restore() {
      return "nothing to restore: the service revoked the token family (auth.refresh.reuse in the log)";
    },
  },
  {
    name: "brute-force",
    fault: "credential stuffing: 25 wrong passwords a second for random users from a /24",
    alert: "AuthHighLoginFailureRate",
    severity: "critical",
    async inject(ctx) {
      attack = startAttack(ctx, 25);
    },
    async restore() {
      await attack?.stop();
      attack = undefined;
      return "attack stopped";
    },
  },
  {
    name: "error-burst",
    fault: `the database pool is exhausted: ${ERROR_BURST * 100} % of requests answer 500`,
    alert: "AuthHighErrorRate",
    severity: "critical",
    ramp(s) {
      // The error ratio is a 5m rate (job:http_requests_5xx:ratio_rate5m); the baseline has no 5xx.
      const threshold = s.thresholds.errorRate.criticalRatio;
      const seconds = Math.ceil((RATIO_WINDOW_SECONDS * threshold) / ERROR_BURST);
      return { seconds, text: `ramp ${seconds}s (5m × ${threshold * 100}% ÷ ${ERROR_BURST * 100}%)` };
    },
    async inject(ctx) {
      await demoFaults(ctx, { errorRatio: ERROR_BURST });
    },
    async restore(ctx) {
      await demoFaults(ctx, { errorRatio: 0 });
      return "requests succeed again (the 5m error ratio decays over the next minutes)";
    },
  },
  {
    name: "backup-missing",
    fault: "the backup CronJob stops running and the Pushgateway lost its group",
    alert: "BackupTooOld",
    severity: "warning",
    ruleLabels: { reason: "never_reported" },
    async inject(ctx) {
      await control(ctx, "jobs/pause");
      const res = await fetch(`${ctx.url.pushgateway}/metrics/job/${ctx.settings.scrapeJobs.pgBackup}/database/auth`, { method: "DELETE" });
      if (!res.ok) throw new Error(`deleting the pg-backup group: HTTP ${res.status}`);
    },
    async restore(ctx) {
      await control(ctx, "jobs/resume");
      const r = await control(ctx, "jobs/run/backup");
      return `jobs resumed; a backup ran now (exit ${(r as { code: number | null }).code})`;
    },
  },
  ROLLBACK_SCENARIO,
  {
    name: "database-down",
    fault: "PostgreSQL stops",
    alert: "DatabaseDown",
    severity: "critical",
    async inject(ctx) {
      await control(ctx, "services/postgres/stop");
    },
    async restore(ctx) {
      await control(ctx, "services/postgres/start");
      return "PostgreSQL started again";
    },
  },
  {
    name: "service-down",
    fault: "the auth service process dies (its health probe fails)",
    alert: "AuthServiceDown",
    severity: "critical",
    async inject(ctx) {
      await control(ctx, "services/auth/stop");
    },
    async restore(ctx) {
      await control(ctx, "services/auth/start");
      return "the auth service started again";
    },
  },
];

/** `drill all` order: AuthServiceDown silences every auth alert and DatabaseDown every postgres one, so they come last. */
export const SCENARIO_NAMES = SCENARIOS.map((s) => s.name);

export function scenario(name: string): Scenario {
  const sc = SCENARIOS.find((s) => s.name === name);
  if (!sc) throw new Error(`unknown drill "${name}" (drills: ${SCENARIO_NAMES.join(", ")}, all)`);
  return sc;
}
