/**
 * The grid and the dashboard frame: a Board places panels deterministically
 * (ids and positions never depend on build order or on the SDK's own
 * auto-layout), adds runbook links taken from the alert catalog, records which
 * panels show and link which alerts, and wraps them in the variables,
 * annotations and links every authwatch dashboard has.
 */
import * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import type * as cog from "@grafana/grafana-foundation-sdk/cog";
import type * as common from "@grafana/grafana-foundation-sdk/common";
import type { AlertRule } from "../model";
import type { Settings } from "../settings";
import { DATASOURCE_NAMES, POSTGRES_DATASOURCE_TYPE, runbookUrl } from "../addresses";
import { sel } from "../promql";
import { DASHBOARD_UIDS } from "../../dashboards/uids";
import { ENV, PROMETHEUS, VAR } from "./kit";
import { rollbackAnnotation } from "./rollbacks";

/** What every panel builder of the SDK offers (they share the dashboard.Panel fields). */
export interface PanelBuilderLike extends cog.Builder<dashboard.Panel> {
  id(id: number): unknown;
  title(title: string): unknown;
  description(description: string): unknown;
  gridPos(gridPos: dashboard.GridPos): unknown;
  links(links: cog.Builder<dashboard.DashboardLink>[]): unknown;
  datasource(datasource: common.DataSourceRef): unknown;
}

export interface PanelPlacement {
  /** Width in grid columns (the grid is 24 wide) and height in grid rows. */
  readonly w: number;
  readonly h: number;
  /** What the panel shows and how to read it: an on-call engineer reads this, not the query. */
  readonly description: string;
  /** Alert names (of the catalog) whose condition this panel shows; each gets a runbook link. */
  readonly alerts?: readonly string[];
  /**
   * Alerts this panel shows whose dashboard_url opens it: every alerting rule
   * has exactly one such panel. `{ alert, labels }` links only the rules of
   * that name carrying those labels (rules of one name told apart by reason).
   */
  readonly linkedFrom?: readonly LinkedAlert[];
}

export type LinkedAlert = string | { readonly alert: string; readonly labels: Readonly<Record<string, string>> };

/** A panel as one value: what a dashboard module's panel functions return. */
export interface PanelSpec extends PanelPlacement {
  readonly id: number;
  readonly builder: PanelBuilderLike;
}

/** A panel an alert's dashboard_url opens (rules of that name, narrowed by labels). */
export interface AlertLink {
  readonly panel: number;
  readonly alert: string;
  readonly labels?: Readonly<Record<string, string>>;
}

/** Re-exported for the dashboard modules; its home is src/model.ts. */
export type { AlertRule } from "../model";

export interface DashboardContext {
  readonly settings: Settings;
  /** Alert name → its rules (every tier), from the catalog synth validates. */
  readonly alerts: ReadonlyMap<string, readonly AlertRule[]>;
}

/** A built dashboard: the SDK's model plus what the model cannot say (which panels show which alerts). */
export interface BuiltDashboard {
  readonly uid: string;
  readonly title: string;
  /** The definitions module, for error messages. */
  readonly source: string;
  readonly model: dashboard.Dashboard;
  /** Panel id → alert names it shows. */
  readonly shows: ReadonlyMap<number, readonly string[]>;
  /** The panels alerts link to, in panel order. */
  readonly links: readonly AlertLink[];
}

export interface BoardSpec {
  readonly key: keyof typeof DASHBOARD_UIDS;
  readonly title: string;
  readonly description: string;
  readonly source: string;
  readonly tags: readonly string[];
}

type Item = { kind: "row"; id: number; title: string; y: number } | { kind: "panel"; id: number; builder: PanelBuilderLike; pos: dashboard.GridPos };

export const GRID_WIDTH = 24;

/**
 * A dashboard under construction. Panels are laid out left to right and wrap
 * at 24 columns; a row starts a new line. Positions are computed here, from
 * the order of the calls only, and set explicitly on every panel.
 */
