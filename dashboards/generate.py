#!/usr/bin/python3
"""Writes the Grafana dashboards of this folder (*.json) from the definitions below.

The JSON files are the product (import or provision them as they are); this script keeps
their boilerplate (data source input and variable, job/instance variables, panel options as
Grafana 12/13 saves them, grid layout, unique ids) consistent. Edit here, then run

    /usr/bin/python3 dashboards/generate.py          # rewrite the JSON files
    /usr/bin/python3 dashboards/generate.py --check  # exit 1 if a JSON file is out of date

Every selector of a mingus_* or node_* metric carries {job=~"$job", instance=~"$instance"}
(SEL below). The PromQL is the one of docs/dashboard-api.md where a panel shows the same
figure as the collector's JSON API. Standard library only.
"""

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA_VERSION = 42          # Grafana 12.x/13.x (@grafana/schema 13's defaultDashboard)
PLUGIN_VERSION = "13.2.2"    # the panel plugins' version in @grafana/schema 13.2.3
DS = {"type": "prometheus", "uid": "${datasource}"}
SEL = 'job=~"$job", instance=~"$instance"'
# File systems that are not disks (as the collector's disk figure, docs/dashboard-api.md).
REAL_FS = 'fstype!~"tmpfs|ramfs|devtmpfs|squashfs|overlay|iso9660"'


# ---------------------------------------------------------------------------- targets

def q(expr, legend="__auto", instant=False, table=False):
    """A Prometheus query target (refId set by the panel)."""
    t = {"datasource": DS, "editorMode": "code", "expr": expr, "legendFormat": legend,
         "range": not instant, "instant": instant}
    if table:
        t["format"] = "table"
    return t


# ---------------------------------------------------------------------------- panels

def _thresholds(steps):
    """steps: [(value or None, color)], the first value None (the base)."""
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for v, c in steps]}


GREEN = [(None, "green")]


def _field_defaults(unit, thresholds, minimum=None, maximum=None, decimals=None, custom=None,
                    color="palette-classic"):
    d = {"color": {"mode": color}, "mappings": [], "thresholds": _thresholds(thresholds), "unit": unit}
    if custom is not None:
        d["custom"] = custom
    if minimum is not None:
        d["min"] = minimum
    if maximum is not None:
        d["max"] = maximum
    if decimals is not None:
        d["decimals"] = decimals
    return d


def _reduce(calc="lastNotNull", values=False):
    return {"calcs": [calc], "fields": "", "values": values}


def timeseries(title, targets, unit="short", description="", stack=False, minimum=None,
               maximum=None, thresholds=GREEN, w=12, h=8, legend_calcs=None):
    custom = {
        "axisBorderShow": False, "axisCenteredZero": False, "axisColorMode": "text", "axisLabel": "",
        "axisPlacement": "auto", "barAlignment": 0, "drawStyle": "line", "fillOpacity": 10,
        "gradientMode": "none", "hideFrom": {"legend": False, "tooltip": False, "viz": False},
        "insertNulls": False, "lineInterpolation": "linear", "lineWidth": 1, "pointSize": 4,
        "scaleDistribution": {"type": "linear"}, "showPoints": "never", "spanNulls": False,
        "stacking": {"group": "A", "mode": "normal" if stack else "none"},
        "thresholdsStyle": {"mode": "off"},
    }
    return {
        "type": "timeseries", "title": title, "description": description, "w": w, "h": h,
        "fieldConfig": {"defaults": _field_defaults(unit, thresholds, minimum, maximum, custom=custom),
                        "overrides": []},
        "options": {
            "legend": {"calcs": legend_calcs or [], "displayMode": "table" if legend_calcs else "list",
                       "placement": "bottom", "showLegend": True},
            "tooltip": {"hideZeros": False, "mode": "multi", "sort": "desc"},
        },
        "targets": targets,
    }


def stat(title, targets, unit="short", description="", thresholds=GREEN, decimals=None,
         calc="lastNotNull", graph=True, w=4, h=4, color_mode="value"):
    # A figure over the whole time range ($__range) is one instant query, without a sparkline.
    if any(RANGE in t["expr"] for t in targets):
        targets = [dict(t, range=False, instant=True) for t in targets]
        graph = False
    return {
        "type": "stat", "title": title, "description": description, "w": w, "h": h,
        "fieldConfig": {"defaults": _field_defaults(unit, thresholds, decimals=decimals, color="thresholds"),
                        "overrides": []},
        "options": {
            "colorMode": color_mode, "graphMode": "area" if graph else "none", "justifyMode": "auto",
            "orientation": "auto", "percentChangeColorMode": "standard", "reduceOptions": _reduce(calc),
            "showPercentChange": False, "textMode": "auto", "wideLayout": True,
        },
        "targets": targets,
    }


def bargauge(title, targets, unit="short", description="", thresholds=GREEN, minimum=None,
             maximum=None, w=12, h=8, calc="lastNotNull"):
    return {
        "type": "bargauge", "title": title, "description": description, "w": w, "h": h,
        "fieldConfig": {"defaults": _field_defaults(unit, thresholds, minimum, maximum, color="thresholds"),
                        "overrides": []},
        "options": {
            "displayMode": "gradient",
            "legend": {"calcs": [], "displayMode": "list", "placement": "bottom", "showLegend": False},
            "maxVizHeight": 300, "minVizHeight": 16, "minVizWidth": 8, "namePlacement": "auto",
            "orientation": "horizontal", "reduceOptions": _reduce(calc), "showUnfilled": True,
            "sizing": "auto", "valueMode": "color",
        },
        "targets": targets,
    }


