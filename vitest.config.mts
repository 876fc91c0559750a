import { defineConfig } from "vitest/config";

/**
 * Tests that need a real tool or server (promtool, amtool, Alertmanager,
 * PostgreSQL, the local stack) or run the CLI in a scratch copy. Everything
 * else is the "unit" project: `npm run test:unit`, the fast inner loop.
 * `npm test` (CI) runs both.
 */
const TOOL_TESTS = [
  "test/rules.promtool.test.ts",
  "test/alertmanager.*.test.ts",
  "test/postgres/**/*.test.ts",
  "test/local.e2e.test.ts",
  "test/local.ha.e2e.test.ts",
  "test/ha.dedup.test.ts",
  "test/validate.test.ts",
  "test/change-loop.test.ts",
  "test/synth.cli.test.ts",
  "test/diff.test.ts",
  "test/diff.routing.test.ts",
  "test/diff.backtest.test.ts",
  "test/backtest.engine.test.ts",
  "test/backtest.materialise.test.ts",
  "test/backtest.agreement.test.ts",
  "test/backtest.month.backfill.test.ts",
  "test/remote-write.promtool.test.ts",
];

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Three files at once on 2 cores: the end-to-end and delivery tests mostly wait for alerts to fire
    // and resolve (minutes), and a third worker runs the CPU-bound ones meanwhile.
    maxWorkers: 3,
    projects: [
      { extends: true, test: { name: "unit", include: ["test/**/*.test.ts"], exclude: TOOL_TESTS } },
      { extends: true, test: { name: "tools", include: TOOL_TESTS } },
    ],
  },
});
