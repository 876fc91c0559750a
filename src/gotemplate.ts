/**
 * The subset of Prometheus' Go templating our annotations use, evaluated in
 * TypeScript so promtool tests can state the exact expected description for a
 * value computed from the test's inputs. The validator rejects any other
 * template action, so this subset is all an annotation can contain.
 *
 * Formatting follows Prometheus' template functions (humanize,
 * humanizePercentage, humanizeDuration) and Go's %.4g.
 */

/** Go's fmt %.<prec>g. */
export function formatG(v: number, prec = 4): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v === 0) return "0";
  const [mantissa, expText] = v.toExponential(prec - 1).split("e") as [string, string];
  const exp = Number(expText);
  const strip = (s: string) => (s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s);
  if (exp < -4 || exp >= prec) {
    const sign = exp < 0 ? "-" : "+";
    return `${strip(mantissa)}e${sign}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  return strip(v.toFixed(Math.max(0, prec - 1 - exp)));
}

const SMALL = ["m", "u", "n", "p", "f", "a", "z", "y"];
const LARGE = ["k", "M", "G", "T", "P", "E", "Z", "Y"];

export function humanize(v: number): string {
  if (v === 0 || !Number.isFinite(v)) return formatG(v);
  let prefix = "";
  if (Math.abs(v) >= 1) {
    for (const p of LARGE) {
      if (Math.abs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
  } else {
    for (const p of SMALL) {
      if (Math.abs(v) >= 1) break;
      prefix = p;
      v *= 1000;
    }
  }
  return `${formatG(v)}${prefix}`;
}

export function humanizePercentage(v: number): string {
  return `${formatG(v * 100)}%`;
}

export function humanizeDuration(v: number): string {
  if (!Number.isFinite(v)) return formatG(v);
  if (v === 0) return `${formatG(v)}s`;
  if (Math.abs(v) >= 1) {
    const sign = v < 0 ? "-" : "";
    const secs = Math.trunc(Math.abs(v));
    const [d, h, m, s] = [Math.trunc(secs / 86400), Math.trunc(secs / 3600) % 24, Math.trunc(secs / 60) % 60, secs % 60];
    if (d !== 0) return `${sign}${d}d ${h}h ${m}m ${s}s`;
    if (h !== 0) return `${sign}${h}h ${m}m ${s}s`;
    if (m !== 0) return `${sign}${m}m ${s}s`;
    return `${sign}${formatG(Math.abs(v))}s`;
  }
  let prefix = "";
  for (const p of SMALL) {
    if (Math.abs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return `${formatG(v)}${prefix}s`;
}

const FUNCS: Readonly<Record<string, (v: number) => string>> = { humanize, humanizePercentage, humanizeDuration };

/** Every `{{ … }}` action in a template. */
const ACTION = /\{\{\s*(.*?)\s*\}\}/g;
const VALUE_ACTION = /^\$value\s*\|\s*(humanize|humanizePercentage|humanizeDuration)$/;
const LABEL_ACTION = /^\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)$/;

/** Problems with a template's actions (anything outside the subset above). */
export function templateProblems(template: string): string[] {
  const problems: string[] = [];
  for (const [, action] of template.matchAll(ACTION)) {
    if (!VALUE_ACTION.test(action ?? "") && !LABEL_ACTION.test(action ?? "")) {
      problems.push(`unsupported template action {{ ${action} }} (use $value | humanize/humanizePercentage/humanizeDuration, or $labels.<name>)`);
    }
  }
  return problems;
}

/** Evaluate an annotation template as Prometheus would. */
export function renderTemplate(template: string, value: number, labels: Readonly<Record<string, string>>): string {
  return template.replace(ACTION, (_all, action: string) => {
    const v = VALUE_ACTION.exec(action);
    if (v) return FUNCS[v[1] as string]!(value);
    const l = LABEL_ACTION.exec(action);
    if (l) return labels[l[1] as string] ?? "";
    throw new Error(`unsupported template action {{ ${action} }}`);
  });
}