def table(title, targets, description="", w=24, h=8, renames=None, exclude=("Time",), sort_by=None,
          units=None):
    """A table of instant queries (format table); several targets are merged on their labels.
    renames maps a column to its header ("Value #A": "calls"); units a column to its unit."""
    overrides = [{"matcher": {"id": "byName", "options": column},
                  "properties": [{"id": "unit", "value": unit}]} for column, unit in (units or {}).items()]
    transformations = []
    if len(targets) > 1:
        transformations.append({"id": "merge", "options": {}})
    transformations.append({"id": "organize", "options": {
        "excludeByName": {name: True for name in exclude}, "indexByName": {},
        "renameByName": renames or {}}})
    options = {"cellHeight": "sm", "frameIndex": 0, "showHeader": True}
    if sort_by:
        options["sortBy"] = [{"desc": True, "displayName": sort_by}]
    return {
        "type": "table", "title": title, "description": description, "w": w, "h": h,
        "fieldConfig": {
            "defaults": _field_defaults("short", GREEN, custom={
                "align": "auto", "cellOptions": {"type": "auto"}, "inspect": False, "filterable": False},
                color="thresholds"),
            "overrides": overrides},
        "options": options,
        "transformations": transformations,
        "targets": targets,
    }


def row(title):
    return {"type": "row", "title": title, "w": 24, "h": 1}


# ---------------------------------------------------------------------------- dashboards

def variables():
    """The data source variable (so that provisioned dashboards find Prometheus by type, and
    imported ones get ${DS_PROMETHEUS}) and job/instance query variables over `up`."""
    def query_var(name, label, query):
        return {
            "type": "query", "name": name, "label": label, "datasource": DS, "query": query,
            "refresh": 2, "includeAll": True, "multi": True, "sort": 1, "regex": "",
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
            "options": [], "hide": 0, "skipUrlSync": False,
        }
    return [
        {"type": "datasource", "name": "datasource", "label": "Data source", "query": "prometheus",
         "current": {"selected": False, "text": "Prometheus", "value": "${DS_PROMETHEUS}"},
         "refresh": 1, "regex": "", "hide": 0, "includeAll": False, "multi": False, "options": [],
         "skipUrlSync": False},
        query_var("job", "Job", "label_values(up, job)"),
        query_var("instance", "Instance", 'label_values(up{job=~"$job"}, instance)'),
    ]


def layout(panels):
    """Give each panel an id and a gridPos, left to right, wrapping at 24 columns; a row
    starts a new line. Targets get refIds A, B, ...; every panel gets the data source."""
    out, x, y, line_h, next_id = [], 0, 0, 0, 1
    for p in panels:
        p = dict(p)
        w, h = p.pop("w"), p.pop("h")
        if p["type"] == "row" or x + w > 24:
            x, y, line_h = 0, y + line_h, 0
        p["id"] = next_id
        next_id += 1
        p["gridPos"] = {"h": h, "w": w, "x": x, "y": y}
        if p["type"] == "row":
            p.update({"collapsed": False, "panels": []})
            y += h
            out.append(p)
            continue
        p["datasource"] = DS
        p["pluginVersion"] = PLUGIN_VERSION
        p["targets"] = [dict(t, refId=chr(ord("A") + i)) for i, t in enumerate(p["targets"])]
        if not p.get("description"):
            p.pop("description", None)
        x += w
        line_h = max(line_h, h)
        out.append(p)
    return out


def dashboard(uid, title, description, tags, panels, time_from="now-1h", refresh="30s"):
    return {
        "__inputs": [{"name": "DS_PROMETHEUS", "label": "Prometheus", "description":
                      "Prometheus, or the Mingus collector's PromQL API (a Prometheus data source)",
                      "type": "datasource", "pluginId": "prometheus", "pluginName": "Prometheus"}],
        "__elements": {},
        "__requires": [
            {"type": "grafana", "id": "grafana", "name": "Grafana", "version": "11.0.0"},
            {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"},
        ] + [{"type": "panel", "id": t, "name": n, "version": ""} for t, n in
             sorted({(p["type"], PANEL_NAMES[p["type"]]) for p in panels if p["type"] != "row"})],
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True,
            "hide": True, "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts",
            "type": "dashboard"}]},
        "description": description,
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": [{"asDropdown": True, "icon": "external link", "includeVars": True, "keepTime": True,
                   "tags": ["mingus"], "targetBlank": False, "title": "Mingus dashboards",
                   "tooltip": "", "type": "dashboards", "url": ""}],
        "panels": layout(panels),
        "refresh": refresh,
        "schemaVersion": SCHEMA_VERSION,
        "tags": ["mingus"] + tags,
        "templating": {"list": variables()},
        "time": {"from": time_from, "to": "now"},
        "timepicker": {},
        "timezone": "browser",
        "title": title,
        "uid": uid,
        "version": 1,
        "weekStart": "",
    }


PANEL_NAMES = {"timeseries": "Time series", "stat": "Stat", "bargauge": "Bar gauge", "table": "Table"}
RI = "$__rate_interval"
RANGE = "$__range"

# Warning and critical levels: configs/collector.yaml's dashboard.thresholds defaults.
CPU_STEPS = [(None, "green"), (70, "orange"), (90, "red")]
MEMORY_STEPS = [(None, "green"), (80, "orange"), (95, "red")]
DISK_STEPS = [(None, "green"), (80, "orange"), (90, "red")]
API_TIME_STEPS = [(None, "green"), (0.5, "orange"), (2, "red")]
API_ERROR_STEPS = [(None, "green"), (0.01, "orange"), (0.05, "red")]
DB_TIME_STEPS = [(None, "green"), (0.1, "orange"), (0.5, "red")]
SLOW_QUERY_STEPS = [(None, "green"), (10, "orange"), (100, "red")]


