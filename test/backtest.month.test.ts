/** The labelled month's generator (deterministic from its seed, incidents labelled from their kind, the messy parts present) and its scoring. */
import { createHash } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import type { AlertOut } from "../src/backtest/engine";
import { generateMonth, trafficAt, type Month } from "../src/backtest/month/generate";
import { INCIDENT_KINDS, scheduleIncidents } from "../src/backtest/month/incidents";
import { seeded } from "../src/backtest/month/random";
import { mergeReplicas, score } from "../src/backtest/month/score";

const DAY = 86400;
const START = Date.UTC(2026, 9, 1) / 1000; // a Thursday, midnight UTC

async function twoDays(seed: number) {
  const days: string[] = [];
  const month = await generateMonth({ seed, start: START, days: 2, step: 30 }, (_d, text) => void days.push(text()));
  return { month, days };
}

const samples = (text: string, series: RegExp) =>
  text.split("\n").filter((l) => series.test(l)).map((l) => { const parts = l.split(" "); return { line: l, v: Number(parts.at(-2)), t: Number(parts.at(-1)) }; });

describe("labelled month generator", () => {
  let a: Awaited<ReturnType<typeof twoDays>>;
  beforeAll(async () => {
    a = await twoDays(7);
  });

  it("is deterministic from its seed", async () => {
    const b = await twoDays(7);
    const c = await twoDays(8);
    const hash = (days: string[]) => createHash("sha256").update(days.join("")).digest("hex");
    expect(hash(b.days)).toBe(hash(a.days));
    expect(b.month).toEqual(a.month);
    expect(hash(c.days)).not.toBe(hash(a.days));
  });

  it("schedules two of every incident kind, each labelled with the tier meant for it and a deadline", () => {
    const incidents = scheduleIncidents(START, 30, seeded(1));
    for (const kind of INCIDENT_KINDS) expect(incidents.filter((i) => i.kind === kind), kind).toHaveLength(2);
    for (const i of incidents) {
      expect(i.start).toBeGreaterThanOrEqual(START);
      expect(i.end).toBeLessThanOrEqual(START + 30 * DAY);
      expect(i.expect.within).toBeGreaterThan(0);
      expect(i.settlesAt).toBeGreaterThanOrEqual(i.end);
      expect(["critical", "warning"]).toContain(i.expect.severity);
    }
    // Restore verification runs on Sundays: its failures start on one.
    for (const i of incidents.filter((x) => x.kind === "restore-failing")) expect(new Date(i.start * 1000).getUTCDay()).toBe(0);
    for (const i of incidents) expect(i.mayFire).toContain(`${i.expect.alert} ${i.expect.severity}`);
    // Same kind, same expectation: the label comes from the kind, not the moment.
    for (const kind of INCIDENT_KINDS) expect(new Set(incidents.filter((i) => i.kind === kind).map((i) => JSON.stringify(i.expect))).size).toBe(1);
  });

  it("traffic goes from a few requests a minute at night to hundreds a second at peak, less at weekends", () => {
    const weekday = [...Array(24).keys()].map((h) => trafficAt(START + h * 3600, START));
    expect(Math.min(...weekday) * 60).toBeGreaterThanOrEqual(1);
    expect(Math.min(...weekday) * 60).toBeLessThan(10);
    expect(Math.max(...weekday)).toBeGreaterThan(100);
    const saturday = START + 2 * DAY;
    expect(Math.max(...[...Array(24).keys()].map((h) => trafficAt(saturday + h * 3600, START)))).toBeLessThan(Math.max(...weekday) / 2);
  });

  it("deploys daily: new instance labels whose counters start from zero", () => {
    const deploy = a.month.deploys[0]!;
    const before = samples(a.days[0]!, /^http_requests_total\{.*code="200"/).filter((s) => s.t < deploy);
    const after = samples(a.days[0]!, /^http_requests_total\{.*code="200"/).filter((s) => s.t >= deploy + 300);
    const instances = (xs: { line: string }[]) => new Set(xs.map((s) => /instance="([^"]+)"/.exec(s.line)![1]));
    const old = instances(before);
    const fresh = [...instances(after)].filter((i) => !old.has(i));
    expect(fresh.length).toBeGreaterThan(0);
    const firstOfNew = samples(a.days[0]!, new RegExp(`^http_requests_total\\{.*instance="${fresh[0]!.replace(/\./g, "\\.")}".*route="/v1/token/validate".*code="200"`))[0]!;
    const lastOfOld = before.filter((s) => s.line.includes('route="/v1/token/validate"')).at(-1)!;
    expect(firstOfNew.v).toBeLessThan(lastOfOld.v);
  });

  it("leaves scrape gaps empty (one longer than an hour) and restarts the Pushgateway", () => {
    const long = a.month.gaps.find((g) => g.what === "scrape-gap" && g.end - g.start > 3600);
    expect(long).toBeDefined();
    const all = a.days.join("");
    if (long!.end <= START + 2 * DAY) {
      const inside = samples(all, /^up\{/).filter((s) => s.t >= long!.start && s.t < long!.end);
      expect(inside).toEqual([]);
      expect(samples(all, /^up\{/).some((s) => s.t >= long!.end && s.t < long!.end + 30)).toBe(true);
    }
    expect(a.month.gaps.filter((g) => g.what === "pushgateway-restart").length).toBeGreaterThanOrEqual(2);
  });

  it("runs the backup every day at 02:03 while backups are not stopped", () => {
    const backups = samples(a.days[1]!, /^backup_last_success_timestamp_seconds\{/);
    expect(backups.at(-1)!.v).toBe(START + DAY + 2 * 3600 + 180);
  });
});

describe("quality score", () => {
  const HOUR = 3600;
  const iso = (t: number) => new Date(t * 1000).toISOString();
  const incident = (id: string, start: number, alert: string, severity: "critical" | "warning", within: number) => ({
    id, kind: "outage" as const, start, end: start + 600, expect: { alert, severity, within }, mayFire: [`${alert} ${severity}`, "Side warning"], settlesAt: start + 600 + HOUR, budgetUntil: start + 600 + 3 * DAY,
  });
  const month: Month = {
    incidents: [incident("outage-1", START + 2 * DAY + 14 * HOUR, "Down", "critical", 300), incident("outage-2", START + 4 * DAY + 14 * HOUR, "Down", "critical", 300)],
    replicaStarts: START + 15 * DAY, gaps: [], deploys: [],
  };
  const tier = (alert: string, severity: string, starts: number[]): AlertOut => ({
    alert, severity, labels: { severity }, group: "g", interval: 30, for: 0, episodes: starts.map((s) => ({ start: iso(s), end: iso(s + 600), labels: {}, annotations: {} })),
  });

  it("counts detections within the deadline, their delay, and episodes outside every incident as false with a cause", () => {
    const q = score(
      [
        tier("Down", "critical", [month.incidents[0]!.start + 60, month.incidents[1]!.start + 900, START + 6 * DAY + 14 * HOUR]), // late: missed, not false; the third: false
        tier("Noisy", "warning", [START + 3 * DAY + 2 * HOUR, month.incidents[0]!.start + 300]), // a night episode; one during an incident that does not explain it
        tier("Side", "warning", [month.incidents[0]!.start + 300]), // a side effect the incident names
        tier("AuthAvailabilitySLOBurn", "warning", [month.incidents[0]!.start + 2 * DAY]), // budget spent two days ago: not false
      ],
      month, START, START + 7 * DAY,
    );
    const down = q.tiers.find((t) => t.tier === "Down")!;
    expect([down.detected, down.expected, down.delays, down.missed]).toEqual([1, 2, [60], ["outage-2"]]);
    expect([down.falseEpisodes, down.why]).toEqual([1, ["noise ×1"]]);
    expect(q.tiers.find((t) => t.tier === "Noisy")!.why).toEqual(["night traffic ×1", "noise ×1"]);
    expect(q.tiers.find((t) => t.tier === "Side")!.falseEpisodes).toBe(0);
    expect(q.tiers.find((t) => t.tier === "AuthAvailabilitySLOBurn")!.falseEpisodes).toBe(0);
    expect(q).toMatchObject({ recall: 0.5, falseCritical: 1, falseWarningsPerWeek: 2 });
  });

  it("counts info episodes apart from warnings", () => {
    const q = score([tier("Mail", "info", [START + 3 * DAY + 2 * HOUR])], month, START, START + 7 * DAY);
    expect(q).toMatchObject({ falseWarningsPerWeek: 0, falseInfoPerWeek: 1 });
  });

  it("merges the HA pair's replicas: an alert fires while either replica fires it, once", () => {
    const at = START + 3 * DAY;
    const episode = (start: number, end: number | null, labels = {}) => ({ start: iso(start), end: end === null ? null : iso(end), labels, annotations: {} });
    const rule = (episodes: ReturnType<typeof episode>[]): AlertOut => ({ ...tier("Noisy", "warning", []), episodes });
    const [merged] = mergeReplicas(
      [rule([episode(at, at + 600), episode(at + 3600, at + 3900)])],
      [rule([episode(at + 300, at + 900), episode(at + 3600, at + 3660, { job: "other" }), episode(at + 7200, null)])],
    );
    expect(merged!.episodes.map((e) => [e.start, e.end, e.labels])).toEqual([
      [iso(at), iso(at + 900), {}],
      [iso(at + 3600), iso(at + 3900), {}],
      [iso(at + 3600), iso(at + 3660), { job: "other" }],
      [iso(at + 7200), null, {}],
    ]);
    expect(() => mergeReplicas([rule([])], [tier("Other", "warning", [])])).toThrow(/Noisy on one replica, Other on the other/);
  });

  it("scores the rules of one tier together", () => {
    const q = score([tier("Down", "critical", [month.incidents[0]!.start]), tier("Down", "critical", [month.incidents[1]!.start])], month, START, START + 7 * DAY);
    expect(q.tiers).toHaveLength(1);
    expect(q.recall).toBe(1);
  });
});
