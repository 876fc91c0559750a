/**
 * The demo auth service of the local stack: a small in-memory login, refresh
 * and session service that emits every metric of the telemetry contract
 * (src/telemetry.ts) with prom-client, writes seed 000's JSON log lines, and
 * drives itself with steady background traffic through its own HTTP API.
 *
 * Endpoints (service label "auth"):
 *   POST /v1/login {email, password, method?, mfaCode?}   POST /v1/register {email, password}
 *   POST /v1/token/refresh {refreshToken}                 POST /v1/logout {refreshToken} + x-csrf-token
 *   GET  /v1/me (Authorization: Bearer <access>)          POST /v1/password-reset {email} | /v1/password-reset/confirm {token}
 *   POST /v1/oauth/{provider}                             POST /v1/guest
 *   GET /health, GET /metrics
 *   GET|POST /_control {errorRatio, health}: drills make it misbehave (loopback only, not counted in metrics)
 * The client address is taken from x-forwarded-for, as behind the ingress.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { createWriteStream, renameSync, statSync, type WriteStream } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { HTTP_DURATION_BUCKETS, METRICS, type MetricName } from "../telemetry";
import { LOOPBACK, sleep } from "./net";

// ------------------------------------------------------------------- metrics

/** The metrics the service itself exposes: the first block of contracts/telemetry.md. */
export const SERVICE_METRICS = [
  "http_requests_total",
  "http_request_duration_seconds",
  "auth_logins_total",
  "auth_registrations_total",
  "auth_token_validations_total",
  "auth_token_validation_duration_seconds",
  "auth_refresh_total",
  "auth_operation_duration_seconds",
  "auth_rate_limit_exceeded_total",
  "auth_csrf_failures_total",
  "auth_account_lockouts_total",
  "auth_oauth_total",
  "auth_guest_total",
  "auth_password_reset_total",
  "auth_sessions",
  "auth_errors_total",
] as const satisfies readonly MetricName[];
type ServiceMetric = (typeof SERVICE_METRICS)[number];
type Labels = Record<string, string>;

const ROUTES = {
  login: { route: "/v1/login", method: "POST", codes: ["200", "401", "423", "429"] },
  register: { route: "/v1/register", method: "POST", codes: ["201", "400", "409", "429"] },
  refresh: { route: "/v1/token/refresh", method: "POST", codes: ["200", "401"] },
  logout: { route: "/v1/logout", method: "POST", codes: ["204", "401", "403"] },
  me: { route: "/v1/me", method: "GET", codes: ["200", "401"] },
  resetRequest: { route: "/v1/password-reset", method: "POST", codes: ["202"] },
  resetConfirm: { route: "/v1/password-reset/confirm", method: "POST", codes: ["204", "400"] },
  oauth: { route: "/v1/oauth/{provider}", method: "POST", codes: ["200", "401"] },
  guest: { route: "/v1/guest", method: "POST", codes: ["201"] },
} as const;
type RouteKey = keyof typeof ROUTES;
const OAUTH_PROVIDERS = ["google", "github"] as const;
const RATE_LIMITED_ENDPOINTS = ["/v1/login", "/v1/register"] as const;
const ERROR_TYPES = ["database_timeout", "internal"] as const;

const bucketsFor: Partial<Record<ServiceMetric, number[]>> = {
  http_request_duration_seconds: [0.005, 0.01, 0.025, ...HTTP_DURATION_BUCKETS],
  auth_operation_duration_seconds: [0.005, 0.01, 0.025, ...HTTP_DURATION_BUCKETS],
  auth_token_validation_duration_seconds: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
};

function cartesian(values: Readonly<Record<string, readonly string[]>>): Labels[] {
  return Object.entries(values).reduce<Labels[]>((acc, [k, vs]) => acc.flatMap((l) => vs.map((v) => ({ ...l, [k]: v }))), [{}]);
}

