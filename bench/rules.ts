/**
 * npm run bench -- --only rules [--pods N] [--series N]: what the prod rules and dashboards cost at scale.
 *
 * 1. Backfill (promtool tsdb create-blocks-from openmetrics, time slices, each text file deleted once
 *    backfilled, two promtool processes at a time) a history in three tiers, newest first in what matters:
 *    - the last RECENT_HOURS: every series (bench/rules-data.ts: the auth fleet + the cluster background)
 *      every scrape interval, what the head and the newest blocks of a busy Prometheus hold;
 *    - the 3 days before: the series the rules and dashboards read (job auth, the exporters) every
 *      HISTORY_STEP: the rules' 6h/1d/3d windows and `offset 1d` read them (coarser than prod: a window
 *      holds 1/20 of prod's samples there, so what they cost is a lower bound);
 *    - 30 days: the recording rules' own series every scrape interval (the 30d SLO windows and the
 *      dashboards' 7-day panels read those, at full resolution).
 * 2. Run the real Prometheus with prod's rule files (synth output) and prod's query limits over that
 *    TSDB, scraping a live exporter that continues every series (the head holds them all: active series).
 * 3. Report each rule group's prometheus_rule_group_last_duration_seconds (max over several evaluations)
 *    against its interval (goal < 10 %), and every dashboard query's latency over 6h and 7d (goal < 1 s).
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { startPrometheus } from "../src/backtest/prometheus";
import { parseDuration } from "../src/duration";
import { freePort, sleep } from "../src/local/net";
import { externalLabels } from "../src/render/prometheus";
import { loadStackSettings } from "../src/settings";
import { renderStack } from "../src/synth";
import { buildFleet, linesAt, ROUTES, type Fleet } from "./rules-data";
import { dashboardQueries, macrosFor, type DashboardQuery } from "./rules-queries";
import { Backfiller } from "./rules-backfill";
import { recordedSeries, type Recorded } from "./rules-recorded";

const run = promisify(execFile);
const RECENT_HOURS = Number(process.env.BENCH_RULES_RECENT_HOURS ?? 0.5);
const HISTORY_STEP = 1800;
const HISTORY_DAYS = 3;
const RECORDED_DAYS = 30;
/** prod's Prometheus runs with the defaults (src/pulumi/prometheus.ts sets none): 50 M samples a query. */
const PROD_QUERY_FLAGS = ["--query.max-samples=50000000", "--query.timeout=2m", "--storage.tsdb.retention.time=60d"];
const DAY = 86400;

export interface RulesBenchOptions {
  readonly pods?: number;
  readonly series?: number;
  readonly evaluations?: number;
}

interface GroupResult {
  readonly group: string;
  readonly interval: number;
  readonly maxSeconds: number;
  readonly medianSeconds: number;
  readonly slowestRule: string;
  readonly slowestRuleSeconds: number;
  readonly slowestRuleSamples: number;
  readonly slowestRuleProdSamples: number;
  readonly errors: string[];
}

interface QueryResult extends DashboardQuery {
  readonly range: string;
  readonly seconds: number;
  readonly samples: number;
  /** Samples at prod's resolution (estimated: prodFactor). */
  readonly prodSamples: number;
  readonly error?: string;
}

const round = (n: number, d = 3) => Number(n.toFixed(d));

/** The longest range selector of an expression, in seconds (0: none). */
function longestWindow(expr: string): number {
  return Math.max(0, ...[...expr.matchAll(/\[(\d+[smhdwy])\]/g)].map((m) => parseDuration(m[1]!) ?? 0));
}
/** Does it select raw series (a metric name without ":")? Recorded series are backfilled every scrape. */
const readsRaw = (expr: string) => [...expr.matchAll(/(?:^|[^A-Za-z0-9_:])([A-Za-z_][A-Za-z0-9_]*)\{/g)].some((m) => !["by", "without", "on", "ignoring"].includes(m[1]!));

/**
 * How many more samples prod reads than the bench over a span ending now: prod holds a raw series every
 * scrape; the bench every scrape for RECENT_HOURS, then every HISTORY_STEP (only the rules' series).
 */
function prodFactor(expr: string, span: number, scrape: number): number {
  if (!readsRaw(expr) || span <= RECENT_HOURS * 3600) return 1;
  const recent = RECENT_HOURS * 3600;
  return span / scrape / (recent / scrape + Math.min(span - recent, HISTORY_DAYS * DAY) / HISTORY_STEP);
}

/** The live exporter: one target per shard, values at the moment of the scrape. */
async function startExporter(fleet: Fleet, t0: number): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const shard = Number(new URL(req.url ?? "/", "http://x").searchParams.get("shard"));
    const range = fleet.shards[shard];
    if (!range) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
    res.end(linesAt(fleet, range[0], range[1], Date.now() / 1000, t0, false));
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

async function api<T>(url: string): Promise<T> {
  const res = await fetch(url);
  const body = (await res.json()) as { status: string; data: T; error?: string };
  if (body.status !== "success") throw new Error(body.error ?? `${res.status}`);
  return body.data;
}

/** Gauges of Prometheus' own /metrics, by their labels text. */
async function selfMetric(base: string, name: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const at = line.lastIndexOf(" ");
    out.set(line.slice(name.length, at), Number(line.slice(at + 1)));
  }
  return out;
}

