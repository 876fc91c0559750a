// usage: tsx try.ts <alert> <severity> <for-seconds> <expr>   (Prometheus over the kept month at $PROM)
import * as fs from "node:fs";
import { backtestAlert, notRunning } from "/work/main/src/backtest/engine";
import { score } from "/work/main/src/backtest/month/score";
import { trafficAt } from "/work/main/src/backtest/month/generate";
const [alert, severity, forS, expr] = process.argv.slice(2) as [string, string, string, string];
const kept = JSON.parse(fs.readFileSync(`/tmp/lead-q/month.json`, "utf8"));
const start = kept.start; const from = Number(process.env.FROM ?? start); const end = Number(process.env.UNTIL ?? start + kept.key.days * 86400 - 30);
const url = process.env.PROM!;
const down = await notRunning(url, from, end, 30);
const t0 = Date.now();
const episodes = await backtestAlert(url, { alert, expr, forSeconds: Number(forS), labels: { severity }, annotations: {}, group: "g", interval: 30 }, from, end, 0, undefined, down);
const q = score([{ alert, severity, labels: { severity }, group: "g", interval: 30, for: Number(forS), episodes }], kept.month, start, end);
const t = q.tiers[0]!;
console.log(`${alert} ${severity}: detected ${t.detected}/${t.expected} delays ${t.delays.join(",")} false ${t.falseEpisodes} (${t.why.join("; ")}) episodes ${episodes.length} in ${Date.now() - t0}ms`);
if (process.env.SHOW) for (const e of episodes) { const s = Date.parse(e.start)/1000; console.log(`  ${e.start} ${["Su","Mo","Tu","We","Th","Fr","Sa"][new Date(s*1000).getUTCDay()]} rps=${trafficAt(s,start).toFixed(1)} ${JSON.stringify(e.labels)}`); }
