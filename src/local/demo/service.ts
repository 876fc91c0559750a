/**
 * The demo auth service's logic, in memory: users, login (rate limit,
 * lockout, MFA), refresh-token families with rotation and reuse detection,
 * sessions, registration, password reset, OAuth and guests. Every outcome
 * counts in the metrics and writes seed 000's log line.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { sleep } from "../net";
import type { AuthLog } from "./log";
import { OAUTH_PROVIDERS, type RATE_LIMITED_ENDPOINTS, type ServiceMetrics } from "./metrics";

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
  /** The rollback drill's bad release: every login fails (HTTP 401, reason "other") until the kill switch serves anonymous mode. */
  badRelease: boolean;
}

const COUNTRIES = ["DE", "FR", "NL", "US", "GB", "SE", "PL", "ES"];
export const DEMO_PASSWORD = "correct horse battery staple";
export const ACCESS_TTL_MS = 120_000;
/** A session nobody used for this long counts as inactive; after IDLE_EXPIRY it is gone. */
const ACTIVE_WINDOW_MS = 120_000;
const IDLE_EXPIRY_MS = 30 * 60_000;
const LOGIN_LIMIT_PER_MINUTE = 60;
const LOCKOUT_FAILURES = 5;
const LOCKOUT_MS = 60_000;

export const token = (prefix: string) => `${prefix}_${randomBytes(18).toString("base64url")}`;
export const between = (lo: number, hi: number) => lo + Math.random() * (hi - lo);

export class HttpError extends Error {
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
  readonly faults: Faults = { errorRatio: 0, health: true, badRelease: false };

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

  /** The user a request names, where it names one: a login's e-mail, an access token's or a refresh token's holder. */
  holder(body: Record<string, unknown>, authorization: string | undefined): number | undefined {
    if (typeof body.email === "string") return this.users.get(body.email)?.id;
    if (typeof body.refreshToken === "string") return this.families.get(this.refreshIndex.get(body.refreshToken) ?? "")?.userId;
    const bearer = /^Bearer (\S+)$/.exec(authorization ?? "")?.[1];
    return bearer === undefined ? undefined : this.access.get(bearer)?.userId;
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
    if (this.faults.badRelease) this.loginFailure(method, "other", { email, ip, country }, 401, "release_regression");
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
