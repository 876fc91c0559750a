/**
 * npm run backtest -- --prometheus <url> --start <RFC3339> --end <RFC3339> [--stack <name>] [--alert <name>]... [--format text|json]
 * The stack's alerting rules replayed over a Prometheus' stored history (docs/backtest.md).
 */
import { parseArgs } from "node:util";
import { runBacktest } from "../backtest/engine";
import { formatJson, formatText } from "../backtest/format";
import { stackRuleGroups } from "../backtest/rules";

const USAGE = "usage: npm run backtest -- --prometheus <url> --start <RFC3339> --end <RFC3339> [--stack <name>] [--alert <name>]... [--format text|json]";

function time(flag: string, text: string | undefined): number {
  const t = text === undefined ? NaN : Date.parse(text);
  if (!Number.isFinite(t)) throw new UsageError(`--${flag} ${text ?? "(missing)"}: not an RFC3339 time (e.g. 2026-11-01T00:00:00Z)`);
  return Math.floor(t / 1000);
}

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const began = Date.now();
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        prometheus: { type: "string" },
        start: { type: "string" },
        end: { type: "string" },
        stack: { type: "string", default: "prod" },
        alert: { type: "string", multiple: true },
        format: { type: "string", default: "text" },
        help: { type: "boolean" },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (!values.prometheus) throw new UsageError("--prometheus <url> is required");
    if (values.format !== "text" && values.format !== "json") throw new UsageError(`--format ${values.format}: text or json`);
    const start = time("start", values.start);
    const end = time("end", values.end);
    if (end <= start) throw new UsageError(`--end ${values.end} is not after --start ${values.start}`);
    const groups = stackRuleGroups(values.stack!);
    const progress = (line: string) => {
      const secs = (Date.now() - began) / 1000;
      if (secs >= 2) process.stderr.write(`backtest [${secs.toFixed(0)}s] ${line}\n`);
    };
    const report = await runBacktest({ prometheus: values.prometheus, start, end, groups, only: values.alert ?? [], progress });
    process.stdout.write(values.format === "json" ? formatJson(report) : formatText(report));
    return report.alerts.some((a) => a.skipped) ? 1 : 0;
  } catch (e) {
    const usage = e instanceof UsageError || (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS");
    console.error(`backtest: ${(e as Error).message}${usage ? `\n${USAGE}` : ""}`);
    return usage ? 2 : 1;
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code));
