/**
 * npm run incident -- list
 * npm run incident -- render <template>.<channel> --field name=value... [--json]
 *
 * Prints seed 002's user communication (src/comms/templates.ts) for an
 * incident: the e-mail, status-page update, in-app message or support reply.
 * Exit codes: 0 printed, 2 bad command line, unknown template, or a missing
 * field (named).
 */
import { parseArgs } from "node:util";
import { formatText, parseFields, parseTemplateRef, renderTemplate, TemplateError } from "../comms/render";
import { CHANNELS, TEMPLATES, TEMPLATE_NAMES } from "../comms/templates";

const USAGE = `usage: npm run incident -- list
       npm run incident -- render <template>.<channel> --field name=value... [--json]
templates: ${TEMPLATE_NAMES.join(", ")}; channels: ${CHANNELS.join(", ")}
example: npm run incident -- render authDown.email --field estimated_time="2 hours"`;

function list(): string {
  return TEMPLATE_NAMES.map((t) => {
    const fields = Object.entries(TEMPLATES[t].fields as Record<string, { help: string; example: string }>)
      .map(([k, f]) => `    --field ${k}=…  ${f.help} (e.g. "${f.example}")`)
      .join("\n");
    return `${t} (${CHANNELS.map((c) => `${t}.${c}`).join(", ")})\n${fields}`;
  }).join("\n");
}

export function main(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s), err: (s: string) => void = (s) => process.stderr.write(s)): number {
  let args;
  try {
    args = parseArgs({ args: argv, allowPositionals: true, options: { field: { type: "string", multiple: true }, json: { type: "boolean" }, help: { type: "boolean" } }, strict: true });
  } catch (e) {
    err(`incident: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const [command, ref, ...extra] = args.positionals;
  if (args.values.help) {
    out(`${USAGE}\n`);
    return 0;
  }
  try {
    if (command === "list" && ref === undefined) {
      out(`${list()}\n`);
      return 0;
    }
    if (command !== "render" || ref === undefined || extra.length > 0) throw new TemplateError(`expected "list" or "render <template>.<channel>"`);
    const { template, channel } = parseTemplateRef(ref);
    const fields = parseFields(args.values.field ?? []);
    const text = renderTemplate(template, channel, fields);
    out(args.values.json ? `${JSON.stringify(text, null, 2)}\n` : formatText(channel, text));
    return 0;
  } catch (e) {
    if (!(e instanceof TemplateError)) throw e;
    const hint = e.message.includes("needs field") || e.message.includes("has no field") ? "" : `\n${USAGE}`;
    err(`incident: ${e.message}${hint}\n`);
    return 2;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
