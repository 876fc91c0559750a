/** The backtest report as text (a table per alert tier) or JSON. */
import type { AlertOut, BacktestReport } from "./engine";

export function durationText(s: number): string {
  if (s <= 0) return "0s";
  const parts: string[] = [];
  for (const [unit, secs] of [["d", 86400], ["h", 3600], ["m", 60], ["s", 1]] as const) {
    if (s >= secs && parts.length < 2) {
      parts.push(`${Math.floor(s / secs)}${unit}`);
      s %= secs;
    }
  }
  return parts.join("");
}

const seconds = (iso: string) => Date.parse(iso) / 1000;

/** Total seconds firing, open episodes counted up to `end`. */
export function firingSeconds(a: AlertOut, end: string): number {
  return a.episodes.reduce((sum, e) => sum + (seconds(e.end ?? end) - seconds(e.start)), 0);
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd());
}

export function formatText(r: BacktestReport): string {
  const lines = [`Backtest of ${r.prometheus} from ${r.start} to ${r.end}`];
  for (const d of r.notRunning) lines.push(`The Prometheus recorded nothing from ${d.start} to ${d.end} (not running): no evaluation there`);
  if (r.recordings.materialised.length) lines.push(`Recording rules materialised from raw data: ${r.recordings.materialised.join(", ")}`);
  for (const w of r.warnings) lines.push(`Warning: ${w}`);
  const rows = [["alert", "severity", "episodes", "firing", "first", "last"]];
  for (const a of r.alerts) {
    if (a.skipped) {
      rows.push([a.alert, a.severity, "-", "-", "not backtested", ""]);
      continue;
    }
    const first = a.episodes[0];
    const last = a.episodes.at(-1);
    rows.push([a.alert, a.severity, String(a.episodes.length), durationText(firingSeconds(a, r.end)), first?.start ?? "-", last ? `${last.start} → ${last.end ?? "still firing"}` : "-"]);
  }
  lines.push("", ...table(rows));
  const skipped = r.alerts.filter((a) => a.skipped);
  if (skipped.length) lines.push("", ...skipped.map((a) => `${a.alert} ${a.severity}: not backtested: ${a.skipped}`));
  return `${lines.join("\n")}\n`;
}

export const formatJson = (r: BacktestReport): string => `${JSON.stringify(r, null, 2)}\n`;
