/**
 * The log shipper's configuration (src/render/alloy.ts): rendered by synth for
 * every stack deployed to a cluster, its security-event rule is exactly the
 * contract's list, and a selector that is not that rule stops the render with
 * a message naming the file, the block and the field.
 */
import { parser as logqlParser } from "@grafana/lezer-logql";
import { describe, expect, it } from "vitest";
import { listStacks, loadStackSettings } from "../src/settings";
import { renderStack } from "../src/synth";
import { ALLOY_CONFIG_FILE, renderAlloyConfig, securityEventSelector, securityEventSelectorProblems } from "../src/render/alloy";
import { LOG_EVENTS, SECURITY_LOG_EVENTS } from "../src/telemetry";
import { CatalogError } from "../src/validate";

const all = listStacks().map((stack) => loadStackSettings(stack));
const clusterStacks = all.filter((s) => s.cluster !== undefined);

/** The `loki.process "auth"` block, and the LogQL selector of its stage.match (a River string). */
function authProcess(config: string): { block: string; selector: string } {
  const block = /^loki\.process "auth" \{\n[^]*?\n\}$/m.exec(config)?.[0];
  if (!block) throw new Error('no loki.process "auth" block');
  const literal = /^ {4}selector = ("(?:[^"\\]|\\.)*")$/m.exec(block)?.[1];
  if (!literal) throw new Error("no stage.match selector");
  return { block, selector: JSON.parse(literal) as string };
}

/** The regex LogQL applies for `evt=~"…"`: the string literal's content, anchored. */
function evtRegex(selector: string): RegExp {
  const literal = /^\{evt=~("(?:[^"\\]|\\.)*")\}$/.exec(selector)?.[1];
  if (!literal) throw new Error(`not {evt=~"…"}: ${selector}`);
  return new RegExp(`^(?:${JSON.parse(literal) as string})$`);
}

describe("alloy/config.alloy", () => {
  it("is rendered by synth exactly for the stacks deployed to a cluster", () => {
    expect(clusterStacks.length).toBeGreaterThan(0);
    for (const s of all) {
      const file = renderStack(s).files.get(ALLOY_CONFIG_FILE);
      if (s.cluster) expect(file, s.stack).toBe(renderAlloyConfig(s));
      else expect(file, s.stack).toBeUndefined();
    }
  });

  it.each(clusterStacks.map((s) => [s.stack, s] as const))("on %s labels streams as the contract says and sends them to the stack's Loki", (_stack, s) => {
    const config = renderAlloyConfig(s);
    expect(config).toContain(`names = [${JSON.stringify(s.authWorkload.namespace)}`);
    const apps = ["auth", ...(s.cluster!.postgresLogs.enabled ? ["postgres"] : [])];
    for (const app of apps) {
      expect(config).toContain(`discovery.relabel "${app}" {`);
      expect(config).toContain(`target_label = "app"\n    replacement  = "${app}"`);
      expect(config).toContain(`loki.process "${app}" {`);
    }
    expect(config.split(`target_label = "env"\n    replacement  = "${s.environment}"`)).toHaveLength(apps.length + 1);
    // Straight to Loki's write path (the only pods that accept pushes), as the stack's tenant.
    const push = s.cluster!.loki.mode === "simple-scalable" ? "loki-write" : "loki";
    expect(config).toMatch(new RegExp(`loki\\.write "loki" \\{\\n  endpoint \\{\\n    url       = "http://${push}\\.${s.cluster!.namespace}\\.svc:3100/loki/api/v1/push"\\n    tenant_id = "${s.loki.tenant}"\\n`));
  });

  it.each(clusterStacks.map((s) => [s.stack, s] as const))("on %s puts exactly the contract's security events in category security", (_stack, s) => {
    const { block, selector } = authProcess(renderAlloyConfig(s));
    // Every line starts as category app; the match, on the line's evt, makes it security; evt is dropped after.
    expect(block.indexOf('values = { category = "app" }')).toBeGreaterThan(-1);
    expect(block.indexOf('values = { category = "app" }')).toBeLessThan(block.indexOf("stage.match {"));
    expect(block).toMatch(/stage\.match \{\n {4}selector = .*\n {4}stage\.static_labels \{\n {6}values = \{ category = "security" \}\n {4}\}\n {2}\}/);
    expect(block).toMatch(/stage\.label_drop \{\n {4}values = \["evt"\]\n {2}\}\n\}$/);

    let errors = 0;
    logqlParser.parse(selector).iterate({ enter: (n) => void (n.type.isError && errors++) });
    expect(errors).toBe(0);
    const re = evtRegex(selector);
    const security = new Set<string>(SECURITY_LOG_EVENTS);
    // The kill switch's audit trail is kept as long as the other security events (src/telemetry.ts).
    for (const evt of ["auth.flag.changed", "auth.rollback"]) expect(security.has(evt), evt).toBe(true);
    for (const evt of LOG_EVENTS) expect(re.test(evt), evt).toBe(security.has(evt));
    for (const evt of SECURITY_LOG_EVENTS) {
      for (const near of [evt.replace(".", "X"), `${evt}.extra`, `x${evt}`, evt.slice(0, -1)]) expect(re.test(near), near).toBe(false);
    }
  });
});

describe("the security-event rule's check", () => {
  const s = clusterStacks[0]!;

  it("stops the render on a selector that is not LogQL, naming the file, the block and the field", () => {
    const render = () => renderAlloyConfig(s, [...SECURITY_LOG_EVENTS, 'auth"broken']);
    expect(render).toThrow(CatalogError);
    expect(render).toThrow(/alloy\/config\.alloy: loki\.process "auth": stage\.match selector \{evt=~.*\}: syntax error at column \d+/);
  });

  it("names an event the selector misses or matches beyond the contract's", () => {
    const [first, ...rest] = SECURITY_LOG_EVENTS;
    expect(securityEventSelectorProblems(securityEventSelector(rest))).toEqual([`misses the event "${first}"`]);
    expect(securityEventSelectorProblems(securityEventSelector(SECURITY_LOG_EVENTS), rest)).toEqual([`also matches the event "${first}"`]);
    // A regex that matches beyond its events (an unescaped dot, no anchoring) is found by near misses.
    expect(securityEventSelectorProblems(`{evt=~"${first}.*"}`, [first])).toEqual(
      [`${first}x`, first.replace(".", "X")].map((near) => `also matches "${near}", which is not an event of the list`),
    );
  });

  it("accepts only a bare stream selector with one evt=~ matcher", () => {
    const ok = securityEventSelector();
    expect(securityEventSelectorProblems(ok)).toEqual([]);
    expect(securityEventSelectorProblems(`${ok} |= "x"`)).toEqual(["is not a bare stream selector"]);
    expect(securityEventSelectorProblems(ok.replace("{evt=~", '{app="auth", evt=~'))).toEqual(['must have exactly one matcher, evt=~"…"']);
    expect(securityEventSelectorProblems(ok.replace("=~", "="))).toEqual(['must have exactly one matcher, evt=~"…"']);
    expect(securityEventSelectorProblems('{evt=~"auth\\\\.login\\\\.(success"}')[0]).toMatch(/^evt=~"auth\\\\\.login\\\\\.\(success": Invalid regular expression/);
  });
});