export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly counters = new Map<ServiceMetric, Counter<string>>();
  private readonly histograms = new Map<ServiceMetric, Histogram<string>>();
  private readonly gauges = new Map<ServiceMetric, Gauge<string>>();

  constructor(sessions: () => { active: number; inactive: number }) {
    for (const name of SERVICE_METRICS) {
      const spec = METRICS[name];
      const common = { name, help: spec.help, labelNames: [...spec.labels] as string[], registers: [this.registry] };
      if (spec.type === "counter") this.counters.set(name, new Counter(common));
      else if (spec.type === "histogram") this.histograms.set(name, new Histogram({ ...common, buckets: bucketsFor[name] ?? [...HTTP_DURATION_BUCKETS] }));
      else if (name === "auth_sessions") {
        this.gauges.set(
          name,
          new Gauge({
            ...common,
            collect() {
              const s = sessions();
              this.set({ state: "active" }, s.active);
              this.set({ state: "inactive" }, s.inactive);
            },
          }),
        );
      }
    }
    this.initialise();
  }

  /**
   * Every counter starts at 0 for the label values it can take, so that the
   * first failure is an increase rate() sees, not the birth of a series.
   */
  private initialise(): void {
    for (const r of Object.values(ROUTES)) {
      for (const code of [...r.codes, "500"]) this.inc("http_requests_total", { service: "auth", route: r.route, method: r.method, code }, 0);
    }
    const logins = METRICS.auth_logins_total.values;
    for (const method of logins.method) {
      this.inc("auth_logins_total", { result: "success", method, reason: "none" }, 0);
      for (const reason of logins.reason.filter((x) => x !== "none")) this.inc("auth_logins_total", { result: "failure", method, reason }, 0);
    }
    for (const name of ["auth_registrations_total", "auth_token_validations_total", "auth_refresh_total", "auth_guest_total", "auth_password_reset_total"] as const) {
      for (const labels of cartesian(METRICS[name].values)) this.inc(name, labels, 0);
    }
    for (const provider of OAUTH_PROVIDERS) {
      for (const labels of cartesian(METRICS.auth_oauth_total.values)) this.inc("auth_oauth_total", { provider, ...labels }, 0);
    }
    for (const endpoint of RATE_LIMITED_ENDPOINTS) this.inc("auth_rate_limit_exceeded_total", { endpoint }, 0);
    for (const error_type of ERROR_TYPES) this.inc("auth_errors_total", { error_type }, 0);
    this.inc("auth_csrf_failures_total", {}, 0);
    this.inc("auth_account_lockouts_total", {}, 0);
  }

  inc(name: ServiceMetric, labels: Labels = {}, by = 1): void {
    const c = this.counters.get(name);
    if (!c) throw new Error(`${name} is not a counter`);
    c.inc(labels, by);
  }

  observe(name: ServiceMetric, labels: Labels, seconds: number): void {
    const h = this.histograms.get(name);
    if (!h) throw new Error(`${name} is not a histogram`);
    h.observe(labels, seconds);
  }
}

// ---------------------------------------------------------------------- logs

/** Seed 000's logAuth(): one JSON object per line, `evt` = `auth.<event>`. */
export class AuthLog {
  private stream: WriteStream;
  private written = 0;
  constructor(
    private readonly file: string,
    private readonly maxBytes = 64 * 1024 * 1024,
  ) {
    this.stream = createWriteStream(file, { flags: "a" });
    try {
      this.written = statSync(file).size;
    } catch {
      this.written = 0;
    }
  }

  write(event: string, level: "info" | "warn" | "error", data: Record<string, unknown>): void {
    const line = `${JSON.stringify({ evt: `auth.${event}`, at: new Date().toISOString(), level, ...data })}\n`;
    this.stream.write(line);
    this.written += line.length;
    if (this.written > this.maxBytes) this.rotate();
  }

  /** Keep one previous file (<file>.1): the local stack must not fill the disk. */
  private rotate(): void {
    this.stream.end();
    try {
      renameSync(this.file, `${this.file}.1`);
    } catch {
      /* keep writing to the same file */
    }
    this.stream = createWriteStream(this.file, { flags: "a" });
    this.written = 0;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.stream.end(() => resolve()));
  }
}

// --------------------------------------------------------------------- state

interface User {
  id: number;
  email: string;
  password: string;
  country: string;
  failures: number[];
  lockedUntil: number;
}

interface Family {
  id: string;
  userId: number;
  deviceId: string;
  current: string;
  rotated: string[];
  csrf: string;
  revoked: boolean;
  refreshExpiresAt: number;
  lastUsed: number;
}

