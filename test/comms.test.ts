// Seed 002's communication templates: every template renders on every channel
// with its sample fields and leaves no placeholder; a missing or unknown field
// is an error naming it; the incident CLI prints one.
import { describe, expect, it } from "vitest";
import { parseFields, parseTemplateRef, placeholders, renderTemplate, templateFields, TemplateError } from "../src/comms/render";
import { CHANNELS, TEMPLATES, TEMPLATE_NAMES, type TemplateName } from "../src/comms/templates";
import { main as incident } from "../src/cli/incident";

const examples = (t: TemplateName) =>
  Object.fromEntries(Object.entries(TEMPLATES[t].fields as Record<string, { example: string }>).map(([k, f]) => [k, f.example]));

const cases = TEMPLATE_NAMES.flatMap((t) => CHANNELS.map((c) => [t, c] as const));

function cli(...argv: string[]) {
  let stdout = "";
  let stderr = "";
  const code = incident(argv, (s) => (stdout += s), (s) => (stderr += s));
  return { code, stdout, stderr };
}

describe("communication templates", () => {
  it("cover authDown and rollbackComplete on the four channels of seed 002", () => {
    expect(TEMPLATE_NAMES).toEqual(["authDown", "rollbackComplete"]);
    for (const t of TEMPLATE_NAMES) expect(Object.keys(TEMPLATES[t].channels).sort()).toEqual([...CHANNELS].sort());
  });

  it("use exactly the fields they declare", () => {
    for (const t of TEMPLATE_NAMES) expect([...placeholders(t)].sort(), t).toEqual(templateFields(t).sort());
  });

  it.each(cases)("%s.%s renders with its sample fields, every sample in it, no placeholder left", (t, c) => {
    const fields = examples(t);
    const text = renderTemplate(t, c, fields);
    const all = Object.values(text).join("\n");
    expect(all).not.toMatch(/[{}]/);
    for (const s of Object.values(text)) expect(String(s).trim(), `${t}.${c}`).not.toBe("");
    // Each field the channel's template text uses appears rendered.
    const raw = Object.values(TEMPLATES[t].channels[c]).join("\n");
    for (const [k, v] of Object.entries(fields)) if (raw.includes(`{${k}}`)) expect(all).toContain(v);
  });

  it.each(cases)("%s.%s names a missing field", (t, c) => {
    const [first] = templateFields(t);
    const fields = { ...examples(t) };
    delete fields[first!];
    expect(() => renderTemplate(t, c, fields)).toThrow(new RegExp(`^${t}\\.${c} needs field "${first}"`));
    expect(() => renderTemplate(t, c, { ...fields, [first!]: "  " })).toThrow(TemplateError);
  });

  it("refuses a field the template does not have, and an unknown template or channel", () => {
    expect(() => renderTemplate("authDown", "email", { estimated_time: "1 hour", eta: "x" })).toThrow(/authDown has no field "eta": its fields are estimated_time/);
    expect(() => parseTemplateRef("authDown.sms")).toThrow(/unknown template "authDown.sms": the templates are authDown.email, /);
    expect(() => parseTemplateRef("outage.email")).toThrow(TemplateError);
    expect(() => parseFields(["estimated_time"])).toThrow(/--field estimated_time: expected name=value/);
    expect(parseFields(["a=b=c", "d="])).toEqual({ a: "b=c", d: "" });
  });
});

describe("npm run incident", () => {
  it("renders one template on one channel", () => {
    const r = cli("render", "authDown.email", "--field", "estimated_time=45 minutes");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Subject: Temporary Authentication Service Interruption\n\nDear User,/);
    expect(r.stdout).toContain("Estimated Resolution: 45 minutes");
  });

  it("prints the status-page update as the JSON the rollback posts", () => {
    const r = cli("render", "rollbackComplete.statusPage", "--json", "--field", "incident_summary=logins failed", "--field", "resolution_summary=we reverted");
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(renderTemplate("rollbackComplete", "statusPage", { incident_summary: "logins failed", resolution_summary: "we reverted" }));
  });

  it("exits 2 naming the missing field, the unknown template, or the bad command", () => {
    expect(cli("render", "rollbackComplete.inApp", "--field", "incident_summary=x")).toMatchObject({
      code: 2,
      stdout: "",
      stderr: expect.stringContaining('needs field "resolution_summary"'),
    });
    expect(cli("render", "nope.email")).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown template "nope.email"') });
    expect(cli("send", "authDown.email").code).toBe(2);
    expect(cli("render", "authDown.email", "--bogus").code).toBe(2);
  });

  it("lists every template with its fields", () => {
    const r = cli("list");
    expect(r.code).toBe(0);
    for (const t of TEMPLATE_NAMES) for (const f of templateFields(t)) expect(r.stdout).toContain(`--field ${f}=`);
  });
});
