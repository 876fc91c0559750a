/** The pieces of `npm run diff` that need no git: values as summaries show them, deep diffs, the Markdown size limit. */
import { describe, expect, it } from "vitest";
import { compareStack, deepDiff, summarize, type StackDiff } from "../src/diff/compare";
import { formatMarkdown, formatText, type Report } from "../src/diff/format";
import { comparisons, retentionText, thresholdChange } from "../src/diff/values";

describe("values", () => {
  it("finds comparison constants and masks them, leaving label matchers and ranges alone", () => {
    const c = comparisons('sum(rate(x{code=~"5..",a!="1"}[5m])) > 0.05 and on (job) y >= 20');
    expect(c.constants.map((k) => `${k.op}${k.value}`)).toEqual([">0.05", ">=20"]);
    expect(comparisons('sum(rate(x{code=~"5..",a!="1"}[5m])) > 0.07 and on (job) y >= 20').masked).toBe(c.masked);
  });
  it("formats a threshold the way the alert's text shows it", () => {
    expect(thresholdChange(0.05, 0.07, "More than 5% fail", "More than 7% fail")).toEqual(["5%", "7%"]);
    expect(thresholdChange(0.05, 0.07, "above 5 % of requests", "")).toEqual(["5 %", "7 %"]);
    expect(thresholdChange(0.5, 1, "p95 above 500ms", "p95 above 1s")).toEqual(["500ms", "1s"]);
    expect(thresholdChange(93600, 7200, "older than 26h", "older than 2h")).toEqual(["26h", "2h"]);
    expect(thresholdChange(10, 20, "More than 10 CSRF failures", "More than 20 CSRF failures")).toEqual(["10", "20"]);
  });
  it("writes retention in days", () => {
    expect([retentionText("8760h"), retentionText("720h"), retentionText("90m")]).toEqual(["365 days", "30 days", "90m"]);
  });
  it("diffs nested values leaf by leaf", () => {
    expect(deepDiff({ p: { replicas: 2, r: "30d" }, l: [1, 2] }, { p: { replicas: 3, r: "30d" }, l: [1], n: "x" }, "cluster")).toEqual([
      { path: "cluster.l[1]", old: "2" },
      { path: "cluster.n", new: "x" },
      { path: "cluster.p.replicas", old: "2", new: "3" },
    ]);
  });
});

describe("Alertmanager changes", () => {
  const am = (window: string, muted: boolean, inhibitEnv: boolean) => `
route:
  receiver: chat
  routes:
    - receiver: pager
      matchers: ['severity="critical"']
    - receiver: chat
      matchers: ['severity="warning"']
${muted ? "      mute_time_intervals: [maintenance]\n" : ""}inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity="warning"']
    equal: [alertname${inhibitEnv ? ", env" : ""}]
time_intervals:
  - name: maintenance
    time_intervals:
      - times: [{ start_time: "${window}", end_time: "04:00" }]
receivers: [{ name: chat }, { name: pager, pagerduty_configs: [{ routing_key_file: /k }] }]
`;
  const rules = `groups:
  - name: g
    rules:
      - alert: A
        expr: x > 1
        labels: { severity: warning }
`;
  const stack = (window: string, muted: boolean, inhibitEnv: boolean) => ({
    stack: "prod",
    files: new Map([["alertmanager/alertmanager.yaml", am(window, muted, inhibitEnv)], ["prometheus/rules/g.yaml", rules]]),
    stackFile: undefined,
  });

  it("names inhibition rules added and removed, time intervals moved, and a tier's delivery muted", () => {
    const d = compareStack("prod", stack("02:00", false, false), stack("01:00", true, true));
    expect(d.routing).toEqual([
      { path: "inhibition rule", old: 'severity="critical" inhibits severity="warning" when equal alertname' },
      { path: "inhibition rule", new: 'severity="critical" inhibits severity="warning" when equal alertname, env' },
      { path: "time interval maintenance.time_intervals[0].times[0].start_time", old: "02:00", new: "01:00" },
    ]);
    expect(d.alerts).toEqual([
      expect.objectContaining({
        tier: "A warning",
        changes: [{ field: "delivery", old: "chat (wait 30s, repeat 4h)", new: "chat (wait 30s, repeat 4h, muted maintenance)" }],
        pagesBefore: false,
        pagesAfter: false,
      }),
    ]);
  });
});

