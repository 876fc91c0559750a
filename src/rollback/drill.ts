/**
 * The monthly rollback drill's proof of life: after a successful
 * `npm run rollback -- --dry-run --drill`, the time of success goes to the
 * Pushgateway as rollback_drill_last_success_timestamp_seconds{stack}
 * (job "rollback-drill"), which RollbackDrillMissing watches.
 */
export const DRILL_JOB = "rollback-drill";
export const DRILL_METRIC = "rollback_drill_last_success_timestamp_seconds";

/** Pushes the success time; throws naming the gateway's answer. POST replaces only this metric in the group. */
export async function pushDrillSuccess(gateway: string, stack: string, at: Date, doFetch: typeof fetch = fetch): Promise<void> {
  const url = `${gateway.replace(/\/+$/, "")}/metrics/job/${DRILL_JOB}/stack/${encodeURIComponent(stack)}`;
  const body = `# HELP ${DRILL_METRIC} When the rollback drill last succeeded (Unix time).\n# TYPE ${DRILL_METRIC} gauge\n${DRILL_METRIC} ${(at.getTime() / 1000).toFixed(3)}\n`;
  const response = await doFetch(url, { method: "POST", headers: { "content-type": "text/plain; version=0.0.4" }, body, signal: AbortSignal.timeout(15_000) });
  if (!response.ok) throw new Error(`the Pushgateway answered HTTP ${response.status} to the drill's push`);
}
