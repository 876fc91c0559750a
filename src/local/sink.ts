/**
 * The webhook sink that stands in for Slack, PagerDuty and the dead man's
 * switch: an HTTP server that answers 200 to every POST and keeps what it got.
 * The local stack reads each delivery as a notification (alert, severity,
 * receiver, summary, runbook link); the tests use the raw requests.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import { freePort, LOOPBACK } from "./net";

export interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
  /** When it arrived (ms since the epoch). */
  readonly at: number;
}

/** Answers a request itself (returns true) or leaves it to the sink (false). */
export type ApiHandler = (req: IncomingMessage, res: ServerResponse, body: string) => boolean | Promise<boolean>;

export interface Sink {
  readonly url: string;
  readonly port: number;
  readonly received: Received[];
  close(): Promise<void>;
}

export async function startSink(opts: { port?: number; onReceive?: (r: Received) => void; api?: ApiHandler } = {}): Promise<Sink> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let data = "";
    req.on("data", (c: Buffer) => (data += c.toString()));
    req.on("end", () => {
      void (async () => {
        try {
          if (opts.api && (await opts.api(req, res, data))) return;
        } catch (e) {
          if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
          res.end(`${(e as Error).message}\n`);
          return;
        }
        let body: unknown = data;
        try {
          body = JSON.parse(data);
        } catch {
          /* keep text */
        }
        const r: Received = { path: req.url ?? "", headers: req.headers, body, at: Date.now() };
        received.push(r);
        res.writeHead(200, { "content-type": "application/json" });
        res.end('{"status":"success"}');
        opts.onReceive?.(r);
      })();
    });
  });
  const port = opts.port ?? (await freePort());
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, LOOPBACK, () => resolve());
  });
  return {
    url: `http://${LOOPBACK}:${port}`,
    port,
    received,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ------------------------------------------------------------ notifications

/** Sink paths, by receiver: the local stack points each receiver at its own path. */
export const RECEIVER_PATHS = {
  "/pagerduty": "pagerduty-critical",
  "/slack-auth": "slack-auth",
  "/slack-security": "slack-security",
  "/deadmansswitch": "deadmansswitch",
} as const;

export interface Notification {
  readonly at: number;
  readonly receiver: string;
  readonly status: "firing" | "resolved";
  readonly alertname: string;
  readonly severity: string;
  readonly summary: string;
  readonly runbookUrl: string;
  /** Alerts in the group that notification carries (firing ones when firing). */
  readonly alerts: number;
  readonly channel?: string;
}

/** The title of every message: "[FIRING:1] CRITICAL AuthServiceDown (auth, local)" (src/render/alertmanager.ts). */
const TITLE = /^\[(FIRING|RESOLVED)(?::(\d+))?\] (\S*) (\S+) \(/;

function fromTitle(title: string): { status: "firing" | "resolved"; alerts: number; severity: string; alertname: string } | undefined {
  const m = TITLE.exec(title);
  if (!m) return undefined;
  return { status: m[1] === "FIRING" ? "firing" : "resolved", alerts: Number(m[2] ?? 0), severity: (m[3] ?? "").toLowerCase(), alertname: m[4]! };
}

/**
 * Read one delivery as the notification its receiver shows: PagerDuty Events
 * v2, a Slack message, or the dead man's switch's plain webhook.
 */
export function toNotification(r: Received): Notification | undefined {
  const receiver = RECEIVER_PATHS[r.path as keyof typeof RECEIVER_PATHS];
  if (!receiver) return undefined;
  const b = (r.body ?? {}) as Record<string, any>;
  if (receiver === "pagerduty-critical") {
    const t = fromTitle(String(b.payload?.summary ?? ""));
    const details = (b.payload?.custom_details ?? {}) as Record<string, string>;
    const status = b.event_action === "resolve" ? "resolved" : "firing";
    return {
      at: r.at,
      receiver,
      status,
      alertname: t?.alertname ?? "?",
      severity: t?.severity ?? String(b.payload?.severity ?? ""),
      summary: details.summary ?? "",
      runbookUrl: details.runbook_url ?? "",
      alerts: t?.alerts ?? 0,
    };
  }
  if (receiver === "deadmansswitch") {
    const alerts = (b.alerts ?? []) as { labels?: Record<string, string>; annotations?: Record<string, string>; status?: string }[];
    const first = alerts[0] ?? {};
    return {
      at: r.at,
      receiver,
      status: b.status === "resolved" ? "resolved" : "firing",
      alertname: first.labels?.alertname ?? "?",
      severity: first.labels?.severity ?? "",
      summary: first.annotations?.summary ?? "",
      runbookUrl: first.annotations?.runbook_url ?? "",
      alerts: alerts.length,
    };
  }
  const attachment = ((b.attachments ?? []) as Record<string, string>[])[0] ?? {};
  const t = fromTitle(String(attachment.title ?? ""));
  const text = String(attachment.text ?? "");
  // The text's second line is the summary (src/render/alertmanager.ts "authwatch.text").
  const summary = text.split("\n")[1] ?? "";
  return {
    at: r.at,
    receiver,
    status: t?.status ?? "firing",
    alertname: t?.alertname ?? "?",
    severity: t?.severity ?? "",
    summary,
    runbookUrl: /^Runbook: (\S+)/m.exec(text)?.[1] ?? String(attachment.title_link ?? ""),
    alerts: t?.alerts ?? 0,
    channel: typeof b.channel === "string" ? b.channel : undefined,
  };
}