export class Board {
  private readonly items: Item[] = [];
  private readonly shows = new Map<number, readonly string[]>();
  private readonly links: AlertLink[] = [];
  private x = 0;
  private y = 0;
  private lineHeight = 0;

  constructor(
    private readonly ctx: DashboardContext,
    private readonly spec: BoardSpec,
  ) {}

  private newline(): void {
    if (this.x > 0) {
      this.y += this.lineHeight;
      this.x = 0;
      this.lineHeight = 0;
    }
  }

  row(id: number, title: string): this {
    this.newline();
    this.items.push({ kind: "row", id, title, y: this.y });
    this.y += 1;
    return this;
  }

  /** Panels placed in order, after the last row; each spec carries its id, builder and placement. */
  panels(...specs: PanelSpec[]): this {
    for (const spec of specs) this.place(spec);
    return this;
  }

  private place({ id, builder, ...place }: PanelSpec): void {
    if (this.x + place.w > GRID_WIDTH) this.newline();
    const pos = { x: this.x, y: this.y, w: place.w, h: place.h };
    this.x += place.w;
    this.lineHeight = Math.max(this.lineHeight, place.h);
    const linked = (place.linkedFrom ?? []).map((l) => (typeof l === "string" ? { panel: id, alert: l } : { panel: id, ...l }));
    this.links.push(...linked);
    const alerts = [...new Set([...linked.map((l) => l.alert), ...(place.alerts ?? [])])];
    builder.id(id);
    builder.gridPos(pos);
    builder.description(this.describe(place.description, alerts));
    const links = alerts.flatMap((name) => this.runbookLinks(name));
    if (links.length > 0) builder.links(links);
    if (alerts.length > 0) this.shows.set(id, alerts);
    this.items.push({ kind: "panel", id, builder, pos });
  }

  /** The panel text plus, per alert it shows, each tier's condition as the alert states it. */
  private describe(text: string, alerts: readonly string[]): string {
    const lines = alerts.flatMap((name) =>
      (this.ctx.alerts.get(name) ?? []).map((r) => `- ${name} (${r.severity}${r.for ? `, for ${r.for}` : ""}): ${r.summary}`),
    );
    return lines.length === 0 ? text : `${text}\n\nAlerts on this panel (runbooks in the panel links):\n${[...new Set(lines)].join("\n")}`;
  }

  private runbookLinks(alert: string): dashboard.DashboardLinkBuilder[] {
    const slugs = [...new Set((this.ctx.alerts.get(alert) ?? []).map((r) => r.runbook))];
    return slugs.map((slug) =>
      new dashboard.DashboardLinkBuilder(`Runbook: ${alert}`)
        .type(dashboard.DashboardLinkType.Link)
        .url(runbookUrl(this.ctx.settings, slug))
        .tooltip(`What to do when ${alert} fires`)
        .targetBlank(true),
    );
  }

