/**
 * src/diff/routing.ts (Alertmanager's route matching in TS) against the real
 * `amtool config routes test`, on a tree with every feature the matcher implements.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as yaml from "js-yaml";
import { parseMatchers, routeAlert, type Labels } from "../src/diff/routing";
import { amtoolReceivers } from "./support/amtool";

const CONFIG = {
  route: {
    receiver: "default",
    group_by: ["alertname"],
    routes: [
      { receiver: "watchdog", matchers: ['alertname="Watchdog"'] },
      { receiver: "sec-chat", matchers: ['category="security"', 'severity=~"critical|warning"'], continue: true },
      {
        receiver: "team-db",
        match: { service: "postgres" },
        routes: [
          { receiver: "db-pager", match_re: { severity: "crit.*" } },
          { matchers: ['{alertname!~"Backup.*", severity="warning"}'], receiver: "db-chat", continue: true },
          { matchers: ["severity = warning"], receiver: "db-warn" },
        ],
      },
      { receiver: "pager", matchers: ['severity="critical"', 'env!="dev"'] },
      { receiver: "empty-team", matchers: ['team=""'], continue: true, routes: [{ receiver: "nested", matchers: ['severity="info"'] }] },
      { receiver: "never", matchers: ['alertname=~"A|B"', 'alertname="C"'] },
    ],
  },
  receivers: ["default", "watchdog", "sec-chat", "team-db", "db-pager", "db-chat", "db-warn", "pager", "empty-team", "nested", "never"].map((name) => ({ name })),
};

const CASES: Labels[] = [
  { alertname: "Watchdog", severity: "none" },
  { alertname: "X", severity: "critical", category: "security", env: "prod" },
  { alertname: "X", severity: "critical", category: "security", env: "dev" },
  { alertname: "X", severity: "warning", category: "security", team: "a" },
  { alertname: "X", severity: "info", category: "security" },
  { alertname: "DatabaseDown", service: "postgres", severity: "critical" },
  { alertname: "BackupTooOld", service: "postgres", severity: "warning" },
  { alertname: "DatabaseDeadlocks", service: "postgres", severity: "warning" },
  { alertname: "DatabaseX", service: "postgres", severity: "info" },
  { alertname: "Y", severity: "info" },
  { alertname: "Y", severity: "info", team: "auth" },
  { alertname: "C", severity: "warning", team: "t" },
];

describe("routing tree matching (diff)", () => {
  let dir: string;
  let file: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "authwatch-diff-routing-"));
    file = path.join(dir, "alertmanager.yaml");
    fs.writeFileSync(file, yaml.dump(CONFIG));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it.each(CASES.map((c) => [Object.entries(c).map(([k, v]) => `${k}=${v}`).join(" "), c] as const))("%s reaches what amtool says", (_name, labels) => {
    expect(routeAlert(CONFIG, labels).map((d) => d.receiver)).toEqual(amtoolReceivers(file, labels));
  });

  it("inherits receiver and timings from the parent, but not mute intervals", () => {
    const config = {
      route: {
        receiver: "root",
        group_wait: "45s",
        repeat_interval: "2h",
        routes: [{ matchers: ['a="1"'], mute_time_intervals: ["night"], group_wait: "5s", routes: [{ matchers: ['b="2"'], repeat_interval: "9h" }] }],
      },
    };
    expect(routeAlert(config, { a: "1", b: "2" })).toEqual([
      { receiver: "root", groupWait: "5s", groupInterval: "5m", repeatInterval: "9h", muteTimeIntervals: [], activeTimeIntervals: [] },
    ]);
    expect(routeAlert(config, { a: "1" })[0]!.muteTimeIntervals).toEqual(["night"]);
  });

  it("parses quoted, unquoted, escaped and braced matchers", () => {
    expect(parseMatchers('{a="x,y", b!~"q\\"r", c = plain}')).toEqual([
      { name: "a", op: "=", value: "x,y" },
      { name: "b", op: "!~", value: 'q"r' },
      { name: "c", op: "=", value: "plain" },
    ]);
    expect(() => parseMatchers('a~"x"')).toThrow(/no operator/);
  });
});
