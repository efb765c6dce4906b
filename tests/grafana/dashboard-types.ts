// The types each dashboard in dashboards/*.json is checked against: Grafana's published
// dashboard model (@grafana/schema: Dashboard, Panel, RowPanel, VariableModel, FieldConfig)
// and its panel plugins' option types (the composable panelcfg types of the same package),
// written in their JSON form.
//
// Two things are ours, because @grafana/schema does not publish them:
// - PrometheusQuery: the Prometheus data source's query model (Grafana's PromQuery, in the
//   prometheus plugin), on top of @grafana/schema's DataQuery.
// - __inputs / __requires / __elements: the keys of Grafana's "export for sharing externally"
//   format, which the import dialog reads; they are not part of the stored dashboard model.
import type {
  Dashboard,
  DataQuery,
  DataSourceRef,
  FieldConfig,
  FieldConfigSource,
  RowPanel,
  Panel,
  VariableModel,
} from "@grafana/schema";
import type * as TimeSeries from "@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen";
import type * as Stat from "@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen";
import type * as BarGauge from "@grafana/schema/dist/esm/raw/composable/bargauge/panelcfg/x/BarGaugePanelCfg_types.gen";
import type * as Table from "@grafana/schema/dist/esm/raw/composable/table/panelcfg/x/TablePanelCfg_types.gen";

// A type as it appears in JSON: string enums become the union of their values (a dashboard
// says "value", not BigValueColorMode.Value); numeric enums stay (a JSON 2 must be one of
// their members); objects and arrays recursively, optional keys kept optional.
export type Wire<T> = T extends string
  ? `${T}`
  : T extends number | boolean | null | undefined
    ? T
    : T extends ReadonlyArray<infer U>
      ? Array<Wire<U>>
      : T extends object
        ? { [K in keyof T]: Wire<T[K]> }
        : T;

export interface PrometheusQuery extends DataQuery {
  datasource: Wire<DataSourceRef>;
  expr: string;
  legendFormat?: string;
  range?: boolean;
  instant?: boolean;
  format?: "time_series" | "table" | "heatmap";
  editorMode?: "code" | "builder";
  interval?: string;
  exemplar?: boolean;
  intervalFactor?: number;
}

type FieldConfigOf<Custom> = Omit<Wire<FieldConfigSource>, "defaults"> & {
  defaults: Omit<Wire<FieldConfig>, "custom"> & { custom?: Wire<Custom> };
};

// A panel of one plugin type: Grafana's Panel with that plugin's complete options (every
// required option present, as Grafana saves them) and field config, Prometheus targets and
// an explicit data source.
type PanelOf<Type extends string, Options, Custom> = Omit<
  Wire<Panel>,
  "type" | "options" | "fieldConfig" | "targets" | "datasource"
> & {
  type: Type;
  datasource: Wire<DataSourceRef>;
  options: Wire<Options>;
  fieldConfig: FieldConfigOf<Custom>;
  targets: PrometheusQuery[];
};

export type TimeSeriesPanel = PanelOf<"timeseries", TimeSeries.Options, TimeSeries.FieldConfig>;
export type StatPanel = PanelOf<"stat", Stat.Options, Record<string, never>>;
export type BarGaugePanel = PanelOf<"bargauge", BarGauge.Options, Record<string, never>>;
export type TablePanel = PanelOf<"table", Table.Options, Table.FieldConfig>;
export type DashboardPanel = TimeSeriesPanel | StatPanel | BarGaugePanel | TablePanel;
export type DashboardRow = Omit<Wire<RowPanel>, "panels"> & { panels: DashboardPanel[] };

export interface DashboardInput {
  name: string;
  label: string;
  description: string;
  type: "datasource" | "constant";
  pluginId?: string;
  pluginName?: string;
  value?: string;
}

export interface DashboardRequirement {
  type: "grafana" | "datasource" | "panel";
  id: string;
  name: string;
  version: string;
}

export type ExportedDashboard = Omit<Wire<Dashboard>, "panels" | "templating"> & {
  __inputs: DashboardInput[];
  __elements: Record<string, never>;
  __requires: DashboardRequirement[];
  uid: string;
  title: string;
  panels: Array<DashboardRow | DashboardPanel>;
  templating: { list: Array<Wire<VariableModel>> };
};
