/**
 * npm run local [-- up]                 bring the local stack up (foreground; Ctrl-C stops it); --ha: Prometheus ×2, Alertmanager ×3 as prod
 * npm run local -- status               what runs, where, firing alerts, last notifications
 * npm run local -- down                 stop it (from another terminal); data is kept
 * npm run local -- drill <scenario…|all> make it misbehave and wait for the page (several: in that order, then a table);
 *                                       on an HA stack also alertmanager-failover, prometheus-failover, alertmanager-restart, storm
 * Options: --dir <data dir> (default .local/, or $AUTHWATCH_LOCAL_DIR), --no-install (never apt-get),
 *          --random-ports (any free ports instead of the fixed defaults), --json <file> (drill results)
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { connect, drillTable, NotRunningError, runDrill, type DrillResult } from "../local/drills";
import { scenario, SCENARIO_NAMES } from "../local/scenarios";
import { HA_DRILL_NAMES, HA_DRILLS, isHaDrill } from "../local/ha/drills";
import { haDrillTable, NotHaError, requireHa, type HaDrillResult } from "../local/ha/harness";
import { down, status } from "../local/manage";
import { MissingPackagesError } from "../local/packages";
import { AlreadyRunningError, up } from "../local/stack";

const USAGE = `usage: npm run local [-- up] [--ha] [--dir <dir>] [--no-install] [--random-ports]
       npm run local -- status | down [--dir <dir>]
       npm run local -- drill <${SCENARIO_NAMES.join("|")}|all>... [--dir <dir>] [--json <file>]
       npm run local -- drill <${HA_DRILL_NAMES.join("|")}>... (on a stack started with --ha)`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      dir: { type: "string" },
      "no-install": { type: "boolean" },
      "random-ports": { type: "boolean" },
      ha: { type: "boolean" },
      json: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const [command = "up", ...rest] = positionals;
  if (values.help || command === "help") {
    console.log(USAGE);
    return 0;
  }
  const log = (line: string) => console.log(line);
  switch (command) {
    case "up": {
      const stack = await up({ dir: values.dir, install: !values["no-install"], randomPorts: values["random-ports"], ha: values.ha, print: log });
      let first = 0;
      const onSignal = (sig: NodeJS.Signals) => {
        // A terminal's Ctrl-C reaches this process both directly and relayed by npm/tsx: one stop.
        // Only a second Ctrl-C a moment later gives up on stopping in order (the children are killed on exit).
        if (first > 0) {
          if (Date.now() - first > 3000) {
            console.log("stopping harder: killing the children");
            process.exit(1);
          }
          return;
        }
        first = Date.now();
        console.log(`\n${sig}: stopping the local stack…`);
        void stack.stop();
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      await stack.stopped;
      console.log("stopped; data kept for the next start");
      return 0;
    }
    case "status": {
      const r = await status(values.dir);
      console.log(r.text);
      return r.running ? 0 : 3;
    }
    case "down":
      await down(values.dir, log);
      return 0;
    case "drill": {
      if (rest.length === 0) {
        console.error(`drill: which one?\n${USAGE}`);
        return 2;
      }
      const unknown = rest.filter((name) => name !== "all" && !SCENARIO_NAMES.includes(name) && !isHaDrill(name));
      if (unknown.length > 0) {
        console.error(`drill: unknown scenario ${unknown.join(", ")} (scenarios: ${SCENARIO_NAMES.join(", ")}, all; on an HA stack: ${HA_DRILL_NAMES.join(", ")})`);
        return 2;
      }
      const names = rest.includes("all") ? SCENARIO_NAMES : rest;
      const ctx = connect(values.dir, log);
      const firstHa = names.find(isHaDrill);
      if (firstHa) requireHa(ctx, firstHa);
      const results: DrillResult[] = [];
      const haResults: HaDrillResult[] = [];
      for (const name of names) {
        if (isHaDrill(name)) haResults.push(await HA_DRILLS[name]!(ctx));
        else results.push(await runDrill(ctx, scenario(name)));
        log("");
      }
      if (results.length > 1) log(drillTable(results));
      if (haResults.length > 0) log(haDrillTable(haResults));
      if (values.json) writeFileSync(values.json, `${JSON.stringify([...results, ...haResults], null, 2)}\n`);
      return [...results, ...haResults].every((r) => r.ok) ? 0 : 1;
    }
    default:
      console.error(`unknown command "${command}"\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof MissingPackagesError || e instanceof AlreadyRunningError || e instanceof NotRunningError || e instanceof NotHaError) {
      console.error(`local: ${e.message}`);
      process.exit(1);
    }
    console.error(e);
    process.exit(1);
  },
);