export interface Faults {
  /** Share of /v1 requests answered 500 (error-burst drill). */
  errorRatio: number;
  /** false: /health answers 503. */
  health: boolean;
}

const COUNTRIES = ["DE", "FR", "NL", "US", "GB", "SE", "PL", "ES"];
export const DEMO_PASSWORD = "correct horse battery staple";
const ACCESS_TTL_MS = 120_000;
/** A session nobody used for this long counts as inactive; after IDLE_EXPIRY it is gone. */
const ACTIVE_WINDOW_MS = 120_000;
const IDLE_EXPIRY_MS = 30 * 60_000;
const LOGIN_LIMIT_PER_MINUTE = 60;
const LOCKOUT_FAILURES = 5;
const LOCKOUT_MS = 60_000;

const token = (prefix: string) => `${prefix}_${randomBytes(18).toString("base64url")}`;
const between = (lo: number, hi: number) => lo + Math.random() * (hi - lo);

class HttpError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export class AuthService {
  readonly users = new Map<string, User>();
  private readonly families = new Map<string, Family>();
  /** refresh token → family id (current and recently rotated tokens). */
  private readonly refreshIndex = new Map<string, string>();
  private readonly access = new Map<string, { familyId: string; userId: number; exp: number }>();
  private readonly resets = new Map<string, string>();
  private readonly perIp = new Map<string, number[]>();
  private nextUserId = 1;
  readonly faults: Faults = { errorRatio: 0, health: true };

  constructor(
    readonly metrics: ServiceMetrics,
    readonly log: AuthLog,
  ) {
    for (let i = 1; i <= 500; i++) this.addUser(`user${i}@example.com`, DEMO_PASSWORD);
  }

  private addUser(email: string, password: string): User {
    const u: User = { id: this.nextUserId++, email, password, country: COUNTRIES[this.nextUserId % COUNTRIES.length]!, failures: [], lockedUntil: 0 };
    this.users.set(email, u);
    return u;
  }

  sessions(): { active: number; inactive: number } {
    const now = Date.now();
    let active = 0;
    let inactive = 0;
    for (const f of this.families.values()) {
      if (f.revoked || f.refreshExpiresAt < now) continue;
      if (now - f.lastUsed <= ACTIVE_WINDOW_MS) active++;
      else inactive++;
    }
    return { active, inactive };
  }

  /** Forget what no client can use any more (revoked, idle, expired), so memory stays flat. */
  prune(): void {
    const now = Date.now();
    for (const f of this.families.values()) {
      if (f.revoked || now - f.lastUsed > IDLE_EXPIRY_MS || f.refreshExpiresAt < now - IDLE_EXPIRY_MS) {
        this.families.delete(f.id);
        this.refreshIndex.delete(f.current);
        for (const t of f.rotated) this.refreshIndex.delete(t);
      }
    }
    for (const [t, a] of this.access) if (a.exp < now - 60_000 || !this.families.has(a.familyId)) this.access.delete(t);
    for (const [ip, times] of this.perIp) {
      const recent = times.filter((t) => t > now - 60_000);
      if (recent.length === 0) this.perIp.delete(ip);
      else this.perIp.set(ip, recent);
    }
  }

  private issue(user: User): { family: Family; accessToken: string } {
    const f: Family = {
      id: randomUUID(),
      userId: user.id,
      deviceId: randomUUID(),
      current: token("rt"),
      rotated: [],
      csrf: token("csrf"),
      revoked: false,
      refreshExpiresAt: Date.now() + 7 * 86_400_000,
      lastUsed: Date.now(),
    };
    this.families.set(f.id, f);
    this.refreshIndex.set(f.current, f.id);
    return { family: f, accessToken: this.accessFor(f) };
  }

  private accessFor(f: Family): string {
    const t = token("at");
    this.access.set(t, { familyId: f.id, userId: f.userId, exp: Date.now() + ACCESS_TTL_MS });
    return t;
  }

  /** A device that logged in long ago and whose refresh token has expired (background traffic replays it). */
  staleDevice(): string {
    const user = [...this.users.values()][Math.floor(Math.random() * 50)]!;
    const { family } = this.issue(user);
    family.refreshExpiresAt = Date.now() - 86_400_000;
    return family.current;
  }

