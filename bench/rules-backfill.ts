/** Time slices of OpenMetrics text, each backfilled by promtool and deleted; two promtool processes at a time. */
import * as fs from "node:fs";
import * as path from "node:path";
import { importOpenMetrics } from "../src/backtest/promtool";

/** Writes one OpenMetrics slice [from, to) of `pick(t)` series every `step`, then backfills it. */
export class Backfiller {
  private running: Promise<void>[] = [];
  samples = 0;
  constructor(
    private readonly dir: string,
    private readonly tsdb: string,
  ) {}
  async slice(name: string, from: number, to: number, step: number, write: (t: number, out: (text: string, lines: number) => void) => void, maxBlock: string): Promise<void> {
    while (this.running.length >= 2) await Promise.race(this.running);
    const file = path.join(this.dir, `${name}.om`);
    const fd = fs.openSync(file, "w");
    let buffer: string[] = [];
    let size = 0;
    const out = (text: string, lines: number) => {
      buffer.push(text);
      size += text.length;
      this.samples += lines;
      if (size > 8 << 20) {
        fs.writeSync(fd, buffer.join(""));
        buffer = [];
        size = 0;
      }
    };
    for (let t = from; t < to; t += step) write(t, out);
    buffer.push("# EOF\n");
    fs.writeSync(fd, buffer.join(""));
    fs.closeSync(fd);
    const job = importOpenMetrics(file, this.tsdb, maxBlock)
      .then(() => fs.rmSync(file, { force: true }))
      .finally(() => (this.running = this.running.filter((r) => r !== job)));
    this.running.push(job);
  }
  async drain(): Promise<void> {
    await Promise.all(this.running);
  }
}

