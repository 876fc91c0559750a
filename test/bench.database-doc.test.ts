// docs/database.md's recovery-time table is written by the database bench
// (bench/database.ts through bench/database-doc.ts): the marked section must
// exist for it to land, and the rewrite replaces exactly that section.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DOC_BEGIN, DOC_END, replaceSection, rtoTable, sectionOf, TABLE_HEADER, type Machine, type SizeResult } from "../bench/database-doc";
import type { RecoveryFigures } from "../bench/database-recovery";

const figures = (backupSeconds: number, restoreSeconds: number, rtoSeconds: number): RecoveryFigures => ({
  backupSeconds,
  restoreSeconds,
  endToEndSeconds: backupSeconds + restoreSeconds,
  rtoSeconds,
  dumpBytes: 100 * 1048576,
  steps: {},
});
// A stated fixture: the baseline takes 20 s end to end, the directory format 10 s.
const RESULT: SizeResult = { tokens: 1_000_000, rows: 1_250_002, variants: { baseline: figures(12, 8, 8), directory: figures(6, 4, 3) } };
const MACHINE: Machine = { cpus: 2, load: [1, 2], rounds: { 1_000_000: 3 }, jobs: 2, compression: 1 };

describe("the database bench's RTO table in docs/database.md", () => {
  it("renders one row per measured variant with the speed-up and the RTO per million rows", () => {
    const table = rtoTable([RESULT], MACHINE);
    const rows = table.split("\n").filter((l) => l.startsWith("| 1,000,000"));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toContain("| 20.00 | 1.00× | 8.00 | 6.40 | 100.0 |");
    expect(rows[1]).toContain("jobs, directory format, 2 jobs, gzip 1 | 6.00 | 4.00 | 10.00 | 2.00× | 3.00 | 2.40 | 100.0 |");
    expect(table).toContain("medians of interleaved rounds (3 at 1,000,000 tokens)");
  });

  it("replaces only the marked section, and refuses a document without it", () => {
    const doc = `# A\n\nbefore\n${DOC_BEGIN}\nold table\n${DOC_END}\nafter\n`;
    const out = replaceSection(doc, "new table");
    expect(out).toBe(`# A\n\nbefore\n${DOC_BEGIN}\nnew table\n${DOC_END}\nafter\n`);
    expect(replaceSection(out, "new table")).toBe(out);
    expect(() => replaceSection("# A\n", "t")).toThrow(/section between .* is missing/);
    expect(() => replaceSection(`${DOC_END}\n${DOC_BEGIN}\n`, "t")).toThrow(/is missing/);
  });

  it("docs/database.md has the section, holding a table the bench rendered", () => {
    const section = sectionOf(readFileSync("docs/database.md", "utf8"));
    expect(section, "the marked section").toBeDefined();
    expect(section!.split("\n")).toContain(TABLE_HEADER);
    expect(section).toMatch(/\| 1,000,000 \| [\d,]+ \| jobs, directory format, /);
    expect(section).toMatch(/\| 10,000,000 \| [\d,]+ \| jobs, directory format, /);
  });
});
