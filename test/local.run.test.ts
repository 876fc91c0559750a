/**
 * The local stack's process runner: a program that exits without reading its
 * input (initdb refusing a directory) must come back as its exit code, not
 * crash the runner with an EPIPE on the pipe it closed.
 */
import { describe, expect, it } from "vitest";
import { run } from "../src/local/postgres";

describe("run()", () => {
  it("reports the exit code of a program that never reads the input it was given", async () => {
    // Larger than a pipe buffer, so the write is still pending when the program exits.
    const result = await run("sh", ["-c", "echo refused >&2; exit 3"], { input: "x".repeat(4 << 20) });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("refused");
  });
});