  private rateLimited(ip: string, endpoint: (typeof RATE_LIMITED_ENDPOINTS)[number]): boolean {
    const now = Date.now();
    const times = (this.perIp.get(ip) ?? []).filter((t) => t > now - 60_000);
    times.push(now);
    this.perIp.set(ip, times);
    if (times.length <= LOGIN_LIMIT_PER_MINUTE) return false;
    this.metrics.inc("auth_rate_limit_exceeded_total", { endpoint });
    this.log.write("ratelimit.exceeded", "warn", { ip, reason: endpoint });
    return true;
  }

  private loginFailure(method: string, reason: string, data: Record<string, unknown>, code: number, logReason = reason): never {
    this.metrics.inc("auth_logins_total", { result: "failure", method, reason });
    this.log.write("login.failure", "warn", { ...data, reason: logReason });
    throw new HttpError(code, reason);
  }

  async login(body: Record<string, unknown>, ip: string): Promise<unknown> {
    const email = String(body.email ?? "");
    const method = ["password", "magic_link"].includes(String(body.method)) ? String(body.method) : "password";
    const user = this.users.get(email);
    const country = user?.country ?? "ZZ";
    if (this.rateLimited(ip, "/v1/login")) this.loginFailure(method, "rate_limited", { email, ip, country }, 429);
    await sleep(between(40, 160)); // password hashing
    const now = Date.now();
    if (user && user.lockedUntil > now) this.loginFailure(method, "locked", { email, ip, country }, 423);
    if (!user || (method === "password" && body.password !== user.password)) {
      if (user) {
        user.failures = [...user.failures.filter((t) => t > now - LOCKOUT_MS), now];
        if (user.failures.length >= LOCKOUT_FAILURES) {
          user.lockedUntil = now + LOCKOUT_MS;
          user.failures = [];
          this.metrics.inc("auth_account_lockouts_total");
          this.log.write("account.lockout", "warn", { userId: user.id, email, ip });
        }
      }
      this.loginFailure(method, "invalid_credentials", { email, ip, country }, 401, "invalid_password");
    }
    if (body.mfaCode !== undefined && body.mfaCode !== "123456") this.loginFailure(method, "mfa_failed", { email, ip, country }, 401);
    user.failures = [];
    const { family, accessToken } = this.issue(user);
    this.metrics.inc("auth_logins_total", { result: "success", method, reason: "none" });
    this.log.write("login.success", "info", { userId: user.id, deviceId: family.deviceId, ip, country });
    return { accessToken, refreshToken: family.current, familyId: family.id, csrfToken: family.csrf };
  }

  async refresh(body: Record<string, unknown>, ip: string): Promise<unknown> {
    await sleep(between(4, 20));
    const presented = String(body.refreshToken ?? "");
    const family = this.families.get(this.refreshIndex.get(presented) ?? "");
    if (!family || family.revoked) {
      this.metrics.inc("auth_refresh_total", { result: "invalid" });
      throw new HttpError(401, "invalid refresh token");
    }
    if (presented !== family.current) {
      // A rotated token came back: someone holds a copy. Revoke the whole family (seed 000).
      family.revoked = true;
      this.metrics.inc("auth_refresh_total", { result: "reuse_detected" });
      this.log.write("refresh.reuse", "error", { userId: family.userId, deviceId: family.deviceId, familyId: family.id, ip });
      throw new HttpError(401, "refresh token reuse detected; the session was revoked");
    }
    if (family.refreshExpiresAt < Date.now()) {
      this.metrics.inc("auth_refresh_total", { result: "expired" });
      throw new HttpError(401, "refresh token expired");
    }
    family.rotated = [...family.rotated, family.current].slice(-5);
    family.current = token("rt");
    family.lastUsed = Date.now();
    this.refreshIndex.set(family.current, family.id);
    this.metrics.inc("auth_refresh_total", { result: "rotated" });
    this.log.write("refresh.rotate", "info", { userId: family.userId, deviceId: family.deviceId, familyId: family.id });
    return { accessToken: this.accessFor(family), refreshToken: family.current };
  }