async function timeQuery(base: string, q: DashboardQuery, range: string, scrape: string, end: number): Promise<QueryResult> {
  const m = macrosFor(range, scrape);
  const expr = m.substitute(q.expr);
  const params = new URLSearchParams({ query: expr, stats: "all" });
  if (q.instant) params.set("time", String(end));
  else {
    params.set("start", String(end - m.rangeSeconds));
    params.set("end", String(end));
    params.set("step", String(m.stepSeconds));
  }
  const url = `${base}/api/v1/${q.instant ? "query" : "query_range"}?${params}`;
  let best: QueryResult | undefined;
  // Once (the rule evaluations before have warmed the caches): a dashboard's first load.
  for (let i = 0; i < 1; i++) {
    const t = process.hrtime.bigint();
    const res = await fetch(url);
    const body = (await res.json()) as { status: string; error?: string; data?: { stats?: { samples?: { totalQueryableSamples?: number } } } };
    const seconds = Number(process.hrtime.bigint() - t) / 1e9;
    const samples = body.data?.stats?.samples?.totalQueryableSamples ?? 0;
    const span = (q.instant ? 0 : m.rangeSeconds) + longestWindow(expr);
    const prodSamples = Math.round(samples * prodFactor(expr, span, parseDuration(scrape)!));
    const r: QueryResult = { ...q, expr, range, seconds, samples, prodSamples, ...(body.status === "success" ? {} : { error: body.error }) };
    if (!best || r.seconds > best.seconds) best = r;
  }
  return best!;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd());
}