IDLE, NOT_IDLE = 'mode="idle"', 'mode!="idle"'


def m(name, matchers=""):
    """A selector of name with the job/instance matchers (and more matchers before them)."""
    return f"{name}{{{matchers + ', ' if matchers else ''}{SEL}}}"


def cpu_busy_percent(by="instance"):
    return (f"100 * (1 - sum by ({by}) (rate({m('node_cpu_seconds_total', IDLE)}[{RI}]))"
            f" / sum by ({by}) (rate({m('node_cpu_seconds_total')}[{RI}])))")


def host_health():
    mem = f"max by (instance) ({m('node_memory_MemAvailable_bytes')})"
    total = f"max by (instance) ({m('node_memory_MemTotal_bytes')})"
    fs_avail, fs_size = m("node_filesystem_avail_bytes", REAL_FS), m("node_filesystem_size_bytes", REAL_FS)
    net = 'device!~"lo|veth.*|docker.*|br-.*|virbr.*"'
    cores = f"count by (instance) ({m('node_cpu_seconds_total', IDLE)})"
    panels = [
        row("Overview"),
        stat("Up", [q(f"max by (instance) (up{{{SEL}}})", "{{instance}}")], w=3, graph=False,
             description="1 while the last scrape of the host's agent (or node_exporter) succeeded.",
             thresholds=[(None, "red"), (1, "green")]),
        stat("CPU busy", [q(cpu_busy_percent(), "{{instance}}")], "percent", thresholds=CPU_STEPS,
             description="Share of CPU time not idle, all cores (as the collector's CPU tile)."),
        stat("Memory used", [q(f"100 * (1 - {mem} / {total})", "{{instance}}")], "percent",
             thresholds=MEMORY_STEPS, description="1 - MemAvailable / MemTotal (as the collector's memory tile)."),
        stat("Fullest file system", [q(f"100 * max by (instance) (1 - {fs_avail} / ({fs_size} > 0))",
                                       "{{instance}}")], "percent", thresholds=DISK_STEPS,
             description="Used share of the fullest disk file system (as the collector's disk tile)."),
        stat("Load (1m) per core", [q(f"max by (instance) ({m('node_load1')}) / {cores}", "{{instance}}")],
             "short", decimals=2, thresholds=[(None, "green"), (1, "orange"), (2, "red")]),
        stat("Uptime", [q(f"max by (instance) ({m('node_time_seconds')} - {m('node_boot_time_seconds')})",
                          "{{instance}}")], "s", graph=False, w=3),
        stat("Cores", [q(cores, "{{instance}}")], "short", graph=False, w=3),
        row("CPU and load"),
        timeseries("CPU busy by mode", [q(
            f"sum by (instance, mode) (rate({m('node_cpu_seconds_total', NOT_IDLE)}[{RI}]))"
            f" / on (instance) group_left {cores}", "{{instance}} {{mode}}")],
            "percentunit", stack=True, minimum=0,
            description="CPU seconds per second by mode, divided by the number of cores."),
        timeseries("Load average", [
            q(f"max by (instance) ({m('node_load1')})", "{{instance}} 1m"),
            q(f"max by (instance) ({m('node_load5')})", "{{instance}} 5m"),
            q(f"max by (instance) ({m('node_load15')})", "{{instance}} 15m"),
            q(cores, "{{instance}} cores"),
        ], minimum=0),
        timeseries("Context switches and interrupts", [
            q(f"sum by (instance) (rate({m('node_context_switches_total')}[{RI}]))", "{{instance}} context switches"),
            q(f"sum by (instance) (rate({m('node_intr_total')}[{RI}]))", "{{instance}} interrupts"),
            q(f"sum by (instance) (rate({m('node_forks_total')}[{RI}]))", "{{instance}} forks"),
        ], "ops", minimum=0),
        timeseries("Processes", [
            q(f"max by (instance) ({m('node_procs_running')})", "{{instance}} running"),
            q(f"max by (instance) ({m('node_procs_blocked')})", "{{instance}} blocked"),
        ], minimum=0),
        row("Memory"),
        timeseries("Memory", [
            q(f"{total} - {mem}", "{{instance}} used"),
            q(f"max by (instance) ({m('node_memory_Cached_bytes')}) + max by (instance) "
              f"({m('node_memory_Buffers_bytes')})", "{{instance}} cache and buffers"),
            q(mem, "{{instance}} available"),
            q(total, "{{instance}} total"),
        ], "bytes", minimum=0),
        timeseries("Swap used", [q(
            f"max by (instance) ({m('node_memory_SwapTotal_bytes')}) - max by (instance) "
            f"({m('node_memory_SwapFree_bytes')})", "{{instance}}")], "bytes", minimum=0),
        row("Disk and file systems"),
        bargauge("File system used", [q(
            f"100 * (1 - {fs_avail} / ({fs_size} > 0))", "{{instance}} {{mountpoint}}")],
            "percent", thresholds=DISK_STEPS, minimum=0, maximum=100),
        timeseries("File system free", [q(fs_avail, "{{instance}} {{mountpoint}}")], "bytes", minimum=0),
        timeseries("Disk throughput", [
            q(f"sum by (instance, device) (rate({m('node_disk_read_bytes_total')}[{RI}]))",
              "{{instance}} {{device}} read"),
            q(f"-sum by (instance, device) (rate({m('node_disk_written_bytes_total')}[{RI}]))",
              "{{instance}} {{device}} written"),
        ], "Bps", description="Reads up, writes down."),
        timeseries("Disk busy", [q(
            f"sum by (instance, device) (rate({m('node_disk_io_time_seconds_total')}[{RI}]))",
            "{{instance}} {{device}}")], "percentunit", minimum=0,
            description="Share of time the device had I/O in flight."),
        timeseries("Disk operations", [
            q(f"sum by (instance, device) (rate({m('node_disk_reads_completed_total')}[{RI}]))",
              "{{instance}} {{device}} reads"),
            q(f"sum by (instance, device) (rate({m('node_disk_writes_completed_total')}[{RI}]))",
              "{{instance}} {{device}} writes"),
        ], "iops", minimum=0),
        timeseries("Inodes used", [q(
            f"100 * (1 - {m('node_filesystem_files_free', REAL_FS)} / ({m('node_filesystem_files', REAL_FS)} > 0))",
            "{{instance}} {{mountpoint}}")], "percent", minimum=0, maximum=100),
        row("Network"),
        timeseries("Network traffic", [
            q(f"sum by (instance, device) (rate({m('node_network_receive_bytes_total', net)}[{RI}]))",
              "{{instance}} {{device}} in"),
            q(f"-sum by (instance, device) (rate({m('node_network_transmit_bytes_total', net)}[{RI}]))",
              "{{instance}} {{device}} out"),
        ], "Bps", description="Received up, sent down; loopback and virtual bridges left out."),
        timeseries("Network errors and drops", [
            q(f"sum by (instance, device) (rate({m('node_network_receive_errs_total', net)}[{RI}])"
              f" + rate({m('node_network_transmit_errs_total', net)}[{RI}]))", "{{instance}} {{device}} errors"),
            q(f"sum by (instance, device) (rate({m('node_network_receive_drop_total', net)}[{RI}])"
              f" + rate({m('node_network_transmit_drop_total', net)}[{RI}]))", "{{instance}} {{device}} drops"),
        ], "pps", minimum=0),
    ]
    return dashboard("mingus-host-health", "Mingus / Host health",
                     "CPU, memory, disks, file systems, network and load of every host, from the agent's "
                     "node_* metrics (node_exporter's names: works on node_exporter too).",
                     ["hosts", "node"], panels)