  async logout(body: Record<string, unknown>, csrf: string | undefined, ip: string): Promise<void> {
    await sleep(between(2, 8));
    const family = this.families.get(this.refreshIndex.get(String(body.refreshToken ?? "")) ?? "");
    if (!family || family.revoked) throw new HttpError(401, "unknown session");
    if (csrf !== family.csrf) {
      this.metrics.inc("auth_csrf_failures_total");
      this.log.write("csrf.failure", "warn", { userId: family.userId, ip });
      throw new HttpError(403, "CSRF token mismatch");
    }
    family.revoked = true;
    this.log.write("logout", "info", { userId: family.userId, deviceId: family.deviceId });
  }

  async me(authorization: string | undefined): Promise<unknown> {
    const t0 = process.hrtime.bigint();
    await sleep(between(0.5, 3)); // signature check
    const presented = /^Bearer (\S+)$/.exec(authorization ?? "")?.[1] ?? "";
    const a = this.access.get(presented);
    const result = !a || !this.families.has(a.familyId) || this.families.get(a.familyId)!.revoked ? "invalid" : a.exp < Date.now() ? "expired" : "valid";
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    this.metrics.inc("auth_token_validations_total", { result });
    this.metrics.observe("auth_token_validation_duration_seconds", {}, seconds);
    this.metrics.observe("auth_operation_duration_seconds", { operation: "validate" }, seconds);
    if (result !== "valid") throw new HttpError(401, `${result} access token`);
    const family = this.families.get(a!.familyId)!;
    family.lastUsed = Date.now();
    return { userId: a!.userId };
  }

  async register(body: Record<string, unknown>, ip: string): Promise<unknown> {
    const email = String(body.email ?? "");
    if (this.rateLimited(ip, "/v1/register")) {
      this.metrics.inc("auth_registrations_total", { result: "failure" });
      throw new HttpError(429, "rate limited");
    }
    await sleep(between(60, 200));
    const fail = (reason: string, code: number): never => {
      this.metrics.inc("auth_registrations_total", { result: "failure" });
      this.log.write("register.failure", "warn", { email, reason, ip });
      throw new HttpError(code, reason);
    };
    if (!/^[^@\s]+@[^@\s]+$/.test(email)) fail("invalid_email", 400);
    if (String(body.password ?? "").length < 12) fail("weak_password", 400);
    if (this.users.has(email)) fail("email_taken", 409);
    const user = this.addUser(email, String(body.password));
    if (body.fromGuest) this.metrics.inc("auth_guest_total", { event: "converted" });
    this.metrics.inc("auth_registrations_total", { result: "success" });
    this.log.write("register.success", "info", { userId: user.id, email, ip, country: user.country });
    return { userId: user.id };
  }

  async resetRequest(body: Record<string, unknown>): Promise<unknown> {
    await sleep(between(10, 40));
    const t = token("pr");
    if (this.users.has(String(body.email ?? ""))) this.resets.set(t, String(body.email));
    this.metrics.inc("auth_password_reset_total", { event: "requested" });
    return { resetToken: t };
  }

  async resetConfirm(body: Record<string, unknown>): Promise<void> {
    await sleep(between(40, 120));
    const email = this.resets.get(String(body.token ?? ""));
    if (!email) {
      this.metrics.inc("auth_password_reset_total", { event: "failed" });
      throw new HttpError(400, "unknown or used reset token");
    }
    this.resets.delete(String(body.token));
    this.metrics.inc("auth_password_reset_total", { event: "completed" });
  }

  async oauth(provider: string, body: Record<string, unknown>, ip: string): Promise<unknown> {
    const p = (OAUTH_PROVIDERS as readonly string[]).includes(provider) ? provider : "google";
    const step = async (name: "start" | "callback" | "token", ok: boolean) => {
      await sleep(between(5, 30));
      this.metrics.inc("auth_oauth_total", { provider: p, step: name, result: ok ? "success" : "failure" });
      if (!ok) {
        this.metrics.inc("auth_logins_total", { result: "failure", method: "oauth", reason: "other" });
        this.log.write("login.failure", "warn", { ip, reason: `oauth_${name}_failed` });
        throw new HttpError(401, `oauth ${name} failed`);
      }
    };
    await step("start", true);
    await step("callback", body.deny !== true);
    await step("token", true);
    const user = [...this.users.values()][Math.floor(Math.random() * this.users.size)]!;
    const { family, accessToken } = this.issue(user);
    this.metrics.inc("auth_logins_total", { result: "success", method: "oauth", reason: "none" });
    this.log.write("login.success", "info", { userId: user.id, deviceId: family.deviceId, ip, country: user.country });
    return { accessToken, refreshToken: family.current, familyId: family.id, csrfToken: family.csrf };
  }

