/** Loopback ports, waiting for things, and small HTTP helpers (the local stack and the tests share them). */
import { createServer } from "node:net";

export const LOOPBACK = "127.0.0.1";

/** The HTTP base URL of a loopback port. */
export const localUrl = (port: number) => `http://${LOOPBACK}:${port}`;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A port the kernel just handed out on loopback (free at that moment). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, LOOPBACK, () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Can we listen on this loopback port right now? */
export async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", () => resolve(false));
    srv.listen(port, LOOPBACK, () => srv.close(() => resolve(true)));
  });
}

/** The preferred port when it is free (and not already taken by us), any free port otherwise. */
export async function pickPort(preferred: number | undefined, taken: ReadonlySet<number> = new Set()): Promise<number> {
  if (preferred !== undefined && !taken.has(preferred) && (await portFree(preferred))) return preferred;
  for (;;) {
    const port = await freePort();
    if (!taken.has(port)) return port;
  }
}

/** Poll `probe` until it returns a value (not undefined); throw after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** GET a URL; undefined when nothing answers (connection refused, timeout). */
export async function tryFetch(url: string, init: RequestInit = {}, timeoutMs = 3000): Promise<Response | undefined> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch {
    return undefined;
  }
}

export async function getJson<T = unknown>(url: string, timeoutMs = 5000): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

export async function postJson<T = unknown>(url: string, body: unknown = {}, timeoutMs = 30_000): Promise<T> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${url}: HTTP ${res.status} ${text}`);
  return (text ? JSON.parse(text) : {}) as T;
}

/**
 * Sends `send(n)` (n counting from 0) `perSecond` times a second, in batches every 100 ms, until
 * stopped; a failed request is dropped. stop() waits for the requests in flight and says how many it sent.
 */
export function requestLoop(perSecond: number, send: (n: number) => Promise<unknown>): { stop: () => Promise<number> } {
  let running = true;
  let sent = 0;
  const inflight = new Set<Promise<unknown>>();
  const loop = (async () => {
    while (running) {
      for (let i = 0; i < perSecond / 10 && running; i++) {
        const p = send(sent++).catch(() => undefined);
        inflight.add(p);
        void p.finally(() => inflight.delete(p));
      }
      await sleep(100);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await Promise.allSettled([...inflight]);
      return sent;
    },
  };
}