describe("files no section reads", () => {
  it("diffs rendered manifests leaf by leaf, and names other files as changed", () => {
    const stack = (replicas: number, script: string) => ({
      stack: "prod",
      files: new Map([["kubernetes/prometheus.yaml", `kind: Prometheus\nspec:\n  replicas: ${replicas}\n`], ["postgres/jobs/backup.sh", script]]),
      stackFile: undefined,
    });
    expect(compareStack("prod", stack(2, "a"), stack(3, "b")).otherFiles).toEqual([
      { path: "kubernetes/prometheus.yaml.spec.replicas", old: "2", new: "3" },
      { path: "postgres/jobs/backup.sh", new: "changed (+1 −1 lines)" },
    ]);
  });
});

function bigStack(stack: string, lines: number): StackDiff {
  const none: never[] = [];
  return {
    stack, presence: "both", alerts: none, routing: none, recordingRules: Array.from({ length: lines }, (_, i) => ({ path: `rule:${i}`, old: "a".repeat(80), new: "b".repeat(80) })),
    slos: none, ruleGroups: none, lokiRetention: none, dashboards: none, migrations: { added: ["0009_x.up.sql"], removed: none, edited: none }, prometheus: none, cluster: none, otherFiles: none,
  };
}

describe("formats", () => {
  it("keeps the Markdown comment under the limit, balanced, with a note, and the summary first", () => {
    const stacks = [bigStack("dev", 200), bigStack("prod", 2000)];
    const report: Report = { base: "main", head: "working tree", stacks, summary: summarize(stacks) };
    const md = formatMarkdown(report);
    expect(md.length).toBeLessThanOrEqual(65_000);
    expect(md).toContain("truncated");
    expect(md.match(/<details>/g)!.length).toBe(md.match(/<\/details>/g)!.length);
    expect(md.match(/^```/gm)!.length % 2).toBe(0);
    expect(md.indexOf("**Migration to run**")).toBeLessThan(md.indexOf("<details>"));
    expect(md).toContain("- dev, prod: 0009_x.up.sql");
    const small = formatMarkdown({ ...report, stacks: [bigStack("dev", 3)], summary: summarize([bigStack("dev", 3)]) });
    expect(small).not.toContain("truncated");
  });
  it("prints no change when nothing changed", () => {
    const stacks = [{ ...bigStack("dev", 0), migrations: { added: [], removed: [], edited: [] } }];
    expect(formatText({ base: "a", head: "b", stacks, summary: summarize(stacks) })).toBe("authwatch diff: a → b (dev)\nno change\n");
  });
});

describe("a ratio alert's traffic floor", () => {
  const stack = (ratio: string, floor: number) => ({
    stack: "prod",
    files: new Map([
      [
        "prometheus/rules/g.yaml",
        `groups:
  - name: g
    rules:
      - alert: A
        expr: job:x:ratio_rate5m > ${ratio} and on (job) sum by (job) (increase(y[5m])) >= ${floor}
        labels: { severity: warning }
        annotations: { summary: "More than ${Number(ratio) * 100}% fail" }
`,
      ],
    ]),
    stackFile: undefined,
  });

  it("is named a traffic floor, in plain numbers, apart from the threshold", () => {
    const [tier] = compareStack("prod", stack("0.1", 20), stack("0.1", 50)).alerts;
    expect(tier!.changes).toEqual([{ field: "traffic floor", old: ">= 20", new: ">= 50" }]);
    const [both] = compareStack("prod", stack("0.1", 20), stack("0.2", 50)).alerts;
    expect(both!.changes.slice(0, 2)).toEqual([
      { field: "threshold", old: "> 10%", new: "> 20%" },
      { field: "traffic floor", old: ">= 20", new: ">= 50" },
    ]);
  });
});
