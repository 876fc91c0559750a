/** The demo service's log writer: seed 000's JSON log lines, rotated so the local stack never fills the disk. */
import { createWriteStream, renameSync, statSync, type WriteStream } from "node:fs";

/** Seed 000's logAuth(): one JSON object per line, `evt` = `auth.<event>`. */
export class AuthLog {
  private stream: WriteStream;
  private written = 0;
  constructor(
    private readonly file: string,
    private readonly maxBytes = 64 * 1024 * 1024,
  ) {
    this.stream = createWriteStream(file, { flags: "a" });
    try {
      this.written = statSync(file).size;
    } catch {
      this.written = 0;
    }
  }

  write(event: string, level: "info" | "warn" | "error", data: Record<string, unknown>): void {
    const line = `${JSON.stringify({ evt: `auth.${event}`, at: new Date().toISOString(), level, ...data })}\n`;
    this.stream.write(line);
    this.written += line.length;
    if (this.written > this.maxBytes) this.rotate();
  }

  /** Keep one previous file (<file>.1): the local stack must not fill the disk. */
  private rotate(): void {
    this.stream.end();
    try {
      renameSync(this.file, `${this.file}.1`);
    } catch {
      /* keep writing to the same file */
    }
    this.stream = createWriteStream(this.file, { flags: "a" });
    this.written = 0;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.stream.end(() => resolve()));
  }
}