  build(): BuiltDashboard {
    const s = this.ctx.settings;
    const uid = DASHBOARD_UIDS[this.spec.key];
    const authJob = s.scrapeJobs.auth;
    const b = new dashboard.DashboardBuilder(this.spec.title)
      .uid(uid)
      .description(this.spec.description)
      .tags(["authwatch", ...this.spec.tags])
      .timezone("utc")
      .readonly()
      .tooltip(dashboard.DashboardCursorSync.Crosshair)
      .time({ from: "now-6h", to: "now" })
      .refresh("1m")
      .withVariable(datasourceVariable(VAR.prometheus, "prometheus", "prometheus", "Prometheus", "metric", s.grafana.prometheusUid))
      .withVariable(datasourceVariable(VAR.loki, "loki", "loki", "Loki", "log", s.grafana.lokiUid))
      .withVariable(
        labelValuesVariable(VAR.env, "Environment", sel("up", { job: authJob }), "env").description(
          "The env label of the auth service's series. All also matches series without one (a Prometheus per environment).",
        ),
      )
      .withVariable(
        labelValuesVariable(VAR.instance, "Instance", sel("up", { job: authJob, ...ENV }), "instance")
          .multi(true)
          .description("Auth service instances; filters the per-instance panels. Service-wide panels (the alerts' view) are not filtered."),
      )
      .annotation(
        new dashboard.AnnotationQueryBuilder()
          .name("Critical alerts")
          .datasource(PROMETHEUS)
          .enable(true)
          .iconColor("red")
          .expr(`${sel("ALERTS", { alertstate: "firing", severity: "critical" })}`)
          .titleFormat("{{alertname}}")
          .textFormat("{{service}} / {{category}}")
          .step("60s"),
      );
    if (s.grafana.postgres) {
      b.withVariable(
        datasourceVariable(VAR.postgres, "postgres", POSTGRES_DATASOURCE_TYPE, "PostgreSQL", "", s.grafana.postgresUid)
          .description("The PostgreSQL the Rollbacks annotation reads rollback_log from: this stack's data source.")
          .hide(dashboard.VariableHide.HideVariable),
      );
      b.annotation(rollbackAnnotation());
    }
    b.link(
        new dashboard.DashboardLinkBuilder("authwatch dashboards")
          .type(dashboard.DashboardLinkType.Dashboards)
          .tags(["authwatch"])
          .asDropdown(true)
          .includeVars(true)
          .keepTime(true),
      );
    for (const item of this.items) {
      if (item.kind === "row") b.withRow(new dashboard.RowBuilder(item.title).id(item.id).gridPos({ x: 0, y: item.y, w: GRID_WIDTH, h: 1 }));
      else b.withPanel(item.builder);
    }
    const model = b.build();
    for (const item of this.items) finishPanel(model, item);
    return { uid, title: this.spec.title, source: this.spec.source, model, shows: new Map([...this.shows].sort(([a], [b]) => a - b)), links: [...this.links].sort((a, b) => a.panel - b.panel) };
  }
}

/**
 * After the SDK has built the model: pin every position to the one computed
 * here (the SDK re-places a panel at 0,0), give queries refIds A, B, … and
 * set the panel's data source to its queries' one.
 */
function finishPanel(model: dashboard.Dashboard, item: Item): void {
  const panel = (model.panels ?? []).find((p) => p.id === item.id);
  if (!panel) return;
  if (item.kind === "row") {
    panel.gridPos = { x: 0, y: item.y, w: GRID_WIDTH, h: 1 };
    return;
  }
  const p = panel as dashboard.Panel;
  p.gridPos = { ...item.pos };
  const targets = (p.targets ?? []) as { refId?: string; datasource?: common.DataSourceRef }[];
  targets.forEach((t, i) => {
    if (!t.refId) t.refId = String.fromCharCode(65 + i);
  });
  const first = targets[0]?.datasource;
  if (first && !p.datasource) p.datasource = { ...first };
}

/** A query variable over `label_values(<selector>, <label>)`, with All matching every value (and none). */
/** A data source variable of `type` whose default is this stack's data source (`uid`). */
function datasourceVariable(
  name: string,
  source: keyof typeof DATASOURCE_NAMES,
  type: string,
  label: string,
  panels: string,
  uid: string,
): dashboard.DatasourceVariableBuilder {
  return new dashboard.DatasourceVariableBuilder(name)
    .label(label)
    .description(`The ${label} every ${panels} panel queries; defaults to this stack's data source.`)
    .type(type)
    .current({ text: DATASOURCE_NAMES[source], value: uid });
}

export function labelValuesVariable(name: string, label: string, selector: string, labelName: string): dashboard.QueryVariableBuilder {
  const query = `label_values(${selector}, ${labelName})`;
  return new dashboard.QueryVariableBuilder(name)
    .label(label)
    .datasource(PROMETHEUS)
    .query(query)
    .definition(query)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.NaturalAsc)
    .includeAll(true)
    .allValue(".*")
    .current({ text: "All", value: "$__all" });
}
