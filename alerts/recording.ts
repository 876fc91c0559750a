/**
 * Recording rules (level:metric:operations) for expressions that alerts and
 * dashboards reuse or that are costly to evaluate on every panel refresh.
 */
import type { PromRuleGroup } from "../src/model";
import type { Settings } from "../src/settings";
import { re, sel } from "../src/promql";
import { record } from "./common";

export const RECORDS = {
  routeBucketRate: "job_route_le:http_request_duration_seconds_bucket:rate5m",
  requestsRate: "job:http_requests:rate5m",
  requests5xxRate: "job:http_requests_5xx:rate5m",
  requests5xxRatio: "job:http_requests_5xx:ratio_rate5m",
  requestP95: "job:http_request_duration_seconds:p95_5m",
  routeP95: "job_route:http_request_duration_seconds:p95_5m",
  operationP95: "job_operation:auth_operation_duration_seconds:p95_5m",
  tokenValidationMean: "job:auth_token_validation_duration_seconds:mean5m",
  loginsRate: "job:auth_logins:rate5m",
  loginsFailedRatio: "job:auth_logins_failed:ratio_rate5m",
  registrationsRate: "job:auth_registrations:rate5m",
  registrationsFailedRatio: "job:auth_registrations_failed:ratio_rate5m",
  tokenValidationsFailedRatio: "job:auth_token_validations_failed:ratio_rate5m",
  requestP99: "job:http_request_duration_seconds:p99_5m",
  operationMean: "job_operation:auth_operation_duration_seconds:mean5m",
} as const;

export function recordingRules(s: Settings): PromRuleGroup {
  const job = s.scrapeJobs.auth;
  const R = RECORDS;
  return {
    name: "auth-recording",
    source: "alerts/recording.ts",
    rules: [
      // Read once, first: the latency percentiles below (same evaluation, same timestamp) and the
      // dashboards' percentile panels sum it instead of reading every pod's buckets again
      // (npm run bench -- --only rules: 100 pods × 120 routes and methods × 8 buckets).
      record(R.routeBucketRate, `sum by (job, route, le) (rate(${sel("http_request_duration_seconds_bucket", { job })}[5m]))`),
      record(R.requestsRate, `sum by (job) (rate(${sel("http_requests_total", { job })}[5m]))`),
      record(R.requests5xxRate, `sum by (job) (rate(${sel("http_requests_total", { job, code: re("5..") })}[5m]))`),
      // No 5xx series at all means a 0 share, not "unknown": fill the numerator per job.
      record(R.requests5xxRatio, `(${R.requests5xxRate} or (${R.requestsRate} * 0)) / ${R.requestsRate}`),
      record(R.requestP95, `histogram_quantile(0.95, sum by (job, le) (${R.routeBucketRate}))`),
      record(R.routeP95, `histogram_quantile(0.95, ${R.routeBucketRate})`),
      record(
        R.operationP95,
        `histogram_quantile(0.95, sum by (job, operation, le) (rate(${sel("auth_operation_duration_seconds_bucket", { job })}[5m])))`,
      ),
      record(
        R.tokenValidationMean,
        `sum by (job) (rate(${sel("auth_token_validation_duration_seconds_sum", { job })}[5m]))` +
          ` / sum by (job) (rate(${sel("auth_token_validation_duration_seconds_count", { job })}[5m]))`,
      ),
      record(R.loginsRate, `sum by (job) (rate(${sel("auth_logins_total", { job })}[5m]))`),
      record(
        R.loginsFailedRatio,
        `(sum by (job) (rate(${sel("auth_logins_total", { job, result: "failure" })}[5m])) or (${R.loginsRate} * 0)) / ${R.loginsRate}`,
      ),
      record(R.registrationsRate, `sum by (job) (rate(${sel("auth_registrations_total", { job })}[5m]))`),
      record(
        R.registrationsFailedRatio,
        `(sum by (job) (rate(${sel("auth_registrations_total", { job, result: "failure" })}[5m])) or (${R.registrationsRate} * 0))` +
          ` / ${R.registrationsRate}`,
      ),
      record(
        R.tokenValidationsFailedRatio,
        `(sum by (job) (rate(${sel("auth_token_validations_total", { job, result: re("invalid|expired") })}[5m]))` +
          ` or (sum by (job) (rate(${sel("auth_token_validations_total", { job })}[5m])) * 0))` +
          ` / sum by (job) (rate(${sel("auth_token_validations_total", { job })}[5m]))`,
      ),
      record(R.requestP99, `histogram_quantile(0.99, sum by (job, le) (${R.routeBucketRate}))`),
      record(
        R.operationMean,
        `sum by (job, operation) (rate(${sel("auth_operation_duration_seconds_sum", { job })}[5m]))` +
          ` / sum by (job, operation) (rate(${sel("auth_operation_duration_seconds_count", { job })}[5m]))`,
      ),
    ],
  };
}
