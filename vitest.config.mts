import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Real-tool tests start servers on free ports; keep parallelism modest on 2 cores.
    maxWorkers: 2,
  },
});
