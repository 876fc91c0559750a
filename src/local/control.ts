/**
 * The supervisor's side of the notification sink: what Alertmanager delivers
 * (kept, appended to notifications.jsonl, printed), and the control API under
 * /api/ that `status` and the drills call:
 *   GET  /api/state                       state.json plus what runs now, the jobs, heartbeats
 *   GET  /api/notifications?since=<ms>    notifications received since then
 *   GET  /api/statuspage?since=<ms>       status-page incidents posted since then (npm run rollback)
 *   POST /api/services/<process>/stop|kill|start
 *   POST /api/jobs/pause | resume | run/<job>
 */
import { appendFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { JOB_NAMES, type JobName, type JobRunner } from "./jobs";
import { clock, formatNotification } from "./screen";
import { toNotification, type ApiHandler, type Notification, type Received } from "./sink";
import { toStatusPageUpdate, type StatusPageUpdate } from "./statuspage";
import type { ProcessName, StackState } from "./state";
import type { Supervisor } from "./supervisor";

/** Notifications kept in memory (all of them are in the file). */
const KEEP = 5000;

export class Inbox {
  readonly notifications: Notification[] = [];
  readonly statusPage: StatusPageUpdate[] = [];
  heartbeats = 0;

  constructor(
    private readonly file: string,
    private readonly print: (line: string) => void,
  ) {}

  receive(r: Received): void {
    const update = toStatusPageUpdate(r);
    if (update) {
      this.statusPage.push(update);
      this.print(`${clock()} ▶ STATUS PAGE [${update.status}] ${update.title}: ${update.message}`);
      return;
    }
    const n = toNotification(r);
    if (!n) return;
    this.notifications.push(n);
    if (this.notifications.length > KEEP) this.notifications.splice(0, this.notifications.length - KEEP);
    appendFileSync(this.file, `${JSON.stringify(n)}\n`);
    if (n.receiver === "deadmansswitch") {
      if (this.heartbeats++ === 0) this.print(`${clock()} ♥ ${n.alertname} → deadmansswitch (the alert path works; repeats every minute, not printed again)`);
      return;
    }
    this.print(formatNotification(n));
  }
}

export interface ControlContext {
  readonly state: StackState;
  readonly supervisor: Supervisor;
  /** Undefined until the jobs have started. */
  readonly jobs: () => JobRunner | undefined;
  readonly inbox: Inbox;
  readonly print: (line: string) => void;
}

export function controlApi(ctx: ControlContext): ApiHandler {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (!url.pathname.startsWith("/api/")) return false;
    const json = (code: number, body: unknown) => {
      res.writeHead(code, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
      return true;
    };
    const parts = url.pathname.split("/").filter(Boolean); // api, ...
    const found = await (req.method === "GET" ? read(ctx, parts, url) : act(ctx, req.method, parts));
    if (found) return json(found.code, found.body);
    return json(404, { error: `no such control endpoint: ${req.method} ${url.pathname}` });
  };
}

type Answer = { code: number; body: unknown } | undefined;
const ok = (body: unknown): Answer => ({ code: 200, body });

function read(ctx: ControlContext, parts: string[], url: URL): Answer {
  if (parts[1] === "state") {
    const jobs = ctx.jobs();
    const running = Object.fromEntries(ctx.supervisor.names().map((n) => [n, ctx.supervisor.running(n)]));
    return ok({ ...ctx.state, running, jobs: jobs?.status, jobsPaused: jobs?.isPaused ?? false, heartbeats: ctx.inbox.heartbeats });
  }
  if (parts[1] === "notifications") {
    const since = Number(url.searchParams.get("since") ?? 0);
    return ok(ctx.inbox.notifications.filter((n) => n.at >= since));
  }
  if (parts[1] === "statuspage") return ok(ctx.inbox.statusPage.filter((u) => u.at >= Number(url.searchParams.get("since") ?? 0)));
  return undefined;
}

async function act(ctx: ControlContext, method: string | undefined, parts: string[]): Promise<Answer> {
  if (method !== "POST") return undefined;
  if (parts[1] === "services" && parts.length === 4) return processVerb(ctx, parts[2]!, parts[3]!);
  const jobs = ctx.jobs();
  if (parts[1] === "jobs" && jobs) return jobVerb(ctx, jobs, parts[2], parts[3]);
  return undefined;
}

/** Stop or start one child (the drills' outages). */
async function processVerb(ctx: ControlContext, name: string, verb: string): Promise<Answer> {
  const c = ctx.supervisor.child(name as ProcessName);
  if (!c) return { code: 404, body: { error: `no service ${name}` } };
  if (verb === "stop") {
    ctx.print(`${clock()} ■ ${c.spec.name} stopped (drill)`);
    await c.stop();
    return ok({ stopped: c.spec.name });
  }
  if (verb === "kill") {
    ctx.print(`${clock()} ■ ${c.spec.name} killed (SIGKILL, drill)`);
    await c.kill();
    return ok({ killed: c.spec.name });
  }
  if (verb === "start") {
    await ctx.supervisor.start(c.spec);
    ctx.print(`${clock()} ▶ ${c.spec.name} started again`);
    return ok({ started: c.spec.name, pid: c.pid });
  }
  return undefined;
}

async function jobVerb(ctx: ControlContext, jobs: JobRunner, verb: string | undefined, name: string | undefined): Promise<Answer> {
  if (verb === "pause") {
    jobs.pause();
    ctx.print(`${clock()} ■ database jobs paused (drill)`);
    return ok({ paused: true });
  }
  if (verb === "resume") {
    jobs.resume();
    ctx.print(`${clock()} ▶ database jobs resumed`);
    return ok({ paused: false });
  }
  if (verb === "run" && JOB_NAMES.includes(name as JobName)) {
    const result = await jobs.run(name as JobName);
    return ok({ code: result?.code ?? null });
  }
  return undefined;
}
