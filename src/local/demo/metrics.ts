/**
 * The demo service's metrics: every metric of the telemetry contract
 * (src/telemetry.ts) that the service itself exposes, with prom-client, and
 * the routes and label values its counters start at 0 for.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { HTTP_DURATION_BUCKETS, METRICS, type MetricName } from "../../telemetry";

/** The metrics the service itself exposes: the first block of docs/telemetry.md. */
export const SERVICE_METRICS = [
  "http_requests_total",
  "http_request_duration_seconds",
  "auth_logins_total",
  "auth_registrations_total",
  "auth_token_validations_total",
  "auth_token_validation_duration_seconds",
  "auth_refresh_total",
  "auth_operation_duration_seconds",
  "auth_rate_limit_exceeded_total",
  "auth_csrf_failures_total",
  "auth_account_lockouts_total",
  "auth_oauth_total",
  "auth_guest_total",
  "auth_password_reset_total",
  "auth_sessions",
  "auth_errors_total",
] as const satisfies readonly MetricName[];
type ServiceMetric = (typeof SERVICE_METRICS)[number];
type Labels = Record<string, string>;

export const ROUTES = {
  login: { route: "/v1/login", method: "POST", codes: ["200", "401", "423", "429"] },
  register: { route: "/v1/register", method: "POST", codes: ["201", "400", "409", "429"] },
  refresh: { route: "/v1/token/refresh", method: "POST", codes: ["200", "401"] },
  logout: { route: "/v1/logout", method: "POST", codes: ["204", "401", "403"] },
  me: { route: "/v1/me", method: "GET", codes: ["200", "401"] },
  resetRequest: { route: "/v1/password-reset", method: "POST", codes: ["202"] },
  resetConfirm: { route: "/v1/password-reset/confirm", method: "POST", codes: ["204", "400"] },
  oauth: { route: "/v1/oauth/{provider}", method: "POST", codes: ["200", "401"] },
  guest: { route: "/v1/guest", method: "POST", codes: ["201"] },
} as const;
export type RouteKey = keyof typeof ROUTES;
export const OAUTH_PROVIDERS = ["google", "github"] as const;
export const RATE_LIMITED_ENDPOINTS = ["/v1/login", "/v1/register"] as const;

const bucketsFor: Partial<Record<ServiceMetric, number[]>> = {
  http_request_duration_seconds: [0.005, 0.01, 0.025, ...HTTP_DURATION_BUCKETS],
  auth_operation_duration_seconds: [0.005, 0.01, 0.025, ...HTTP_DURATION_BUCKETS],
  auth_token_validation_duration_seconds: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
};

function cartesian(values: Readonly<Record<string, readonly string[]>>): Labels[] {
  return Object.entries(values).reduce<Labels[]>((acc, [k, vs]) => acc.flatMap((l) => vs.map((v) => ({ ...l, [k]: v }))), [{}]);
}

export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly counters = new Map<ServiceMetric, Counter<string>>();
  private readonly histograms = new Map<ServiceMetric, Histogram<string>>();
  private readonly gauges = new Map<ServiceMetric, Gauge<string>>();

  constructor(sessions: () => { active: number; inactive: number }) {
    for (const name of SERVICE_METRICS) {
      const spec = METRICS[name];
      const common = { name, help: spec.help, labelNames: [...spec.labels] as string[], registers: [this.registry] };
      if (spec.type === "counter") this.counters.set(name, new Counter(common));
      else if (spec.type === "histogram") this.histograms.set(name, new Histogram({ ...common, buckets: bucketsFor[name] ?? [...HTTP_DURATION_BUCKETS] }));
      else if (name === "auth_sessions") {
        this.gauges.set(
          name,
          new Gauge({
            ...common,
            collect() {
              const s = sessions();
              this.set({ state: "active" }, s.active);
              this.set({ state: "inactive" }, s.inactive);
            },
          }),
        );
      }
    }
    this.initialise();
  }

  /**
   * Every counter starts at 0 for the label values it can take, so that the
   * first failure is an increase rate() sees, not the birth of a series.
   */
  private initialise(): void {
    for (const r of Object.values(ROUTES)) {
      for (const code of [...r.codes, "500"]) this.inc("http_requests_total", { service: "auth", route: r.route, method: r.method, code }, 0);
    }
    const logins = METRICS.auth_logins_total.values;
    for (const method of logins.method) {
      this.inc("auth_logins_total", { result: "success", method, reason: "none" }, 0);
      for (const reason of logins.reason.filter((x) => x !== "none")) this.inc("auth_logins_total", { result: "failure", method, reason }, 0);
    }
    for (const name of ["auth_registrations_total", "auth_token_validations_total", "auth_refresh_total", "auth_guest_total", "auth_password_reset_total", "auth_errors_total"] as const) {
      for (const labels of cartesian(METRICS[name].values)) this.inc(name, labels, 0);
    }
    for (const provider of OAUTH_PROVIDERS) {
      for (const labels of cartesian(METRICS.auth_oauth_total.values)) this.inc("auth_oauth_total", { provider, ...labels }, 0);
    }
    for (const endpoint of RATE_LIMITED_ENDPOINTS) this.inc("auth_rate_limit_exceeded_total", { endpoint }, 0);
    this.inc("auth_csrf_failures_total", {}, 0);
    this.inc("auth_account_lockouts_total", {}, 0);
  }

  inc(name: ServiceMetric, labels: Labels = {}, by = 1): void {
    const c = this.counters.get(name);
    if (!c) throw new Error(`${name} is not a counter`);
    c.inc(labels, by);
  }

  observe(name: ServiceMetric, labels: Labels, seconds: number): void {
    const h = this.histograms.get(name);
    if (!h) throw new Error(`${name} is not a histogram`);
    h.observe(labels, seconds);
  }
}
