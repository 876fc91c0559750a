/**
 * The migration Job runs again exactly when a migration changes: its name
 * carries a hash of the migrations. Proven on a scratch copy of
 * postgres/migrations, and through index.ts with synth's output altered.
 */
import { cpSync, readdirSync, readFileSync, renameSync, utimesSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, describe, expect, it } from "vitest";
import { migrationJobName, migrationsHash } from "../src/pulumi/database";
import type { Rendered } from "../src/synth";
import { deployableConfig, ofType, runProgram } from "./support/pulumi";
import { tempDir } from "./support/tmp";

const MIGRATIONS = path.join(__dirname, "..", "postgres", "migrations");

/** A directory of migrations as synth renders it (postgres/migrations/<file>), plus a job script that must not count. */
function rendered(dir: string, script = "#!/bin/sh\necho backup\n"): Map<string, string> {
  const files = new Map<string, string>([["postgres/jobs/backup.sh", script]]);
  for (const f of readdirSync(dir).sort()) files.set(`postgres/migrations/${f}`, readFileSync(path.join(dir, f), "utf8"));
  return files;
}

describe("the migrations hash", () => {
  const dir = tempDir("migrations");
  cpSync(MIGRATIONS, dir, { recursive: true });
  const first = readdirSync(dir).sort()[0]!;
  const original = migrationsHash(rendered(dir));

  it("is stable: same files, same hash, whatever their timestamps or the job scripts", () => {
    expect(original).toMatch(/^[0-9a-f]{10}$/);
    utimesSync(path.join(dir, first), new Date(0), new Date(0));
    writeFileSync(path.join(dir, first), readFileSync(path.join(dir, first)));
    expect(migrationsHash(rendered(dir))).toBe(original);
    expect(migrationsHash(rendered(dir, "#!/bin/sh\necho another backup script\n"))).toBe(original);
    expect(migrationsHash(rendered(MIGRATIONS))).toBe(original);
  });

  it("changes when a migration is edited, added or renamed", () => {
    const file = path.join(dir, first);
    const text = readFileSync(file, "utf8");
    writeFileSync(file, `${text}\n-- a comment is a change too\n`);
    const edited = migrationsHash(rendered(dir));
    expect(edited).not.toBe(original);
    writeFileSync(file, text);
    expect(migrationsHash(rendered(dir))).toBe(original);

    writeFileSync(path.join(dir, "0099_more.up.sql"), "CREATE TABLE more (id int);\n");
    const added = migrationsHash(rendered(dir));
    expect(new Set([original, edited, added]).size).toBe(3);

    renameSync(path.join(dir, "0099_more.up.sql"), path.join(dir, "0098_more.up.sql"));
    expect(new Set([original, edited, added, migrationsHash(rendered(dir))]).size).toBe(4);
  });
});

describe("the migration Job of index.ts", () => {
  afterAll(async () => {
    await pulumi.runtime.disconnect();
  });

  const jobs = async (alter?: (files: Map<string, string>) => void) => {
    const render = alter
      ? (r: Rendered): Rendered => {
          const files = new Map(r.files);
          alter(files);
          return { ...r, files };
        }
      : undefined;
    const { resources } = await runProgram("dev", deployableConfig("dev"), render ? { render } : {});
    return ofType(resources, "kubernetes:batch/v1:Job").map((j) => j.name);
  };

  it("is named for the migrations, renamed when one changes and not when anything else does", async () => {
    const unchanged = await jobs();
    expect(unchanged).toHaveLength(1);
    expect(unchanged[0]).toMatch(/^db-migrate-[0-9a-f]{10}$/);

    const migration = (files: Map<string, string>) => [...files.keys()].find((f) => f.startsWith("postgres/migrations/"))!;
    const changed = await jobs((files) => void files.set(migration(files), `${files.get(migration(files))}\n-- changed\n`));
    expect(changed).toHaveLength(1);
    expect(changed[0]).not.toBe(unchanged[0]);
    expect(changed[0]).toMatch(/^db-migrate-[0-9a-f]{10}$/);

    const otherwise = await jobs((files) => {
      files.set("postgres/jobs/backup.sh", `${files.get("postgres/jobs/backup.sh")}\n# changed\n`);
      files.set("alertmanager/templates/authwatch.tmpl", `${files.get("alertmanager/templates/authwatch.tmpl")}\n`);
    });
    expect(otherwise).toEqual(unchanged);
    expect(unchanged[0]).toBe(migrationJobName(rendered(MIGRATIONS)));
  });
});
