/**
 * The demo auth service over HTTP (service label "auth"):
 *   POST /v1/login {email, password, method?, mfaCode?}   POST /v1/register {email, password}
 *   POST /v1/token/refresh {refreshToken}                 POST /v1/logout {refreshToken} + x-csrf-token
 *   GET  /v1/me (Authorization: Bearer <access>)          POST /v1/password-reset {email} | /v1/password-reset/confirm {token}
 *   POST /v1/oauth/{provider}                             POST /v1/guest
 *   GET /health, GET /metrics
 *   GET|POST /_control {errorRatio, health, badRelease}: drills make it misbehave (loopback only, not counted in metrics)
 * The client address is taken from x-forwarded-for, as behind the ingress, its platform from x-platform.
 * The feature flags (./flags.ts, ./access.ts) decide per request: a caller they leave without
 * authentication gets seed 002's anonymous mode, HTTP 200 {authMode: "anonymous", reason, userId}
 * on every /v1 route; every /v1 answer carries x-auth-mode: authenticated | anonymous.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { LOOPBACK, sleep } from "../net";
import { anonymousAnswer, AUTH_MODE_HEADER, authMode, PLATFORM_HEADER } from "./access";
import { LiveFlags, registerFlagGauge } from "./flags";
import { AuthLog } from "./log";
import { ROUTES, ServiceMetrics, type RouteKey } from "./metrics";
import { AuthService, between, HttpError, type Faults } from "./service";
import { startTraffic } from "./traffic";

const OPERATIONS: Partial<Record<RouteKey, string>> = { login: "login", register: "register", refresh: "refresh", logout: "logout", resetRequest: "password_reset", resetConfirm: "password_reset" };
/**
 * The failure event a database error writes (at level error), for the routes that have one.
 * Without an e-mail: a failure the database caused is no guess at an account's password.
 */
const DATABASE_ERROR_EVENTS: Partial<Record<RouteKey, string>> = { login: "login.failure", oauth: "login.failure", register: "register.failure" };

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = "";
    req.on("data", (c: Buffer) => (data += c.toString()));
    req.on("end", () => resolve(data));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, code: number, body?: unknown, type = "application/json", headers: Record<string, string> = {}): void {
  const text = body === undefined ? "" : typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(code, { "content-type": type, ...headers });
  res.end(text);
}

export interface Demo {
  readonly url: string;
  readonly service: AuthService;
  readonly flags: LiveFlags;
  close(): Promise<void>;
}

export interface DemoOptions {
  readonly port: number;
  readonly logFile: string;
  readonly traffic?: boolean;
  /** The database whose feature_flags the service follows (none: the flags' defaults). */
  readonly databaseUrl?: string;
  /** Where the service's own messages go (the flag client's); stdout by default. */
  readonly print?: (line: string) => void;
}

/** Start the demo service (and, unless `traffic: false`, its background traffic). */
export async function startDemo(o: DemoOptions): Promise<Demo> {
  let service!: AuthService;
  const metrics = new ServiceMetrics(() => service.sessions());
  const log = new AuthLog(o.logFile);
  service = new AuthService(metrics, log);
  const print = o.print ?? ((line: string) => console.log(`${new Date().toISOString()} ${line}`));
  const flags = new LiveFlags({ databaseUrl: o.databaseUrl, log: print });
  registerFlagGauge(metrics.registry, () => flags.values);
  await flags.start();

  const handle = async (key: RouteKey, req: IncomingMessage, res: ServerResponse, fn: (body: Record<string, unknown>, ip: string) => Promise<unknown>) => {
    const { route, method } = ROUTES[key];
    const t0 = process.hrtime.bigint();
    let code = 200;
    let payload: unknown;
    let mode: ReturnType<typeof authMode> = { mode: "authenticated" };
    try {
      const raw = await readBody(req);
      const body = (raw ? JSON.parse(raw) : {}) as Record<string, unknown>;
      const ip = String(req.headers["x-forwarded-for"] ?? req.socket.remoteAddress ?? "").split(",")[0]!.trim();
      const platform = req.headers[PLATFORM_HEADER];
      mode = authMode(flags.values, { platform: typeof platform === "string" ? platform : undefined, userId: service.holder(body, req.headers.authorization) });
      if (mode.mode === "anonymous") {
        // Anonymous mode: no credential is checked and no auth event happens (nothing to count but the request).
        payload = anonymousAnswer(mode.reason);
      } else if (service.faults.errorRatio > 0 && Math.random() < service.faults.errorRatio) {
        // The error-burst drill: the database pool is exhausted, requests time out, and the
        // service logs the failed login or registration at level error.
        await sleep(between(20, 80));
        metrics.inc("auth_errors_total", { error_type: "database" });
        const evt = DATABASE_ERROR_EVENTS[key];
        if (evt) log.write(evt, "error", { ip, reason: "database_timeout" });
        throw new HttpError(500, "database timeout");
      } else {
        payload = await fn(body, ip);
        code = key === "register" || key === "guest" ? 201 : key === "logout" || key === "resetConfirm" ? 204 : key === "resetRequest" ? 202 : 200;
      }
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
    if (operation && mode.mode === "authenticated") metrics.observe("auth_operation_duration_seconds", { operation }, seconds);
    send(res, code, code === 204 ? undefined : payload, undefined, { [AUTH_MODE_HEADER]: mode.mode });
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const p = url.pathname;
    const m = req.method ?? "GET";
    void (async () => {
      try {
        if (p === "/health") {
          // auth: how a caller without platform or user is served now; flags: where the flags in effect came from.
          const auth = authMode(flags.values, {});
          return send(res, service.faults.health ? 200 : 503, {
            status: service.faults.health ? "ok" : "failing",
            auth: auth.mode === "authenticated" ? "enabled" : `anonymous (${auth.reason})`,
            flags: flags.state.source,
          });
        }
        if (p === "/metrics") return send(res, 200, await metrics.registry.metrics(), metrics.registry.contentType);
        if (p === "/_control") {
          if (m === "POST") {
            const body = JSON.parse((await readBody(req)) || "{}") as Partial<Faults>;
            if (typeof body.errorRatio === "number") service.faults.errorRatio = Math.min(1, Math.max(0, body.errorRatio));
            if (typeof body.health === "boolean") service.faults.health = body.health;
            if (typeof body.badRelease === "boolean") service.faults.badRelease = body.badRelease;
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
    flags,
    async close() {
      clearInterval(housekeeping);
      await traffic?.stop();
      await flags.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await log.close();
    },
  };
}
