/** The typed shapes definitions are written in. Pure data: no I/O. */

export const SEVERITIES = ["critical", "warning", "info", "none"] as const;
export type Severity = (typeof SEVERITIES)[number];
export const SERVICES = ["auth", "postgres", "monitoring"] as const;
export type Service = (typeof SERVICES)[number];
export const CATEGORIES = ["availability", "performance", "authentication", "security", "database", "backup", "slo", "meta"] as const;
export type Category = (typeof CATEGORIES)[number];

/**
 * The dashboard panel an alert's dashboard_url opens. Definitions never set
 * it: synth derives it from the panels that declare the alert (linkedFrom).
 */
export interface DashboardRef {
  readonly uid: string;
  readonly panel?: number;
}

export interface AlertingRule {
  readonly kind: "alert";
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly severity: Severity;
  readonly service: Service;
  readonly category: Category;
  /** Extra labels that tell rules of one name apart (e.g. an SLO burn window). */
  readonly labels?: Readonly<Record<string, string>>;
  readonly summary: string;
  /** Go template; shows the measured value through a function, e.g. `{{ $value | humanizePercentage }}` (src/validate.ts checks). */
  readonly description: string;
  readonly runbook: string;
  /** Set by synth from the dashboards (src/dashboards/links.ts), not by definitions. */
  readonly dashboard?: DashboardRef;
}

export interface RecordingRule {
  readonly kind: "record";
  readonly record: string;
  readonly expr: string;
  readonly labels?: Readonly<Record<string, string>>;
}

export type PromRule = AlertingRule | RecordingRule;

/** A Prometheus rule group: one file under prometheus/rules/, one PrometheusRule in Kubernetes. */
export interface PromRuleGroup {
  readonly name: string;
  /** Evaluation interval, where it is not the stack's evaluationInterval. */
  readonly interval?: string;
  /** The definitions module it comes from, for error messages. */
  readonly source: string;
  readonly rules: readonly PromRule[];
}

/** A Loki ruler alert (LogQL). */
export interface LogAlertRule extends Omit<AlertingRule, "kind"> {
  readonly kind: "log-alert";
}

/** An alert of either kind: Prometheus (PromQL) or Loki (LogQL). */
export type AlertRule = AlertingRule | LogAlertRule;

export interface LogRuleGroup {
  readonly name: string;
  readonly source: string;
  readonly rules: readonly LogAlertRule[];
}

/** Log retention: a default period, and periods for streams (the first matching selector wins). */
export interface LogRetention {
  readonly defaultDays: number;
  readonly streams: readonly { readonly selector: string; readonly days: number; readonly why: string }[];
}

// ---------------------------------------------------------------- proofs

/** One input series of a promtool unit test, in promtool's expanding notation. */
export interface InputSeries {
  readonly series: string;
  readonly values: string;
}

/** What must be firing at `at`: one entry per firing rule of that name. */
export interface ExpectedAlert {
  readonly severity: Severity;
  /** Labels beyond the rule's own (e.g. job, instance) that the firing series carries. */
  readonly labels?: Readonly<Record<string, string>>;
  /** The measured value, computed from the inputs independently of the rule (used for the description). */
  readonly value: number;
  /** Set only where rules of one name differ by extra labels (SLO windows, reasons). */
  readonly ruleLabels?: Readonly<Record<string, string>>;
}

/** A firing or silent case for one alert name, run with `promtool test rules`. */
export interface AlertCase {
  readonly name: string;
  readonly series: readonly InputSeries[];
  /** Evaluation time, as a duration from the start of the series. */
  readonly at: string;
  /** Empty: the alert must be silent at `at`. */
  readonly firing: readonly ExpectedAlert[];
}

export interface AlertProof {
  readonly alert: string;
  /** Step of the input series and of rule evaluation (default 1m). */
  readonly interval?: string;
  /**
   * A coarser step of rule evaluation than of the series, for cases over days of history. Only for an
   * alert without `for`, whose state at a step is its expression's value there; every case's `at` on a step.
   */
  readonly evaluationInterval?: string;
  readonly cases: readonly AlertCase[];
}