export async function main(o: RulesBenchOptions = {}): Promise<void> {
  const pods = o.pods ?? Number(process.env.BENCH_RULES_PODS ?? 100);
  const wanted = o.series ?? Number(process.env.BENCH_RULES_SERIES ?? 1_000_000);
  const evaluations = o.evaluations ?? Number(process.env.BENCH_RULES_EVALUATIONS ?? 6);
  const began = Date.now();
  const log = (line: string) => console.error(`rules [${((Date.now() - began) / 1000).toFixed(0)}s] ${line}`);
  const settings = loadStackSettings("prod");
  const scrape = parseDuration(settings.scrapeInterval)!;
  const rendered = renderStack(settings);
  const fleet = buildFleet({ pods, series: wanted });
  const recorded: Recorded[] = recordedSeries(rendered.files, { routes: ROUTES });
  log(`${fleet.series.length} series (${fleet.auth} auth fleet and exporters, ${fleet.background} cluster background), ${recorded.length} recorded series`);

  // BENCH_RULES_TSDB: measure over a TSDB an earlier run backfilled (kept; counters restart, which rate() handles).
  const reuse = process.env.BENCH_RULES_TSDB;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "authwatch-bench-rules-"));
  const tsdb = reuse ?? path.join(dir, "tsdb");
  try {
    // --- backfill -------------------------------------------------------------------------------
    const b = new Backfiller(dir, tsdb);
    const t0 = Math.floor(began / 1000 / scrape) * scrape - (HISTORY_DAYS + 1) * DAY; // counters start here
    if (!reuse) {
      const recentFrom = Math.floor((began / 1000 - RECENT_HOURS * 3600) / scrape) * scrape;
      const historyFrom = recentFrom - HISTORY_DAYS * DAY;
      const recordedFrom = recentFrom - RECORDED_DAYS * DAY;
      const rec = (t: number, out: (s: string, lines: number) => void) => out(recorded.map((r) => `${r.prefix}${r.value(t)} ${t}\n`).join(""), recorded.length);
      // Older than the raw history: the recorded series alone, 9 days a slice (a block each, or two).
      for (let from = recordedFrom, n = 0; from < historyFrom; from += 9 * DAY, n++)
        await b.slice(`recorded-${n}`, from, Math.min(from + 9 * DAY, historyFrom), scrape, rec, "216h");
      log(`backfilled ${RECORDED_DAYS - HISTORY_DAYS} days of recorded series`);
      // The raw history: the rules' series every HISTORY_STEP, recorded series every scrape.
      for (let from = historyFrom, n = 0; from < recentFrom; from += DAY / 2, n++) {
        const to = Math.min(from + DAY / 2, recentFrom);
        await b.slice(`history-${n}`, from, to, scrape, (t, out) => {
          rec(t, out);
          if ((t - historyFrom) % HISTORY_STEP === 0) out(linesAt(fleet, 0, fleet.auth, t, t0, true), fleet.auth);
        }, "24h");
      }
      log(`backfilled ${HISTORY_DAYS} days of the rules' series every ${HISTORY_STEP}s`);
      // The recent tier: everything, 15-minute slices up to when it starts (the live scrape follows).
      const recentTo = Math.floor(Date.now() / 1000 / scrape) * scrape;
      for (let from = recentFrom, n = 0; from < recentTo; n++) {
        const to = Math.min(from + 900, recentTo);
        await b.slice(`recent-${n}`, from, to, scrape, (t, out) => {
          rec(t, out);
          for (let i = 0; i < fleet.series.length; i += 20000) {
            const j = Math.min(i + 20000, fleet.series.length);
            out(linesAt(fleet, i, j, t, t0, true), j - i);
          }
        }, "2h");
        from = to;
      }
      await b.drain();
    }
    const backfillSeconds = (Date.now() - began) / 1000;
    const diskBytes = Number((await run("du", ["-sb", tsdb])).stdout.split("\t")[0]);
    log(`backfilled ${b.samples} samples in ${backfillSeconds.toFixed(0)}s; TSDB ${(diskBytes / 1e9).toFixed(2)} GB`);

    // --- Prometheus with prod's rules, scraping the live fleet ---------------------------------------
    const rulesDir = path.join(dir, "rules");
    fs.mkdirSync(rulesDir);
    const ruleFiles: string[] = [];
    for (const [file, text] of rendered.files) {
      if (!file.startsWith("prometheus/rules/")) continue;
      const f = path.join(rulesDir, path.basename(file));
      fs.writeFileSync(f, text);
      ruleFiles.push(f);
    }
    const exporter = await startExporter(fleet, t0);
    try {
      const config = {
        global: { scrape_interval: settings.scrapeInterval, evaluation_interval: settings.evaluationInterval, external_labels: externalLabels(settings) },
        rule_files: ruleFiles,
        scrape_configs: [
          {
            job_name: "fleet",
            honor_labels: true,
            scrape_timeout: "25s",
            static_configs: [{ targets: fleet.shards.map((_, i) => String(i)) }],
            relabel_configs: [
              { source_labels: ["__address__"], target_label: "__param_shard" },
              { source_labels: ["__address__"], target_label: "instance", replacement: "shard-$1" },
              { target_label: "__address__", replacement: `127.0.0.1:${exporter.port}` },
            ],
          },
        ],
      };
      // No leveled compaction during the measurement (min = max block duration): the backfilled blocks stay as they are.
      const prom = await startPrometheus(tsdb, JSON.stringify(config), [...PROD_QUERY_FLAGS, "--storage.tsdb.min-block-duration=2h", "--storage.tsdb.max-block-duration=2h"]);
      try {
        const base = prom.url;
        // The machine is shared: without priority, Prometheus' wall-clock times measure the other tenants' load.
        if (prom.pid) await run("renice", ["-n", "-10", "-p", String(prom.pid)]).catch(() => log("renice failed: Prometheus runs at normal priority"));
        await waitScraped(base, fleet.shards.length, log);
        const heads = await selfMetric(base, "prometheus_tsdb_head_series");
        const headSeries = [...heads.values()][0] ?? 0;
        log(`every target scraped; head series ${headSeries}; sampling ${evaluations} evaluations`);
        const { groups, prometheusCores, load } = await measureGroups(base, evaluations, parseDuration(settings.evaluationInterval)!, scrape, log);

        // --- dashboards -----------------------------------------------------------------------------
        const queries = dashboardQueries(rendered.files);
        const end = Math.floor(Date.now() / 1000);
        const results: QueryResult[] = [];
        for (const range of ["6h", "7d"]) for (const q of queries) results.push(await timeQuery(base, q, range, settings.scrapeInterval, end));
        log(`${results.length} dashboard queries timed`);
        report({ fleet, headSeries, samples: b.samples, backfillSeconds, diskBytes, groups, results, pods, prometheusCores, load });
      } finally {
        await prom.stop();
      }
    } finally {
      await exporter.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function waitScraped(base: string, targets: number, log: (l: string) => void): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const data = await api<{ activeTargets: { health: string; lastError: string }[] }>(`${base}/api/v1/targets?state=active`);
    const up = data.activeTargets.filter((t) => t.health === "up").length;
    // A starved exporter may miss a scrape's deadline; the next scrape catches up.
    const down = data.activeTargets.filter((t) => t.health === "down").length;
    if (up === targets || (up >= 0.95 * targets && down > 0)) return;
    if (i % 10 === 0) log(`${up}/${targets} targets scraped`);
    await sleep(1000);
  }
  throw new Error("the fleet was not scraped within 10 minutes");
}

