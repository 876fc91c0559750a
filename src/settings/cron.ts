/** Five-field cron schedules (the database jobs' CronJobs). */

const CRON_FIELDS = [
  ["minute", 0, 59],
  ["hour", 0, 23],
  ["day of month", 1, 31],
  ["month", 1, 12],
  ["day of week", 0, 7],
] as const;

/** Problems with a five-field cron schedule (numbers, *, ranges, steps, lists). */
export function cronProblems(expr: string): string[] {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5) return ["must be a cron schedule of five fields (minute hour day-of-month month day-of-week), e.g. 15 2 * * *"];
  return fields.flatMap((f, i) => {
    const [name, lo, hi] = CRON_FIELDS[i]!;
    const ok = f.split(",").every((part) => {
      const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
      if (!m) return false;
      const nums = [m[2], m[3]].filter((n): n is string => n !== undefined).map(Number);
      return nums.every((n) => n >= lo && n <= hi) && (m[4] === undefined || Number(m[4]) > 0);
    });
    return ok ? [] : [`${name} "${f}" must be *, a number ${lo}-${hi}, a range, a list or a step`];
  });
}