def rate(name, matchers="", window=RI):
    return f"rate({m(name, matchers)}[{window}])"


def increase(name, matchers="", window=RANGE):
    return f"increase({m(name, matchers)}[{window}])"


ERR = 'status=~"5.."'
LE1 = 'le="1"'


def api_performance():
    req = "mingus_api_requests_total"
    dur = "mingus_api_request_duration_seconds"

    def quantile(phi, by="", window=RI):
        return f"histogram_quantile({phi}, sum by ({by + ', ' if by else ''}le) ({rate(dur + '_bucket', window=window)}))"
    panels = [
        row("Overview (the dashboard's time range)"),
        stat("Requests", [q(f"sum(increase({m(req)}[{RANGE}]))", "requests")], "short", decimals=0,
             calc="lastNotNull", description="API requests in the time range (as total_requests)."),
        stat("Request rate", [q(f"sum(rate({m(req)}[{RI}]))", "req/s")], "reqps"),
        stat("Error rate (5xx)", [q(
            f"(sum(increase({m(req, ERR)}[{RANGE}])) or vector(0)) / sum(increase({m(req)}[{RANGE}]))", "5xx")],
            "percentunit", thresholds=API_ERROR_STEPS, description="Share of requests answered 5xx (as error_rate)."),
        stat("Average response time", [q(
            f"sum(increase({m(dur + '_sum')}[{RANGE}])) / sum(increase({m(dur + '_count')}[{RANGE}]))", "avg")],
            "s", thresholds=API_TIME_STEPS, description="As avg_response_time."),
        stat("p95 response time", [q(
            f"histogram_quantile(0.95, sum by (le) (increase({m(dur + '_bucket')}[{RANGE}])))", "p95")],
            "s", thresholds=API_TIME_STEPS),
        stat("p99 response time", [q(
            f"histogram_quantile(0.99, sum by (le) (increase({m(dur + '_bucket')}[{RANGE}])))", "p99")],
            "s", thresholds=API_TIME_STEPS),
        row("Traffic"),
        timeseries("Requests per second by endpoint", [q(
            f"sum by (endpoint, method) (rate({m(req)}[{RI}]))", "{{method}} {{endpoint}}")], "reqps",
            stack=True, minimum=0),
        timeseries("Requests per second by status", [q(
            f"sum by (status) (rate({m(req)}[{RI}]))", "{{status}}")], "reqps", stack=True, minimum=0),
        row("Errors"),
        timeseries("Error rate (5xx)", [q(
            f"(sum(rate({m(req, ERR)}[{RI}])) or vector(0)) / sum(rate({m(req)}[{RI}]))", "all endpoints")],
            "percentunit", minimum=0, thresholds=API_ERROR_STEPS),
        timeseries("Error rate by endpoint", [q(
            f"sum by (endpoint, method) (rate({m(req, ERR)}[{RI}])) / sum by (endpoint, method) (rate({m(req)}[{RI}]))",
            "{{method}} {{endpoint}}")], "percentunit", minimum=0,
            description="Endpoints that answered 5xx in the window; others have no line."),
        timeseries("5xx per second by endpoint", [q(
            f"sum by (endpoint, method) (rate({m('mingus_api_errors_total')}[{RI}]))", "{{method}} {{endpoint}}")],
            "reqps", minimum=0),
        row("Latency"),
        timeseries("Latency p50 / p95 / p99 (all endpoints)", [
            q(quantile(0.5), "p50"), q(quantile(0.95), "p95"), q(quantile(0.99), "p99"),
            q(f"sum(rate({m(dur + '_sum')}[{RI}])) / sum(rate({m(dur + '_count')}[{RI}]))", "average"),
        ], "s", minimum=0),
        timeseries("p95 latency by endpoint", [q(quantile(0.95, "endpoint, method"), "{{method}} {{endpoint}}")],
                   "s", minimum=0),
        timeseries("p50 latency by endpoint", [q(quantile(0.5, "endpoint, method"), "{{method}} {{endpoint}}")],
                   "s", minimum=0),
        timeseries("p99 latency by endpoint", [q(quantile(0.99, "endpoint, method"), "{{method}} {{endpoint}}")],
                   "s", minimum=0),
        table("Endpoints (the dashboard's time range)", [
            q(f"sum by (endpoint, method) (increase({m(req)}[{RANGE}]))", instant=True, table=True),
            q(f"sum by (endpoint, method) (increase({m(dur + '_sum')}[{RANGE}])) / "
              f"sum by (endpoint, method) (increase({m(dur + '_count')}[{RANGE}]))", instant=True, table=True),
            q(f"histogram_quantile(0.5, sum by (endpoint, method, le) (increase({m(dur + '_bucket')}[{RANGE}])))",
              instant=True, table=True),
            q(f"histogram_quantile(0.95, sum by (endpoint, method, le) (increase({m(dur + '_bucket')}[{RANGE}])))",
              instant=True, table=True),
            q(f"histogram_quantile(0.99, sum by (endpoint, method, le) (increase({m(dur + '_bucket')}[{RANGE}])))",
              instant=True, table=True),
            q(f"(sum by (endpoint, method) (increase({m(req, ERR)}[{RANGE}])) or "
              f"0 * sum by (endpoint, method) (increase({m(req)}[{RANGE}]))) / "
              f"sum by (endpoint, method) (increase({m(req)}[{RANGE}]))", instant=True, table=True),
        ], renames={"Value #A": "requests", "Value #B": "average", "Value #C": "p50", "Value #D": "p95",
                    "Value #E": "p99", "Value #F": "error rate"},
            units={"average": "s", "p50": "s", "p95": "s", "p99": "s", "error rate": "percentunit"},
            sort_by="p95", h=10,
            description="Per endpoint and method, as /api/monitoring/performance's endpoints."),
    ]
    return dashboard("mingus-api", "Mingus / API performance",
                     "Request rate, errors and latency per endpoint from the agent's api events "
                     "(mingus_api_requests_total, mingus_api_request_duration_seconds).",
                     ["api", "performance"], panels)


