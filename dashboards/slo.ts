/**
 * auth-slo: one block per SLO of alerts/slo.ts: its objective, the SLI over
 * the SLO period, the error budget left, and the burn rate over every window
 * the burn-rate alerts use, with their factors as lines. Everything reads the
 * SLO recording rules src/slo.ts generates; adding an SLO adds a block.
 */
import { slos } from "../alerts/slo";
import { pct } from "../alerts/common";
import { rec } from "../src/promql";
import { BURN_RATE_ALERTS, SLI_WINDOWS, SLO_PERIOD, SLO_RECORDS, type Slo } from "../src/slo";
import { promql, statPanel, steps, timeseriesPanel, type Step } from "../src/dashboards/kit";
import { Board, type BuiltDashboard, type DashboardContext, type PanelSpec } from "../src/dashboards/board";
import { sloPanels, type SloPanelIds } from "./panels";

export function sloDashboard(ctx: DashboardContext): BuiltDashboard {
  const board = new Board(ctx, {
    key: "slo",
    title: "Auth / SLOs",
    description: `The auth service's service level objectives over ${SLO_PERIOD}: how much error budget is left and how fast it burns.`,
    source: "dashboards/slo.ts",
    tags: ["auth", "slo"],
  });
  for (const slo of slos(ctx.settings)) {
    const q = scope(slo);
    board
      .row(q.id.row, `SLO ${slo.name}: ${pct(slo.objective)} of ${slo.good}`)
      .panels(objective(q), sli(q), budgetRemaining(q), burnRates(q), sliTimeline(q));
  }
  return board.build();
}

/** One SLO's block: its panel ids and its recording rules. */
interface Scope {
  readonly slo: Slo;
  readonly id: SloPanelIds;
  readonly bySlo: { readonly slo: string };
  /** The SLO's error ratio over a window (SLO_RECORDS). */
  readonly errorRatio: (window: string) => string;
}

function scope(slo: Slo): Scope {
  const bySlo = { slo: slo.name };
  return { slo, id: sloPanels(slo.name), bySlo, errorRatio: (w) => rec(SLO_RECORDS.errorRatio(w), bySlo) };
}

/** Burn-rate factors as threshold lines: paging factors red, ticket factors orange. */
const burnSteps: Step[] = [...new Map(BURN_RATE_ALERTS.map((b) => [b.factor, b.severity === "critical" ? "red" : "orange"] as const))];

function objective({ slo, id, bySlo }: Scope): PanelSpec {
  return {
    id: id.objective,
    builder: statPanel("Objective", "percentunit").withTarget(promql(rec(SLO_RECORDS.objective, bySlo), "objective")).decimals(2).thresholds(steps("blue")),
    w: 4,
    h: 6,
    description: `The target: ${pct(slo.objective)} of ${slo.good} over ${SLO_PERIOD} (stack setting slos).`,
  };
}

function sli({ slo, id, errorRatio }: Scope): PanelSpec {
  return {
    id: id.sli,
    builder: statPanel(`SLI over ${SLO_PERIOD}`, "percentunit")
      .withTarget(promql(`1 - ${errorRatio(SLO_PERIOD)}`, "SLI"))
      .decimals(3)
      .thresholds(steps("red", [slo.objective, "green"])),
    w: 5,
    h: 6,
    description: `Share of ${slo.good} over the last ${SLO_PERIOD}. Green at or above the objective, red below.`,
    alerts: [slo.alert],
  };
}

function budgetRemaining({ slo, id, bySlo }: Scope): PanelSpec {
  return {
    id: id.budgetRemaining,
    builder: statPanel("Error budget remaining", "percentunit")
      .withTarget(promql(rec(SLO_RECORDS.budgetRemaining, bySlo), "budget left"))
      .decimals(1)
      .thresholds(steps("red", [0, "orange"], [0.25, "green"])),
    w: 5,
    h: 6,
    description: `Share of the ${SLO_PERIOD} error budget (${pct(1 - slo.objective)} of requests) not yet spent. Below 0 the SLO is missed; below 25 % is orange. The burn-rate alert acts long before: see the burn rates.`,
  };
}

function burnRates({ slo, id, bySlo, errorRatio }: Scope): PanelSpec {
  return {
    id: id.burnRates,
    builder: timeseriesPanel("Burn rate per window", "suffix:x")
      .targets(SLI_WINDOWS.map((w) => promql(`${errorRatio(w)} / on (slo) ${rec(SLO_RECORDS.errorBudget, bySlo)}`, w)))
      .min(0)
      .thresholds(steps("green", ...burnSteps)),
    w: 10,
    h: 6,
    description:
      `Error ratio over each window divided by the budget (1x spends exactly the ${SLO_PERIOD} budget). ` +
      `The alert pages when both windows of a pair exceed its factor: ${BURN_RATE_ALERTS.map((b) => `${b.factor}x over ${b.long} and ${b.short} (${b.severity})`).join(", ")}.`,
    linkedFrom: [slo.alert],
  };
}

function sliTimeline({ slo, id, errorRatio }: Scope): PanelSpec {
  return {
    id: id.sliTimeline,
    builder: timeseriesPanel("SLI over time", "percentunit")
      .withTarget(promql(`1 - ${errorRatio("1h")}`, "SLI over 1h"))
      .withTarget(promql(`1 - ${errorRatio(SLO_PERIOD)}`, `SLI over ${SLO_PERIOD}`))
      .decimals(3)
      .thresholds(steps("red", [slo.objective, "green"])),
    w: 24,
    h: 7,
    description: `Share of ${slo.good} over the last hour and over ${SLO_PERIOD}; the dashed line is the objective.`,
  };
}
