/**
 * What the job tests (test/postgres/) run against: a PostgreSQL 15 cluster with
 * one database created and migrated, a Pushgateway, and a scratch directory.
 * Calling useJobBed() registers the calling test file's beforeAll and afterAll;
 * the fields are set in that beforeAll, so read them in hooks and tests only.
 */
import { afterAll, beforeAll } from "vitest";
import { runJob, startPostgres, startPushgateway, type PgCluster, type Pushgateway } from "./postgres";
import { tempDir } from "./tmp";

export interface JobBed {
  pg: PgCluster;
  gateway: Pushgateway;
  /** A directory of the file's own, removed after it (see ./tmp). */
  scratch: string;
}

export function useJobBed(database: string, scratchPrefix = "jobs-test"): JobBed {
  const bed = {} as JobBed;
  beforeAll(async () => {
    bed.pg = await startPostgres();
    bed.gateway = await startPushgateway();
    bed.scratch = tempDir(scratchPrefix);
    await bed.pg.createDatabase(database);
    const migrated = await runJob("migrate.sh", { DATABASE_URL: bed.pg.url(database) });
    if (migrated.code !== 0) throw new Error(`migrate.sh on database ${database}: ${migrated.stderr}`);
  });
  afterAll(async () => {
    await bed.gateway?.stop();
    await bed.pg?.stop();
  });
  return bed;
}