def database():
    dur = "mingus_db_query_duration_seconds"
    by = "operation, table"

    def quantile(phi, group="", window=RI, func="rate"):
        return (f"histogram_quantile({phi}, sum by ({group + ', ' if group else ''}le) "
                f"({func}({m(dur + '_bucket')}[{window}])))")
    slow_range = f"sum(increase({m(dur + '_count')}[{RANGE}])) - sum(increase({m(dur + '_bucket', LE1)}[{RANGE}]))"
    fp_time = f"sum by (fingerprint) (increase({m('mingus_db_fingerprint_seconds_total')}[{RANGE}]))"
    fp_calls = f"sum by (fingerprint) (increase({m('mingus_db_fingerprint_calls_total')}[{RANGE}]))"
    panels = [
        row("Overview (the dashboard's time range)"),
        stat("Queries", [q(f"sum(increase({m(dur + '_count')}[{RANGE}]))", "queries")], decimals=0,
             description="As total_queries."),
        stat("Queries per second", [q(f"sum(rate({m(dur + '_count')}[{RI}]))", "q/s")], "ops"),
        stat("Average execution time", [q(
            f"sum(increase({m(dur + '_sum')}[{RANGE}])) / sum(increase({m(dur + '_count')}[{RANGE}]))", "avg")],
            "s", thresholds=DB_TIME_STEPS, description="As avg_execution_time."),
        stat("p95 execution time", [q(quantile(0.95, window=RANGE, func="increase"), "p95")], "s",
             thresholds=DB_TIME_STEPS),
        stat("Slow queries (> 1 s)", [q(slow_range, "slow")], decimals=0, thresholds=SLOW_QUERY_STEPS,
             description="Queries slower than 1 s in the time range (as slow_queries)."),
        stat("Rows per second", [q(f"sum(rate({m('mingus_db_query_rows_total')}[{RI}]))", "rows/s")], "short"),
        row("Queries by operation and table"),
        timeseries("Queries per second", [q(
            f"sum by ({by}) (rate({m(dur + '_count')}[{RI}]))", "{{operation}} {{table}}")], "ops",
            stack=True, minimum=0),
        timeseries("p95 execution time", [q(quantile(0.95, by), "{{operation}} {{table}}")], "s", minimum=0),
        timeseries("Average execution time", [q(
            f"sum by ({by}) (rate({m(dur + '_sum')}[{RI}])) / sum by ({by}) (rate({m(dur + '_count')}[{RI}]))",
            "{{operation}} {{table}}")], "s", minimum=0),
        timeseries("Execution time p50 / p95 / p99 (all queries)", [
            q(quantile(0.5), "p50"), q(quantile(0.95), "p95"), q(quantile(0.99), "p99")], "s", minimum=0),
        timeseries("Slow queries (> 1 s) per second", [q(
            f"sum by ({by}) (rate({m(dur + '_count')}[{RI}])) - sum by ({by}) (rate({m(dur + '_bucket', LE1)}[{RI}]))",
            "{{operation}} {{table}}")], "ops", minimum=0,
            description="All queries minus those in the le=\"1\" bucket, as the MingusDbSlowQueries rule."),
        timeseries("Rows per second", [q(
            f"sum by ({by}) (rate({m('mingus_db_query_rows_total')}[{RI}]))", "{{operation}} {{table}}")],
            "short", minimum=0),
        row("Costliest query fingerprints"),
        table("Query fingerprints (the dashboard's time range)", [
            q(f"topk(20, {fp_time})", instant=True, table=True),
            q(fp_calls, instant=True, table=True),
            q(f"{fp_time} / {fp_calls}", instant=True, table=True),
            q(f"sum by (fingerprint) (increase({m('mingus_db_fingerprint_rows_total')}[{RANGE}]))",
              instant=True, table=True),
        ], renames={"Value #A": "total time", "Value #B": "calls", "Value #C": "average", "Value #D": "rows"},
            units={"total time": "s", "average": "s"}, sort_by="total time", h=10,
            description="The agent keeps the costliest fingerprints (by total time); as slowest_queries."),
    ]
    return dashboard("mingus-database", "Mingus / Database",
                     "Query rate, execution time and slow queries by operation and table, and the "
                     "costliest query fingerprints, from the agent's db events.",
                     ["database", "performance"], panels)