/** Samples every group's last duration once per interval, `evaluations` times; also each rule's time and last error. */
async function measureGroups(base: string, evaluations: number, interval: number, scrape: number, log: (l: string) => void): Promise<{ groups: GroupResult[]; prometheusCores: number; load: number }> {
  const seen = new Map<string, number[]>();
  const slowest = new Map<string, [string, string, number]>();
  const errors = new Map<string, Set<string>>();
  type Rules = { groups: { name: string; interval: number; rules: { name: string; query: string; evaluationTime: number; lastError?: string }[] }[] };
  let last: Rules | undefined;
  // The first evaluations pay for loading the blocks' index and chunks: wait for two before sampling.
  await sleep(2 * interval * 1000);
  const cpu = async () => [...(await selfMetric(base, "process_cpu_seconds_total")).values()][0] ?? 0;
  const cpu0 = await cpu();
  const t0 = Date.now();
  let load = 0;
  for (let i = 0; i < evaluations; i++) {
    await sleep(interval * 1000);
    const durations = await selfMetric(base, "prometheus_rule_group_last_duration_seconds");
    for (const [labels, v] of durations) {
      const group = /;([^"]+)"/.exec(labels)?.[1] ?? labels;
      seen.set(group, [...(seen.get(group) ?? []), v]);
    }
    last = await api<Rules>(`${base}/api/v1/rules`);
    for (const g of last.groups) {
      for (const r of g.rules) {
        if (r.evaluationTime > (slowest.get(g.name)?.[2] ?? -1)) slowest.set(g.name, [r.name, r.query, r.evaluationTime]);
        if (r.lastError) errors.set(g.name, new Set([...(errors.get(g.name) ?? []), `${r.name}: ${r.lastError}`]));
      }
    }
    load = Math.max(load, os.loadavg()[0]!);
    log(`evaluation sample ${i + 1}/${evaluations}`);
  }
  const prometheusCores = ((await cpu()) - cpu0) / ((Date.now() - t0) / 1000);
  const groups: GroupResult[] = [];
  for (const g of last?.groups ?? []) {
    const d = [...(seen.get(g.name) ?? [NaN])].sort((a, b) => a - b);
    const [rule, query, ruleSeconds] = slowest.get(g.name) ?? ["", "", 0];
    // What the slowest rule reads: samples of one evaluation (the engine's own count).
    const stats = await fetch(`${base}/api/v1/query?${new URLSearchParams({ query, stats: "all" })}`).then((r) => r.json() as Promise<{ data?: { stats?: { samples?: { totalQueryableSamples?: number } } } }>);
    groups.push({
      group: g.name,
      interval: g.interval,
      maxSeconds: d.at(-1)!,
      medianSeconds: d[Math.floor((d.length - 1) / 2)]!,
      slowestRule: rule,
      slowestRuleSeconds: ruleSeconds,
      slowestRuleSamples: stats.data?.stats?.samples?.totalQueryableSamples ?? 0,
      slowestRuleProdSamples: Math.round((stats.data?.stats?.samples?.totalQueryableSamples ?? 0) * prodFactor(query, longestWindow(query), scrape)),
      errors: [...(errors.get(g.name) ?? [])],
    });
  }
  return { groups, prometheusCores, load };
}

function report(r: { fleet: Fleet; headSeries: number; samples: number; backfillSeconds: number; diskBytes: number; groups: GroupResult[]; results: QueryResult[]; pods: number; prometheusCores: number; load: number }): void {
  const pct = (g: GroupResult) => (100 * g.maxSeconds) / g.interval;
  console.log(
    `rules bench: ${r.headSeries} active series (${r.pods} auth pods: ${r.fleet.auth} series; cluster background ${r.fleet.background}), ` +
      `${(r.samples / 1e6).toFixed(0)} M samples backfilled in ${r.backfillSeconds.toFixed(0)} s (TSDB ${(r.diskBytes / 1e9).toFixed(2)} GB); ` +
      `history: ${RECENT_HOURS} h of every series every scrape, ${HISTORY_DAYS} d of the rules' series every ${HISTORY_STEP / 60} min, ${RECORDED_DAYS} d of recorded series`,
  );
  console.log(`  while the rules ran: Prometheus (at nice -10) used ${r.prometheusCores.toFixed(2)} cores (scraping, evaluating); the machine's load average peaked at ${r.load.toFixed(1)} on ${os.cpus().length} cores`);
  const ms = (s: number) => `${(s * 1000).toFixed(0)} ms`;
  const M = (n: number) => (n / 1e6).toFixed(n < 1e6 ? 2 : 1);
  const rows = [["group", "interval", "median", "max", "max % of interval", "slowest rule (time, samples read; at prod resolution)", "errors"]];
  for (const g of r.groups)
    rows.push([
      g.group,
      `${g.interval}s`,
      ms(g.medianSeconds),
      ms(g.maxSeconds),
      `${pct(g).toFixed(1)} %${pct(g) >= 10 ? " (over 10 %)" : ""}`,
      `${g.slowestRule} (${ms(g.slowestRuleSeconds)}, ${M(g.slowestRuleSamples)} M; prod ≈ ${M(g.slowestRuleProdSamples)} M)`,
      g.errors.length ? g.errors.join("; ").slice(0, 160) : "-",
    ]);
  for (const line of table(rows)) console.log(`  ${line}`);
  const qrows = [["dashboard", "queries", "6h max", "7d max", "over 1 s (6h / 7d)", "failed"]];
  const boards = [...new Set(r.results.map((q) => q.dashboard))];
  const worst = (qs: QueryResult[]) => qs.reduce((a, q) => (q.seconds > a.seconds ? q : a), qs[0]!);
  for (const d of boards) {
    const of = (range: string) => r.results.filter((q) => q.dashboard === d && q.range === range);
    qrows.push([
      d,
      String(of("6h").length),
      `${(worst(of("6h")).seconds * 1000).toFixed(0)} ms`,
      `${(worst(of("7d")).seconds * 1000).toFixed(0)} ms`,
      `${of("6h").filter((q) => q.seconds >= 1).length} / ${of("7d").filter((q) => q.seconds >= 1).length}`,
      String(r.results.filter((q) => q.dashboard === d && q.error).length),
    ]);
  }
  for (const line of table(qrows)) console.log(`  ${line}`);
  const slow = r.results.filter((q) => q.seconds >= 1 || q.error).sort((a, b) => b.seconds - a.seconds);
  // prod's Prometheus refuses a query that would hold more than 50 M samples (--query.max-samples).
  const heavy = r.results.filter((q) => q.prodSamples > 50e6).sort((a, b) => b.prodSamples - a.prodSamples);
  for (const q of heavy.slice(0, 8))
    console.log(`  heavy at prod resolution ${q.range} ${q.dashboard} "${q.panel}": ≈ ${M(q.prodSamples)} M samples (${M(q.samples)} M here, ${(q.seconds * 1000).toFixed(0)} ms): ${q.expr.slice(0, 140)}`);
  for (const q of slow.slice(0, 12))
    console.log(`  slow ${q.range} ${(q.seconds * 1000).toFixed(0)} ms ${q.dashboard} "${q.panel}" (${M(q.samples)} M samples; prod ≈ ${M(q.prodSamples)} M)${q.error ? ` ERROR ${q.error.slice(0, 120)}` : ""}: ${q.expr.slice(0, 160)}`);
  const over = r.groups.filter((g) => pct(g) >= 10);
  console.log(
    `BENCH rules ${JSON.stringify({
      activeSeries: r.headSeries,
      backfillSeconds: Math.round(r.backfillSeconds),
      prometheusCores: round(r.prometheusCores, 2),
      loadAverage: round(r.load, 1),
      groups: Object.fromEntries(r.groups.map((g) => [g.group, { maxSeconds: round(g.maxSeconds), medianSeconds: round(g.medianSeconds), percentOfInterval: round(pct(g), 1), errors: g.errors.length }])),
      groupsOver10Percent: over.map((g) => g.group),
      dashboardQueries: r.results.length,
      queriesOver1s: slow.filter((q) => !q.error).length,
      queriesOver50MSamplesAtProdResolution: heavy.length,
      rulesOver50MSamplesAtProdResolution: r.groups.filter((g) => g.slowestRuleProdSamples > 50e6).map((g) => g.slowestRule),
      queriesFailed: r.results.filter((q) => q.error).length,
      slowestQuery: slow[0] ? { dashboard: slow[0].dashboard, panel: slow[0].panel, range: slow[0].range, seconds: round(slow[0].seconds) } : null,
    })}`,
  );
}