  async guest(ip: string): Promise<unknown> {
    await sleep(between(5, 20));
    const user = this.addUser(`guest-${randomUUID()}@guest.invalid`, token("pw"));
    const { family, accessToken } = this.issue(user);
    this.metrics.inc("auth_guest_total", { event: "created" });
    this.metrics.inc("auth_logins_total", { result: "success", method: "guest", reason: "none" });
    this.log.write("login.success", "info", { userId: user.id, deviceId: family.deviceId, ip, country: user.country });
    return { accessToken, refreshToken: family.current, familyId: family.id, csrfToken: family.csrf };
  }

  /** Guests that never converted expire (and are forgotten). */
  expireGuests(): void {
    let expired = 0;
    for (const [email] of this.users) {
      if (email.endsWith("@guest.invalid") && Math.random() < 0.1) {
        this.users.delete(email);
        expired++;
      }
    }
    if (expired > 0) this.metrics.inc("auth_guest_total", { event: "expired" }, expired);
  }
}

// ---------------------------------------------------------------------- HTTP

const OPERATIONS: Partial<Record<RouteKey, string>> = { login: "login", register: "register", refresh: "refresh", logout: "logout", resetRequest: "password_reset", resetConfirm: "password_reset" };

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = "";
    req.on("data", (c: Buffer) => (data += c.toString()));
    req.on("end", () => resolve(data));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, code: number, body?: unknown, type = "application/json"): void {
  const text = body === undefined ? "" : typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(code, { "content-type": type });
  res.end(text);
}

export interface Demo {
  readonly url: string;
  readonly service: AuthService;
  close(): Promise<void>;
}

