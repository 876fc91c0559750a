/**
 * Rendering a communication template with an incident's fields. Fails naming
 * the field that is missing (or unknown) instead of sending a placeholder to
 * users.
 */
import { CHANNELS, TEMPLATES, TEMPLATE_NAMES, type Channel, type ChannelTexts, type TemplateFields, type TemplateName } from "./templates";

export class TemplateError extends Error {
  override name = "TemplateError";
}

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

export const isTemplateName = (n: string): n is TemplateName => Object.prototype.hasOwnProperty.call(TEMPLATES, n);
export const isChannel = (c: string): c is Channel => (CHANNELS as readonly string[]).includes(c);

/** The fields a template declares, in order. */
export const templateFields = (name: TemplateName): string[] => Object.keys(TEMPLATES[name].fields);

const fieldHelp = (name: TemplateName, field: string): string =>
  (TEMPLATES[name].fields as Readonly<Record<string, { help: string }>>)[field]?.help ?? "";

/** Every placeholder of a template's texts (all channels). */
export function placeholders(name: TemplateName): Set<string> {
  const found = new Set<string>();
  for (const text of Object.values(TEMPLATES[name].channels)) {
    for (const s of Object.values(text)) for (const m of String(s).matchAll(PLACEHOLDER)) found.add(m[1]!);
  }
  return found;
}

/** "authDown.email" → its parts; errors list what exists. */
export function parseTemplateRef(ref: string): { template: TemplateName; channel: Channel } {
  const [name = "", channel = "", ...rest] = ref.split(".");
  if (!isTemplateName(name) || !isChannel(channel) || rest.length > 0) {
    const all = TEMPLATE_NAMES.flatMap((t) => CHANNELS.map((c) => `${t}.${c}`));
    throw new TemplateError(`unknown template "${ref}": the templates are ${all.join(", ")}`);
  }
  return { template: name, channel };
}

/**
 * One channel's text with every placeholder filled. `fields` must hold each
 * field the template declares (and no other): a missing one is an error
 * naming it, so no user ever reads "{estimated_time}".
 */
export function renderTemplate<T extends TemplateName, C extends Channel>(
  name: T,
  channel: C,
  fields: TemplateFields<T> | Readonly<Record<string, string>>,
): ChannelTexts[C] {
  const declared = templateFields(name);
  const given = fields as Readonly<Record<string, string>>;
  const unknown = Object.keys(given).filter((k) => !declared.includes(k));
  if (unknown.length > 0) throw new TemplateError(`${name} has no field ${unknown.map((k) => `"${k}"`).join(", ")}: its fields are ${declared.join(", ")}`);
  const missing = declared.filter((k) => given[k] === undefined || given[k]!.trim() === "");
  if (missing.length > 0) {
    throw new TemplateError(`${name}.${channel} needs field ${missing.map((k) => `"${k}"`).join(", ")} (${missing.map((k) => `--field ${k}=…: ${fieldHelp(name, k)}`).join("; ")})`);
  }
  const fill = (s: string) =>
    s.replace(PLACEHOLDER, (whole, key: string) => {
      if (given[key] === undefined) throw new TemplateError(`${name}.${channel} uses {${key}}, which is not a declared field of ${name}`);
      return given[key]!;
    });
  const text = TEMPLATES[name].channels[channel];
  return Object.fromEntries(Object.entries(text).map(([k, v]) => [k, typeof v === "string" ? fill(v) : v])) as ChannelTexts[C];
}

/** A rendered text as a person reads it (the incident CLI's output). */
export function formatText(channel: Channel, text: ChannelTexts[Channel]): string {
  switch (channel) {
    case "email": {
      const t = text as ChannelTexts["email"];
      return `Subject: ${t.subject}\n\n${t.body}\n`;
    }
    case "statusPage": {
      const t = text as ChannelTexts["statusPage"];
      return `${t.title} [${t.status}]\n\n${t.message}\n`;
    }
    case "inApp": {
      const t = text as ChannelTexts["inApp"];
      return `${t.title} (${t.severity})\n${t.message}\n`;
    }
    case "supportResponse":
      return `${(text as ChannelTexts["supportResponse"]).body}\n`;
  }
}

/** `k=v` arguments (the CLIs' --field) as a record; an argument without `=` is an error naming it. */
export function parseFields(args: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of args) {
    const eq = a.indexOf("=");
    if (eq <= 0) throw new TemplateError(`--field ${a}: expected name=value, e.g. --field estimated_time="2 hours"`);
    out[a.slice(0, eq)] = a.slice(eq + 1);
  }
  return out;
}
