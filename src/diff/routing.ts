/**
 * Alertmanager's routing-tree matching (dispatch/route.go) over a parsed alertmanager.yaml,
 * so that `npm run diff` can tell which receivers an alert reaches in each revision
 * without importing the routing definitions (which may differ between the revisions).
 */

export type Labels = Readonly<Record<string, string>>;

export interface Matcher {
  readonly name: string;
  readonly op: "=" | "!=" | "=~" | "!~";
  readonly value: string;
}

/** What one matched route does with an alert: its receiver, timings and mute/active intervals. */
export interface Delivery {
  readonly receiver: string;
  readonly groupWait: string;
  readonly groupInterval: string;
  readonly repeatInterval: string;
  readonly muteTimeIntervals: readonly string[];
  readonly activeTimeIntervals: readonly string[];
}

interface RawRoute {
  receiver?: string;
  matchers?: string[];
  match?: Record<string, string>;
  match_re?: Record<string, string>;
  continue?: boolean;
  routes?: RawRoute[];
  group_wait?: string;
  group_interval?: string;
  repeat_interval?: string;
  mute_time_intervals?: string[];
  active_time_intervals?: string[];
}

/** Parses one `matchers:` entry: `a="b"`, `a=~"x|y"`, or several, comma separated, optionally in braces. */
export function parseMatchers(text: string): Matcher[] {
  let s = text.trim();
  if (s.startsWith("{") && s.endsWith("}")) s = s.slice(1, -1);
  const out: Matcher[] = [];
  let i = 0;
  const skipSpace = () => {
    while (i < s.length && /\s/.test(s[i]!)) i++;
  };
  while (true) {
    skipSpace();
    if (i >= s.length) break;
    const name = /^[^\s=!~,"]+/.exec(s.slice(i))?.[0];
    if (!name) throw new Error(`bad matcher ${JSON.stringify(text)}`);
    i += name.length;
    skipSpace();
    const op = (["=~", "!~", "!=", "="] as const).find((o) => s.startsWith(o, i));
    if (!op) throw new Error(`bad matcher ${JSON.stringify(text)}: no operator after ${name}`);
    i += op.length;
    skipSpace();
    let value = "";
    if (s[i] === '"') {
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === "\\" && i + 1 < s.length) {
          const c = s[i + 1]!;
          value += c === "n" ? "\n" : c;
          i += 2;
        } else value += s[i++];
      }
      if (s[i] !== '"') throw new Error(`bad matcher ${JSON.stringify(text)}: unterminated quote`);
      i++;
    } else {
      const m = /^[^,]*/.exec(s.slice(i))![0];
      value = m.trim();
      i += m.length;
    }
    out.push({ name, op, value });
    skipSpace();
    if (s[i] === ",") i++;
  }
  return out;
}

function matches(m: Matcher, labels: Labels): boolean {
  const v = labels[m.name] ?? "";
  switch (m.op) {
    case "=":
      return v === m.value;
    case "!=":
      return v !== m.value;
    case "=~":
      return new RegExp(`^(?:${m.value})$`, "s").test(v);
    case "!~":
      return !new RegExp(`^(?:${m.value})$`, "s").test(v);
  }
}

function routeMatchers(r: RawRoute): Matcher[] {
  return [
    ...Object.entries(r.match ?? {}).map(([name, value]) => ({ name, op: "=" as const, value })),
    ...Object.entries(r.match_re ?? {}).map(([name, value]) => ({ name, op: "=~" as const, value })),
    ...(r.matchers ?? []).flatMap(parseMatchers),
  ];
}

type Opts = Pick<Delivery, "receiver" | "groupWait" | "groupInterval" | "repeatInterval">;

/** Alertmanager's defaults for a root route that omits them (config.DefaultRouteOpts). */
const ROOT_DEFAULTS: Opts = { receiver: "", groupWait: "30s", groupInterval: "5m", repeatInterval: "4h" };

function walk(r: RawRoute, parent: Opts, labels: Labels, isRoot: boolean): Delivery[] | undefined {
  if (!isRoot && !routeMatchers(r).every((m) => matches(m, labels))) return undefined;
  // Receiver and timings are inherited from the parent; mute/active intervals are not.
  const opts: Opts = {
    receiver: r.receiver ?? parent.receiver,
    groupWait: r.group_wait ?? parent.groupWait,
    groupInterval: r.group_interval ?? parent.groupInterval,
    repeatInterval: r.repeat_interval ?? parent.repeatInterval,
  };
  const all: Delivery[] = [];
  for (const child of r.routes ?? []) {
    const found = walk(child, opts, labels, false);
    if (found) {
      all.push(...found);
      if (!child.continue) break;
    }
  }
  if (all.length === 0) all.push({ ...opts, muteTimeIntervals: r.mute_time_intervals ?? [], activeTimeIntervals: r.active_time_intervals ?? [] });
  return all;
}

/** The routes an alert with these labels ends at, in Alertmanager's order (what `amtool config routes test` prints). */
export function routeAlert(config: unknown, labels: Labels): Delivery[] {
  const root = (config as { route?: RawRoute } | undefined)?.route;
  if (!root) throw new Error("alertmanager.yaml has no route");
  return walk(root, ROOT_DEFAULTS, labels, true)!;
}

/** Receivers that page someone: those with a PagerDuty integration (or named like one). */
export function pagingReceivers(config: unknown): Set<string> {
  const receivers = ((config as { receivers?: { name: string; pagerduty_configs?: unknown[] }[] })?.receivers ?? []);
  return new Set(receivers.filter((r) => (r.pagerduty_configs?.length ?? 0) > 0 || /pagerduty/i.test(r.name)).map((r) => r.name));
}

/** An inhibition rule as one readable line, e.g. `severity="critical" inhibits severity=~"warning|info" when equal alertname, env`. */
export function describeInhibitRule(rule: Record<string, unknown>): string {
  const list = (key: string, legacyEq: string, legacyRe: string): string => {
    const ms = [
      ...Object.entries((rule[legacyEq] as Record<string, string>) ?? {}).map(([k, v]) => `${k}=${JSON.stringify(v)}`),
      ...Object.entries((rule[legacyRe] as Record<string, string>) ?? {}).map(([k, v]) => `${k}=~${JSON.stringify(v)}`),
      ...((rule[key] as string[]) ?? []).flatMap(parseMatchers).map((m) => `${m.name}${m.op}${JSON.stringify(m.value)}`),
    ];
    return ms.length ? ms.join(", ") : "any alert";
  };
  const equal = (rule.equal as string[] | undefined) ?? [];
  return `${list("source_matchers", "source_match", "source_match_re")} inhibits ${list("target_matchers", "target_match", "target_match_re")}` +
    (equal.length ? ` when equal ${equal.join(", ")}` : "");
}
