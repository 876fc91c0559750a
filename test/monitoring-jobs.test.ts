/**
 * PrometheusTargetDown watches every scrape job of the stack, and only those:
 * a job the stack does not run would fire "no target at all" forever. The
 * local stack runs a plain Prometheus whose scrape jobs are its rendered
 * prometheus.yaml, so there the two must agree exactly.
 */
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { listStacks, loadStackSettings } from "../src/settings";
import { renderStack } from "../src/synth";

interface RuleFile {
  groups: { rules: { alert?: string; expr: string; labels?: Record<string, string> }[] }[];
}

/** The jobs named in PrometheusTargetDown's `reason="missing"` rule, as rendered. */
function watchedJobs(files: ReadonlyMap<string, string>): string[] {
  const rules = [...files].filter(([f]) => f.startsWith("prometheus/rules/")).flatMap(([, text]) => (load(text) as RuleFile).groups.flatMap((g) => g.rules));
  const missing = rules.find((r) => r.alert === "PrometheusTargetDown" && r.labels?.reason === "missing");
  if (!missing) throw new Error("no PrometheusTargetDown reason=missing rule");
  return [...missing.expr.matchAll(/absent\(up\{job="([^"]+)"\}\)/g)].map((m) => m[1]!).sort();
}

const standalone = listStacks().filter((s) => !loadStackSettings(s).cluster);

describe("PrometheusTargetDown and the stack's scrape jobs", () => {
  it.each(standalone)("%s (no cluster): watches exactly the jobs its prometheus.yaml scrapes", (stack) => {
    const { files } = renderStack(loadStackSettings(stack));
    const config = load(files.get("prometheus/prometheus.yaml")!) as { scrape_configs: { job_name: string }[] };
    expect(watchedJobs(files)).toEqual(config.scrape_configs.map((c) => c.job_name).sort());
  });

  it.each(listStacks().filter((s) => loadStackSettings(s).cluster))("%s (cluster): watches Grafana and Loki, which the cluster runs", (stack) => {
    const s = loadStackSettings(stack);
    const jobs = watchedJobs(renderStack(s).files);
    expect(jobs).toContain(s.scrapeJobs.loki);
    if (s.cluster!.grafana.enabled) expect(jobs).toContain(s.scrapeJobs.grafana);
  });
});
