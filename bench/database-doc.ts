// The measured recovery-time table: rendered from bench/database.ts' results,
// printed, and written into docs/database.md between the markers below.
import type { RecoveryFigures, VariantName } from "./database-recovery";

export const DOC_BEGIN = "<!-- BEGIN bench:database recovery (written by `npm run bench -- --only database`; do not edit) -->";
export const DOC_END = "<!-- END bench:database recovery -->";
export const GOAL_SPEEDUP = 1.3;

export interface SizeResult {
  tokens: number;
  /** Every table's rows (tokens, families, the ledger). */
  rows: number;
  /** baseline and directory always; custom (the jobs as before) and gzip0 at the smaller sizes. */
  variants: Partial<Record<VariantName, RecoveryFigures>>;
}

export interface Machine {
  cpus: number;
  /** 1-minute load average at the start and the end of the bench. */
  load: [number, number];
  rounds: Record<number, number>;
  jobs: number;
  compression: number | undefined;
}

const LABEL: Record<VariantName, (m: Machine) => string> = {
  baseline: () => "`pg_dump -Fc` + `pg_restore` (bare, 1 job)",
  custom: () => "jobs, custom format, 1 job",
  directory: (m) => `jobs, directory format, ${m.jobs} jobs, gzip ${m.compression ?? "default"}`,
  gzip0: (m) => `jobs, directory format, ${m.jobs} jobs, no compression`,
};

export const TABLE_HEADER = "| tokens | rows | variant | backup s | restore s | end to end s | speed-up | RTO s | RTO s per M rows | dump MiB |";

const f2 = (n: number) => n.toFixed(2);

/** Baseline end to end / the variant's. */
export const speedup = (r: SizeResult, v: VariantName) => r.variants.baseline!.endToEndSeconds / r.variants[v]!.endToEndSeconds;

export function rtoTable(results: SizeResult[], machine: Machine): string {
  const lines = [TABLE_HEADER, "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"];
  for (const r of results) {
    for (const v of Object.keys(LABEL) as VariantName[]) {
      const x = r.variants[v];
      if (!x) continue;
      lines.push(
        `| ${r.tokens.toLocaleString("en-US")} | ${r.rows.toLocaleString("en-US")} | ${LABEL[v](machine)} | ${f2(x.backupSeconds)} | ${f2(x.restoreSeconds)} | ${f2(x.endToEndSeconds)} | ${f2(speedup(r, v))}× | ${f2(x.rtoSeconds)} | ${f2(x.rtoSeconds / (r.rows / 1e6))} | ${(x.dumpBytes / 1048576).toFixed(1)} |`,
      );
    }
  }
  const rounds = results.map((r) => `${machine.rounds[r.tokens]} at ${r.tokens.toLocaleString("en-US")}`).join(", ");
  return [
    `Measured on ${machine.cpus} CPUs (load average ${machine.load[0].toFixed(1)} at the start, ${machine.load[1].toFixed(1)} at the end: other work shared the machine), medians of interleaved rounds (${rounds} tokens).`,
    "Backup and restore are wall-clock seconds of the whole step (for the jobs: the manifest, checksums, row counts, scratch database and metrics included);",
    "RTO is what restore-verify pushes as `restore_verify_duration_seconds` (fetch, checksums, `pg_restore`); the baseline's is its bare `pg_restore`.",
    `Goal: the directory-format jobs at least ${GOAL_SPEEDUP}× faster end to end than the bare baseline.`,
    "",
    ...lines,
  ].join("\n");
}

/** The document with its marked section replaced by `body`; throws when the markers are missing or out of order. */
export function replaceSection(doc: string, body: string): string {
  const begin = doc.indexOf(DOC_BEGIN);
  const end = doc.indexOf(DOC_END);
  if (begin < 0 || end < begin) throw new Error(`docs/database.md: the section between "${DOC_BEGIN}" and "${DOC_END}" is missing`);
  return `${doc.slice(0, begin + DOC_BEGIN.length)}\n${body}\n${doc.slice(end)}`;
}

/** The marked section's body, or undefined. */
export function sectionOf(doc: string): string | undefined {
  const begin = doc.indexOf(DOC_BEGIN);
  const end = doc.indexOf(DOC_END);
  return begin < 0 || end < begin ? undefined : doc.slice(begin + DOC_BEGIN.length, end).trim();
}