def business_ux():
    nps = "mingus_feedback_rating_bucket"

    def nps_bucket(le):
        return f'sum(increase({m(nps, "kind=" + chr(34) + "nps" + chr(34) + ", le=" + chr(34) + le + chr(34))}[{RANGE}]))'
    panels = [
        row("Users and engagement"),
        stat("Active users today", [q(f"sum({m('mingus_active_users', 'window=' + chr(34) + 'day' + chr(34))})",
                                      "users")], decimals=0,
             description="Distinct users each agent saw today (UTC), estimated; summed over instances, so a "
                         "user seen by two instances counts twice."),
        stat("Engagement actions per second", [q(f"sum(rate({m('mingus_engagement_actions_total')}[{RI}]))",
                                                 "actions/s")], "ops"),
        stat("Average rating", [q(
            f"sum(increase({m('mingus_feedback_rating_sum')}[{RANGE}])) / "
            f"sum(increase({m('mingus_feedback_rating_count')}[{RANGE}]))", "rating")], decimals=2,
            description="All feedback kinds together (NPS 0-10, CSAT 1-5): see the panel by kind."),
        stat("Net promoter score", [q(
            f"100 * ({nps_bucket('+Inf')} - {nps_bucket('8')} - {nps_bucket('6')}) / {nps_bucket('+Inf')}", "NPS")],
            decimals=0, thresholds=[(None, "red"), (0, "orange"), (30, "green")],
            description="Share of promoters (9-10) minus share of detractors (0-6) among kind=\"nps\" ratings."),
        stat("Cache hit ratio", [q(
            f"sum(rate({m('mingus_cache_requests_total', 'result=' + chr(34) + 'hit' + chr(34))}[{RI}])) / "
            f"sum(rate({m('mingus_cache_requests_total')}[{RI}]))", "hit ratio")], "percentunit",
            thresholds=[(None, "red"), (0.5, "orange"), (0.8, "green")]),
        stat("Data source ROI", [q(
            f"sum(increase({m('mingus_data_source_value_total')}[{RANGE}])) / "
            f"sum(increase({m('mingus_data_source_cost_total')}[{RANGE}]))", "value / cost")], decimals=2,
            thresholds=[(None, "red"), (1, "green")], description="Value attributed over cost, all sources."),
        timeseries("Engagement actions per second", [q(
            f"sum by (action) (rate({m('mingus_engagement_actions_total')}[{RI}]))", "{{action}}")], "ops",
            stack=True, minimum=0),
        timeseries("Average usage time per action", [q(
            f"sum by (action) (rate({m('mingus_engagement_usage_seconds_total')}[{RI}])) / "
            f"sum by (action) (rate({m('mingus_engagement_actions_total')}[{RI}]))", "{{action}}")], "s", minimum=0),
        row("Business figures (the collector's event store)"),
        stat("Active users: today, 7 and 30 days", [q(
            f"max by (window) ({m('mingus_bi_active_users')})", "{{window}}")], decimals=0, w=8,
            description="Distinct users with an event today (1d) and in the 7 and 30 days ending today (UTC), "
                        "counted exactly by the collector from the events it pulled (docs/insights.md)."),
        stat("Stickiness (DAU / MAU)", [q(f"max({m('mingus_bi_stickiness_ratio')})", "stickiness")],
             "percentunit", description="Today's active users over the last 30 days'."),
        stat("Registrations today", [q(f"max({m('mingus_bi_registrations_today')})", "users")], decimals=0,
             description="Users whose first event was today (UTC)."),
        stat("NPS, last 30 days", [q(f"max({m('mingus_bi_net_promoter_score')})", "NPS")], decimals=0,
             thresholds=[(None, "red"), (0, "orange"), (30, "green")],
             description="From the collector's event store: percent promoters (9-10) minus percent "
                         "detractors (0-6); NaN without ratings."),
        stat("CSAT, last 30 days", [q(f"max({m('mingus_bi_csat_ratio')})", "CSAT")], "percentunit",
             thresholds=[(None, "red"), (0.6, "orange"), (0.8, "green")],
             description="Share of CSAT ratings of 4 or 5; NaN without ratings."),
        timeseries("Active users (collector)", [q(
            f"max by (window) ({m('mingus_bi_active_users')})", "{{window}}")], minimum=0, w=24),
        row("Features"),
        timeseries("Feature uses per second", [q(
            f"sum by (feature) (rate({m('mingus_feature_usage_total')}[{RI}]))", "{{feature}}")], "ops",
            stack=True, minimum=0),
        bargauge("Feature users today", [q(f"sum by (feature) ({m('mingus_feature_users')})", "{{feature}}")],
                 minimum=0, description="Distinct users per feature today (UTC), estimated, summed over instances."),
        timeseries("Time in feature per use", [q(
            f"sum by (feature) (rate({m('mingus_feature_usage_seconds_total')}[{RI}])) / "
            f"sum by (feature) (rate({m('mingus_feature_usage_total')}[{RI}]))", "{{feature}}")], "s", minimum=0),
        timeseries("Score calculation time (p95)", [
            q(f"histogram_quantile(0.95, sum by (score, le) (rate({m('mingus_score_duration_seconds_bucket')}[{RI}])))",
              "{{score}} p95"),
        ], "s", minimum=0),
        row("Feedback"),
        bargauge("Average rating by kind", [q(
            f"sum by (kind) (increase({m('mingus_feedback_rating_sum')}[{RANGE}])) / "
            f"sum by (kind) (increase({m('mingus_feedback_rating_count')}[{RANGE}]))", "{{kind}}")],
            minimum=0, maximum=10, thresholds=[(None, "red"), (3, "orange"), (4, "green")]),
        bargauge("Rating distribution (NPS)", [q(
            f'sum by (le) (increase({m(nps, "kind=" + chr(34) + "nps" + chr(34))}[{RANGE}]))', "≤ {{le}}")],
            minimum=0, description="Cumulative: ratings at or below each value in the time range."),
        row("Experiments"),
        bargauge("Conversion rate by variant", [q(
            f"sum by (experiment, variant) (increase({m('mingus_experiment_conversions_total')}[{RANGE}])) / "
            f"sum by (experiment, variant) (increase({m('mingus_experiment_exposures_total')}[{RANGE}]))",
            "{{experiment}} {{variant}}")], "percentunit", minimum=0,
            description="Conversions per exposure in the time range. Significance: the collector's UX report."),
        timeseries("Exposures and conversions per second", [
            q(f"sum by (experiment, variant) (rate({m('mingus_experiment_exposures_total')}[{RI}]))",
              "{{experiment}} {{variant}} exposures"),
            q(f"sum by (experiment, variant) (rate({m('mingus_experiment_conversions_total')}[{RI}]))",
              "{{experiment}} {{variant}} conversions"),
        ], "ops", minimum=0),
        row("UX interactions"),
        bargauge("Page views (funnel)", [q(
            f'sum by (page) (increase({m("mingus_ux_interactions_total", "event_type=" + chr(34) + "view" + chr(34))}[{RANGE}]))',
            "{{page}}")], minimum=0, description="Views per page in the time range."),
        table("Most clicked elements", [q(
            f'topk(15, sum by (page, element) (increase({m("mingus_ux_interactions_total", "event_type=" + chr(34) + "click" + chr(34))}[{RANGE}])))',
            instant=True, table=True)], renames={"Value": "clicks"}, sort_by="clicks", w=12),
        timeseries("Interactions per second by page and type", [q(
            f"sum by (page, event_type) (rate({m('mingus_ux_interactions_total')}[{RI}]))",
            "{{page}} {{event_type}}")], "ops", minimum=0),
        row("Cache and data sources"),
        timeseries("Cache hit ratio by cache", [q(
            f"sum by (cache) (rate({m('mingus_cache_requests_total', 'result=' + chr(34) + 'hit' + chr(34))}[{RI}])) / "
            f"sum by (cache) (rate({m('mingus_cache_requests_total')}[{RI}]))", "{{cache}}")], "percentunit",
            minimum=0, maximum=1),
        timeseries("Data source cost and value per second", [
            q(f"sum by (source) (rate({m('mingus_data_source_cost_total')}[{RI}]))", "{{source}} cost"),
            q(f"sum by (source) (rate({m('mingus_data_source_value_total')}[{RI}]))", "{{source}} value"),
        ], "short", minimum=0),
        bargauge("ROI by data source", [q(
            f"sum by (source) (increase({m('mingus_data_source_value_total')}[{RANGE}])) / "
            f"sum by (source) (increase({m('mingus_data_source_cost_total')}[{RANGE}]))", "{{source}}")],
            minimum=0, thresholds=[(None, "red"), (1, "green")], description="Value over cost in the time range."),
        timeseries("User metrics (median and p90 per instance)", [q(
            f'max by (metric, quantile) ({m("mingus_user_metric_value", "quantile=~" + chr(34) + "0.5|0.9" + chr(34))})',
            "{{metric}} q{{quantile}}")], minimum=0),
    ]
    return dashboard("mingus-business-ux", "Mingus / Business and UX",
                     "Engagement, feature use, feedback, experiments, UX interactions, cache hit ratio and "
                     "data source ROI, as far as the agent's metrics carry them (the collector's BI and UX "
                     "reports go further: retention, funnels per session, significance).",
                     ["business", "ux"], panels, time_from="now-6h", refresh="1m")


