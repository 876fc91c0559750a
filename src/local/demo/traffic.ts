/** The demo service's background traffic, through its own HTTP API. */
import { randomUUID } from "node:crypto";
import { sleep } from "../net";
import { PLATFORM_HEADER, type Platform } from "./access";
import { ACCESS_TTL_MS, between, DEMO_PASSWORD, token, type AuthService } from "./service";

interface Client {
  email: string;
  platform: Platform;
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

/** The clients' platforms, web the most common (each request names its platform: the per-platform switches act on it). */
const platform = (): Platform => {
  const r = Math.random();
  return r < 0.5 ? "web" : r < 0.8 ? "ios" : "android";
};
/** An answer in anonymous mode (the flags turned authentication off for this caller): no tokens to keep. */
const anonymous = (r: { json: Record<string, string> }) => r.json.authMode === "anonymous";

const CLIENT_IPS = Array.from({ length: 64 }, (_, i) => `198.51.100.${i + 10}`);
const ip = () => CLIENT_IPS[Math.floor(Math.random() * CLIENT_IPS.length)]!;
/**
 * New users sign up from their own addresses, not from the 64 of the returning clients: ~770
 * registrations an hour over 4096 addresses is 0.2 per address, so AuthRegistrationsFromOneIP
 * (more than 5 from one IP in 1 h) stays silent on healthy traffic.
 */
const signupIp = () => `198.18.${Math.floor(Math.random() * 16)}.${Math.floor(Math.random() * 256)}`;

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
      headers: { "content-type": "application/json", "x-forwarded-for": ip(), [PLATFORM_HEADER]: platform(), ...headers },
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
  const adopt = (email: string, r: { status: number; json: Record<string, string> }, p: Platform) => {
    if (anonymous(r)) return;
    const j = r.json;
    clients.push({ email, platform: p, accessToken: j.accessToken!, refreshToken: j.refreshToken!, csrfToken: j.csrfToken!, accessExp: Date.now() + ACCESS_TTL_MS, dormant: Math.random() < 0.2, busy: false });
    // Devices leave: the oldest idle one logs out, so sessions stay bounded.
    if (clients.length > MAX_CLIENTS) {
      const gone = clients.find((c) => !c.busy);
      if (!gone) return;
      drop(gone);
      void call("POST", "/v1/logout", { refreshToken: gone.refreshToken }, { "x-csrf-token": gone.csrfToken, [PLATFORM_HEADER]: gone.platform }).catch(() => undefined);
    }
  };
  const refresh = async (c: Client) => {
    const r = await call("POST", "/v1/token/refresh", { refreshToken: c.refreshToken }, { [PLATFORM_HEADER]: c.platform });
    if (anonymous(r)) return;
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
        if (roll < 0.003) return call("GET", "/v1/me", undefined, { authorization: `Bearer ${token("at")}`, [PLATFORM_HEADER]: c.platform });
        // Clients refresh an expired access token first, except the odd one with a skewed clock.
        if (c.accessExp < Date.now() && roll > 0.01) return refresh(c);
        return call("GET", "/v1/me", undefined, { authorization: `Bearer ${c.accessToken}`, [PLATFORM_HEADER]: c.platform });
      }),
    refresh: () =>
      withClient(async (c) => {
        if (Math.random() < 0.005) return call("POST", "/v1/token/refresh", { refreshToken: token("rt") }, { [PLATFORM_HEADER]: c.platform });
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
      const p = platform();
      const r = await call("POST", "/v1/login", body, { [PLATFORM_HEADER]: p });
      if (r.status === 200) adopt(email, r, p);
    },
    async oauth() {
      const p = platform();
      const r = await call("POST", `/v1/oauth/${Math.random() < 0.6 ? "google" : "github"}`, { deny: Math.random() < 0.03 }, { [PLATFORM_HEADER]: p });
      if (r.status === 200) adopt("oauth", r, p);
    },
    async guest() {
      const p = platform();
      const r = await call("POST", "/v1/guest", undefined, { [PLATFORM_HEADER]: p });
      if (r.status !== 201) return;
      adopt("guest", r, p);
      if (Math.random() < 0.3) await call("POST", "/v1/register", { email: `converted-${randomUUID()}@example.com`, password: DEMO_PASSWORD, fromGuest: true }, { "x-forwarded-for": signupIp() });
    },
    async register() {
      const roll = Math.random();
      const email = roll < 0.02 ? "user1@example.com" : `new-${randomUUID()}@example.com`;
      return call("POST", "/v1/register", { email, password: roll > 0.02 && roll < 0.03 ? "short" : DEMO_PASSWORD }, { "x-forwarded-for": signupIp() });
    },
    async reset() {
      const r = await call("POST", "/v1/password-reset", { email: `user${1 + Math.floor(Math.random() * 500)}@example.com` });
      await sleep(between(200, 2000));
      return call("POST", "/v1/password-reset/confirm", { token: Math.random() < 0.1 ? "expired-link" : r.json.resetToken });
    },
    async staleRefresh() {
      return call("POST", "/v1/token/refresh", { refreshToken: service.staleDevice() });
    },
    csrfMismatch: () => withClient((c) => call("POST", "/v1/logout", { refreshToken: c.refreshToken }, { "x-csrf-token": "stale", [PLATFORM_HEADER]: c.platform })),
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