/** Start the demo service (and, unless `traffic: false`, its background traffic). */
export async function startDemo(o: { port: number; logFile: string; traffic?: boolean }): Promise<Demo> {
  let service!: AuthService;
  const metrics = new ServiceMetrics(() => service.sessions());
  const log = new AuthLog(o.logFile);
  service = new AuthService(metrics, log);

  const handle = async (key: RouteKey, req: IncomingMessage, res: ServerResponse, fn: (body: Record<string, unknown>, ip: string) => Promise<unknown>) => {
    const { route, method } = ROUTES[key];
    const t0 = process.hrtime.bigint();
    let code = 200;
    let payload: unknown;
    try {
      const raw = await readBody(req);
      const body = (raw ? JSON.parse(raw) : {}) as Record<string, unknown>;
      const ip = String(req.headers["x-forwarded-for"] ?? req.socket.remoteAddress ?? "").split(",")[0]!.trim();
      if (service.faults.errorRatio > 0 && Math.random() < service.faults.errorRatio) {
        // The error-burst drill: the database pool is exhausted, requests time out.
        await sleep(between(20, 80));
        metrics.inc("auth_errors_total", { error_type: "database_timeout" });
        throw new HttpError(500, "database timeout");
      }
      payload = await fn(body, ip);
      code = key === "register" || key === "guest" ? 201 : key === "logout" || key === "resetConfirm" ? 204 : key === "resetRequest" ? 202 : 200;
    } catch (e) {
      if (e instanceof HttpError) code = e.code;
      else {
        code = 500;
        metrics.inc("auth_errors_total", { error_type: "internal" });
      }
      payload = { error: (e as Error).message };
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    metrics.inc("http_requests_total", { service: "auth", route, method, code: String(code) });
    metrics.observe("http_request_duration_seconds", { service: "auth", route, method }, seconds);
    const operation = OPERATIONS[key];
    if (operation) metrics.observe("auth_operation_duration_seconds", { operation }, seconds);
    send(res, code, code === 204 ? undefined : payload);
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const p = url.pathname;
    const m = req.method ?? "GET";
    void (async () => {
      try {
        if (p === "/health") return send(res, service.faults.health ? 200 : 503, { status: service.faults.health ? "ok" : "failing" });
        if (p === "/metrics") return send(res, 200, await metrics.registry.metrics(), metrics.registry.contentType);
        if (p === "/_control") {
          if (m === "POST") {
            const body = JSON.parse((await readBody(req)) || "{}") as Partial<Faults>;
            if (typeof body.errorRatio === "number") service.faults.errorRatio = Math.min(1, Math.max(0, body.errorRatio));
            if (typeof body.health === "boolean") service.faults.health = body.health;
          }
          return send(res, 200, service.faults);
        }
        if (m === "POST" && p === "/v1/login") return await handle("login", req, res, (b, ip) => service.login(b, ip));
        if (m === "POST" && p === "/v1/register") return await handle("register", req, res, (b, ip) => service.register(b, ip));
        if (m === "POST" && p === "/v1/token/refresh") return await handle("refresh", req, res, (b, ip) => service.refresh(b, ip));
        if (m === "POST" && p === "/v1/logout") {
          const csrf = req.headers["x-csrf-token"];
          return await handle("logout", req, res, (b, ip) => service.logout(b, typeof csrf === "string" ? csrf : undefined, ip));
        }
        if (m === "GET" && p === "/v1/me") return await handle("me", req, res, () => service.me(req.headers.authorization));
        if (m === "POST" && p === "/v1/password-reset") return await handle("resetRequest", req, res, (b) => service.resetRequest(b));
        if (m === "POST" && p === "/v1/password-reset/confirm") return await handle("resetConfirm", req, res, (b) => service.resetConfirm(b));
        const oauth = /^\/v1\/oauth\/([a-z]+)$/.exec(p);
        if (m === "POST" && oauth) return await handle("oauth", req, res, (b, ip) => service.oauth(oauth[1]!, b, ip));
        if (m === "POST" && p === "/v1/guest") return await handle("guest", req, res, (_b, ip) => service.guest(ip));
        return send(res, 404, { error: "not found" });
      } catch (e) {
        if (!res.headersSent) send(res, 500, { error: (e as Error).message });
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, LOOPBACK, () => resolve());
  });
  const url = `http://${LOOPBACK}:${o.port}`;
  const housekeeping = setInterval(() => {
    service.prune();
    service.expireGuests();
  }, 30_000);
  const traffic = o.traffic === false ? undefined : startTraffic(url, service);
  return {
    url,
    service,
    async close() {
      clearInterval(housekeeping);
      await traffic?.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await log.close();
    },
  };
}

// ------------------------------------------------------------------ traffic

interface Client {
  email: string;
  accessToken: string;
  refreshToken: string;
  csrfToken: string;
  accessExp: number;
  /** Dormant devices stay logged in without being used: the inactive sessions. */
  dormant: boolean;
  /** One request at a time per device: two refreshes racing would present a rotated token (reuse). */
  busy: boolean;
}

/** Per second. About 11 requests a second; login failures ~4 %, 5xx none, p95 well under 500 ms. */
const RATES = {
  me: 6,
  refresh: 1.2,
  login: 1,
  oauth: 0.2,
  guest: 0.05,
  register: 0.2,
  reset: 0.05,
  staleRefresh: 0.02,
  csrfMismatch: 0.003,
} as const;
const MAX_CLIENTS = 300;

const CLIENT_IPS = Array.from({ length: 64 }, (_, i) => `198.51.100.${i + 10}`);
const ip = () => CLIENT_IPS[Math.floor(Math.random() * CLIENT_IPS.length)]!;

/**
 * Steady background traffic through the service's own HTTP API, as users
 * would produce it: logins (a few wrong passwords), token validations,
 * refreshes, registrations, password resets, OAuth and guests, logouts.
 */
export function startTraffic(url: string, service: AuthService): { stop: () => Promise<void> } {
  const clients: Client[] = [];
  const inflight = new Set<Promise<unknown>>();
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { "content-type": "application/json", "x-forwarded-for": ip(), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    return { status: res.status, json: (text ? JSON.parse(text) : {}) as Record<string, string> };
  };
  const drop = (c: Client) => {
    const i = clients.indexOf(c);
    if (i >= 0) clients.splice(i, 1);
  };
  /** A random awake, idle device, marked busy until `use` settles. */
  const withClient = async (use: (c: Client) => Promise<unknown>) => {
    const idle = clients.filter((c) => !c.dormant && !c.busy);
    const c = idle[Math.floor(Math.random() * idle.length)];
    if (!c) return;
    c.busy = true;
    try {
      await use(c);
    } finally {
      c.busy = false;
    }
  };
  const adopt = (email: string, j: Record<string, string>) => {
    clients.push({ email, accessToken: j.accessToken!, refreshToken: j.refreshToken!, csrfToken: j.csrfToken!, accessExp: Date.now() + ACCESS_TTL_MS, dormant: Math.random() < 0.2, busy: false });
    // Devices leave: the oldest idle one logs out, so sessions stay bounded.
    if (clients.length > MAX_CLIENTS) {
      const gone = clients.find((c) => !c.busy);
      if (!gone) return;
      drop(gone);
      void call("POST", "/v1/logout", { refreshToken: gone.refreshToken }, { "x-csrf-token": gone.csrfToken }).catch(() => undefined);
    }
  };
  const refresh = async (c: Client) => {
    const r = await call("POST", "/v1/token/refresh", { refreshToken: c.refreshToken });
    if (r.status === 200) {
      c.accessToken = r.json.accessToken!;
      c.refreshToken = r.json.refreshToken!;
      c.accessExp = Date.now() + ACCESS_TTL_MS;
    } else {
      drop(c);
    }
  };
  const actions: Record<keyof typeof RATES, () => Promise<unknown>> = {
    me: () =>
      withClient(async (c) => {
        const roll = Math.random();
        if (roll < 0.003) return call("GET", "/v1/me", undefined, { authorization: `Bearer ${token("at")}` });
        // Clients refresh an expired access token first, except the odd one with a skewed clock.
        if (c.accessExp < Date.now() && roll > 0.01) return refresh(c);
        return call("GET", "/v1/me", undefined, { authorization: `Bearer ${c.accessToken}` });
      }),
    refresh: () =>
      withClient(async (c) => {
        if (Math.random() < 0.005) return call("POST", "/v1/token/refresh", { refreshToken: token("rt") });
        return refresh(c);
      }),
    async login() {
      const email = `user${1 + Math.floor(Math.random() * 500)}@example.com`;
      const roll = Math.random();
      const body =
        roll < 0.035
          ? { email, password: "wrong password" }
          : roll < 0.04
            ? { email, password: DEMO_PASSWORD, mfaCode: "000000" }
            : roll < 0.06
              ? { email, method: "magic_link" }
              : { email, password: DEMO_PASSWORD };
      const r = await call("POST", "/v1/login", body);
      if (r.status === 200) adopt(email, r.json);
    },
    async oauth() {
      const r = await call("POST", `/v1/oauth/${Math.random() < 0.6 ? "google" : "github"}`, { deny: Math.random() < 0.03 });
      if (r.status === 200) adopt("oauth", r.json);
    },
    async guest() {
      const r = await call("POST", "/v1/guest");
      if (r.status !== 201) return;
      adopt("guest", r.json);
      if (Math.random() < 0.3) await call("POST", "/v1/register", { email: `converted-${randomUUID()}@example.com`, password: DEMO_PASSWORD, fromGuest: true });
    },
    async register() {
      const roll = Math.random();
      const email = roll < 0.02 ? "user1@example.com" : `new-${randomUUID()}@example.com`;
      return call("POST", "/v1/register", { email, password: roll > 0.02 && roll < 0.03 ? "short" : DEMO_PASSWORD });
    },
    async reset() {
      const r = await call("POST", "/v1/password-reset", { email: `user${1 + Math.floor(Math.random() * 500)}@example.com` });
      await sleep(between(200, 2000));
      return call("POST", "/v1/password-reset/confirm", { token: Math.random() < 0.1 ? "expired-link" : r.json.resetToken });
    },
    async staleRefresh() {
      return call("POST", "/v1/token/refresh", { refreshToken: service.staleDevice() });
    },
    csrfMismatch: () => withClient((c) => call("POST", "/v1/logout", { refreshToken: c.refreshToken }, { "x-csrf-token": "stale" })),
  };
  const tickMs = 100;
  const timer = setInterval(() => {
    for (const [name, rate] of Object.entries(RATES) as [keyof typeof RATES, number][]) {
      if (Math.random() >= (rate * tickMs) / 1000) continue;
      const p = actions[name]().catch(() => undefined);
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    }
  }, tickMs);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.allSettled([...inflight]);
    },
  };
}