def alerts():
    alerts_ = "ALERTS"
    firing, pending = 'alertstate="firing"', 'alertstate="pending"'
    panels = [
        row("Alerts (every job: rules need not keep job and instance)"),
        stat("Firing", [q(f"count(ALERTS{{{firing}}}) or vector(0)", "firing")], decimals=0, graph=False,
             thresholds=[(None, "green"), (1, "red")], color_mode="background"),
        stat("Pending", [q(f"count(ALERTS{{{pending}}}) or vector(0)", "pending")], decimals=0, graph=False,
             thresholds=[(None, "green"), (1, "orange")], color_mode="background"),
        bargauge("Firing by severity", [q(f"count by (severity) (ALERTS{{{firing}}})", "{{severity}}")],
                 w=8, h=4, minimum=0, thresholds=[(None, "orange")]),
        bargauge("Pending by severity", [q(f"count by (severity) (ALERTS{{{pending}}})", "{{severity}}")],
                 w=8, h=4, minimum=0, thresholds=[(None, "yellow")]),
        timeseries("Active alerts by severity and state", [q(
            f"count by (severity, alertstate) ({alerts_})", "{{severity}} {{alertstate}}")], minimum=0,
            stack=True, w=24),
        table("Active alerts", [q(alerts_, instant=True, table=True)],
              exclude=("Time", "Value", "__name__"), h=8),
        row("Agents"),
        stat("Agents up", [q(f"sum(up{{{SEL}}})", "up")], decimals=0, graph=False,
             description="Targets of the selected jobs whose last scrape succeeded."),
        timeseries("Datagrams and lines received per second", [
            q(f"sum by (instance) (rate({m('mingus_agent_udp_datagrams_total')}[{RI}]))", "{{instance}} datagrams"),
            q(f"sum by (instance, format) (rate({m('mingus_agent_lines_total')}[{RI}]))",
              "{{instance}} {{format}} lines"),
        ], "ops", minimum=0, w=10),
        timeseries("Parse errors per second by reason", [q(
            f"sum by (reason) (rate({m('mingus_agent_parse_errors_total')}[{RI}]))", "{{reason}}")], "ops",
            minimum=0, w=10),
        timeseries("Dropped: series over the cap, kernel UDP drops, spool", [
            # No series until the cap drops one (labelled by metric): 0 for every agent until then.
            q(f"sum by (instance) (rate({m('mingus_agent_series_dropped_total')}[{RI}])) or "
              f"0 * sum by (instance) ({m('mingus_agent_udp_datagrams_total')})", "{{instance}} series"),
            q(f"sum by (instance) (rate({m('mingus_agent_udp_kernel_drops_total')}[{RI}]))", "{{instance}} UDP"),
            q(f"sum by (instance) (rate({m('mingus_agent_spool_dropped_events_total')}[{RI}]))",
              "{{instance}} spooled events"),
        ], "ops", minimum=0),
        timeseries("Event spool", [
            q(f"max by (instance) ({m('mingus_agent_spool_events')})", "{{instance}} events"),
        ], minimum=0),
        timeseries("Host collector time", [q(
            f"max by (instance, collector) ({m('mingus_agent_scrape_collector_duration_seconds')})",
            "{{instance}} {{collector}}")], "s", minimum=0),
        timeseries("Resident memory (agents and collectors)", [q(
            f"max by (job, instance) ({m('process_resident_memory_bytes')})", "{{job}} {{instance}}")], "bytes",
            minimum=0),
        timeseries("CPU used (agents and collectors)", [q(
            f"sum by (job, instance) (rate({m('process_cpu_seconds_total')}[{RI}]))", "{{job}} {{instance}}")],
            "percentunit", minimum=0),
        row("Collector"),
        stat("Targets up", [q(f"sum({m('mingus_collector_targets_up')}) / sum({m('mingus_collector_targets')})",
                              "up")], "percentunit", graph=False,
             thresholds=[(None, "red"), (0.99, "orange"), (1, "green")]),
        stat("Series in memory", [q(f"sum({m('mingus_collector_head_series')})", "series")], decimals=0),
        stat("Samples appended per second", [q(
            f"sum(rate({m('mingus_collector_head_samples_appended_total')}[{RI}]))", "samples/s")], "ops"),
        stat("Store on disk", [q(f"sum({m('mingus_collector_store_bytes')})", "bytes")], "bytes"),
        stat("Config reload", [q(f"min({m('mingus_collector_config_last_reload_successful')})", "ok")],
             graph=False, thresholds=[(None, "red"), (1, "green")],
             description="1 when the last configuration (re)load succeeded."),
        stat("Rule evaluation failures", [q(
            f"sum(increase({m('mingus_collector_rule_evaluation_failures_total')}[{RANGE}])) or vector(0)",
            "failures")], decimals=0, thresholds=[(None, "green"), (1, "red")]),
        timeseries("Rule group evaluation time", [q(
            f"max by (rule_group) ({m('mingus_collector_rule_group_last_duration_seconds')})", "{{rule_group}}")],
            "s", minimum=0),
        timeseries("Scrape and query time", [
            q(f"sum(rate({m('mingus_collector_scrape_duration_seconds_sum')}[{RI}])) / "
              f"sum(rate({m('mingus_collector_scrape_duration_seconds_count')}[{RI}]))", "average scrape"),
            q(f"sum by (endpoint) (rate({m('mingus_collector_query_duration_seconds_sum')}[{RI}])) / "
              f"sum by (endpoint) (rate({m('mingus_collector_query_duration_seconds_count')}[{RI}]))",
              "average query {{endpoint}}"),
        ], "s", minimum=0),
        timeseries("Dashboard API cache", [q(
            f"sum by (result) (rate({m('mingus_collector_dashboard_cache_requests_total')}[{RI}]))", "{{result}}")],
            "ops", minimum=0),
    ]
    return dashboard("mingus-alerts", "Mingus / Alerts and self-monitoring",
                     "Firing and pending alerts (the ALERTS series of Prometheus or the collector) by "
                     "severity, and the agents' and collector's own metrics.",
                     ["alerts", "self-monitoring"], panels, refresh="30s")


DASHBOARDS = {
    "host-health.json": host_health,
    "api-performance.json": api_performance,
    "database.json": database,
    "business-ux.json": business_ux,
    "alerts.json": alerts,
}


def render(build):
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a JSON file differs from what "
                        "this script writes; write nothing")
    args = parser.parse_args()
    stale = []
    for name, build in DASHBOARDS.items():
        path = os.path.join(HERE, name)
        text = render(build)
        try:
            with open(path, encoding="utf-8") as f:
                current = f.read()
        except FileNotFoundError:
            current = None
        if current == text:
            continue
        stale.append(name)
        if not args.check:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
    if args.check and stale:
        print("out of date (run dashboards/generate.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    for name in stale:
        print(f"wrote dashboards/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
