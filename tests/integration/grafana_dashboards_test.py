#!/usr/bin/python3
"""The Grafana dashboards of dashboards/ (issue 7, acceptance 3).

- Structure of every dashboard: the JSON is what dashboards/generate.py writes; uid, title,
  tags, time range, refresh and schemaVersion; the DS_PROMETHEUS input and the datasource,
  job and instance variables; unique panel ids, a grid inside 24 columns without overlaps;
  every panel and target has the data source, every target a unique refId and only known
  variables; every node_*/mingus_* selector is filtered by job and instance. The provisioning
  YAML points Grafana at this folder and at a Prometheus data source.
- Every panel query against real data: a real agent receives demo traffic
  (tests/integration/demo_traffic.py); a real Prometheus and a real collector both scrape it
  (and the collector) every second and evaluate a test rule file whose alerts fire or stay
  pending on that traffic, so ALERTS has data. Then every target expression of every dashboard
  (variables replaced as Grafana does with "All" selected, $__rate_interval, $__interval and
  $__range by fixed durations) is run at the same instant on Prometheus' and the collector's
  /api/v1/query: Prometheus must return data, and the collector the same series (the same
  label sets; values differ with scrape timing); time series panels' range queries get data
  from the collector too. The job and instance variable queries (label_values over up) give
  the same values on both. Then again with one agent selected instead of All: the same
  series on both (data not required: the collector's own panels have none for an agent).
  The demo traffic generator is deterministic per seed.
- Type check: each dashboard JSON, wrapped as a typed TypeScript constant
  (tests/grafana/wrap-dashboards.mjs), passes `tsc --noEmit` against Grafana's published
  types (@grafana/schema, tests/grafana/dashboard-types.ts), installed with `npm ci` from
  tests/grafana/package-lock.json into --work-dir; deliberately broken copies each fail.

Usage: /usr/bin/python3 tests/integration/grafana_dashboards_test.py --agent build/agent/mingus-agent
         --collector build/collector/mingus-collector [--work-dir build/tests/grafana-types]
         [--skip-typecheck] [--traffic-seconds 15]
"""

import glob
import json
import math
import os
import re
import shutil
import subprocess
import threading
import time
import urllib.parse

import harness as h
import demo_traffic

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DASHBOARDS = os.path.join(ROOT, "dashboards")
TYPES_SRC = os.path.join(ROOT, "tests", "grafana")
SCHEMA_VERSION = 42
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "5m"}
KNOWN_VARIABLES = {"$job", "$instance", *GRAFANA_VARIABLES}
AGENT_JOB, COLLECTOR_JOB = "mingus-agent", "mingus-collector"

TEST_RULES = """\
groups:
  - name: grafana-dashboard-test
    interval: 1s
    rules:
      - alert: DemoApiErrors
        expr: sum by (job) (increase(mingus_api_requests_total{status=~"5.."}[10m])) > 0
        labels: {severity: critical, category: performance}
        annotations: {summary: The demo traffic has 5xx answers}
      - alert: DemoSlowQueries
        expr: sum by (job) (increase(mingus_db_query_duration_seconds_count[10m])) - sum by (job) (increase(mingus_db_query_duration_seconds_bucket{le="1"}[10m])) > 0
        labels: {severity: medium, category: performance}
        annotations: {summary: Some demo queries took over a second}
      - alert: DemoTrafficFlowing
        expr: sum by (job, instance) (increase(mingus_agent_lines_total[10m])) > 0
        for: 1h
        labels: {severity: high, category: data_quality}
        annotations: {summary: "Pending for an hour: ALERTS has a pending series"}
"""


# ---------------------------------------------------------------------------- helpers

def load_dashboards():
    out = {}
    for path in sorted(glob.glob(os.path.join(DASHBOARDS, "*.json"))):
        with open(path, encoding="utf-8") as f:
            out[os.path.basename(path)] = json.load(f)
    return out


def panels_of(dashboard):
    """Every panel, rows' nested panels included (rows themselves too)."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def targets_of(dashboard):
    """(panel, target) for every query target of every panel."""
    for panel in panels_of(dashboard):
        for target in panel.get("targets", []):
            yield panel, target


def promql_escape_regex(value):
    """A label value as Grafana's Prometheus data source puts it into a regex matcher: regex
    metacharacters escaped, the backslash doubled for the PromQL string literal."""
    return re.sub(r'([\\^$*+?.()|{}\[\]])', r'\\\\\1', value)


def all_values(values):
    """A multi-value variable with All selected, as Grafana interpolates it: (a|b|c)."""
    return "(" + "|".join(promql_escape_regex(v) for v in sorted(values)) + ")"


def substitute(expr, variables):
    # Longest names first: $__rate_interval before $__range... and $instance before $in...
    for name in sorted(variables, key=len, reverse=True):
        expr = expr.replace(name, variables[name])
    return expr


def api(server, path, **params):
    """GET a Prometheus-API path with params (lists repeat the key); returns data."""
    query = urllib.parse.urlencode(params, doseq=True)
    response = server.get(f"{path}?{query}")
    body = json.loads(response.text())
    if response.status != 200 or body.get("status") != "success":
        raise AssertionError(f"{path} {params}: HTTP {response.status}: {str(body)[:300]}")
    return body["data"]


def instant(server, expr, at):
    data = api(server, "/api/v1/query", query=expr, time=f"{at:.3f}")
    if data["resultType"] == "scalar":
        return {frozenset(): data["result"][1]}
    return {frozenset(r["metric"].items()): r["value"][1] for r in data["result"]}


def describe(label_sets, limit=4):
    shown = [h.format_series(("", labels)) for labels in sorted(label_sets, key=sorted)[:limit]]
    more = f" and {len(label_sets) - limit} more" if len(label_sets) > limit else ""
    return ", ".join(shown) + more


# ---------------------------------------------------------------------------- structure

def check_structure(checks, dashboards):
    proc = subprocess.run(["/usr/bin/python3", os.path.join(DASHBOARDS, "generate.py"), "--check"],
                          capture_output=True, text=True, timeout=60)
    checks.check("dashboards/*.json are what dashboards/generate.py writes", proc.returncode == 0,
                 proc.stderr.strip())
    checks.check("five dashboards", set(dashboards) == {
        "host-health.json", "api-performance.json", "database.json", "business-ux.json", "alerts.json"},
        str(sorted(dashboards)))
    uids = [d.get("uid") for d in dashboards.values()]
    checks.check("dashboard uids are unique", len(set(uids)) == len(uids), str(uids))
    for name, d in dashboards.items():
        checks.run(f"{name}: structure", lambda d=d: check_dashboard(d))


def check_dashboard(d):
    problems = []

    def expect(ok, what):
        if not ok:
            problems.append(what)
    expect(isinstance(d.get("uid"), str) and re.fullmatch(r"[A-Za-z0-9_-]{1,40}", d["uid"]), "uid")
    expect(d.get("title", "").startswith("Mingus / "), "title")
    expect("mingus" in d.get("tags", []), "tag mingus")
    expect(d.get("schemaVersion") == SCHEMA_VERSION, f"schemaVersion {SCHEMA_VERSION}")
    expect(d.get("time", {}).get("to") == "now" and d["time"].get("from", "").startswith("now-"), "time range")
    expect(re.fullmatch(r"\d+[smh]", d.get("refresh", "")), "refresh")
    expect(d.get("id") is None, "id null (Grafana assigns it)")
    inputs = d.get("__inputs", [])
    expect([(i["name"], i["type"], i.get("pluginId")) for i in inputs]
           == [("DS_PROMETHEUS", "datasource", "prometheus")], "__inputs: DS_PROMETHEUS")
    variables = {v["name"]: v for v in d.get("templating", {}).get("list", [])}
    ds = variables.get("datasource", {})
    expect(ds.get("type") == "datasource" and ds.get("query") == "prometheus"
           and ds.get("current", {}).get("value") == "${DS_PROMETHEUS}", "datasource variable")
    job, inst = variables.get("job", {}), variables.get("instance", {})
    expect(job.get("type") == "query" and job.get("query") == "label_values(up, job)", "job variable")
    expect(inst.get("type") == "query" and inst.get("query") == 'label_values(up{job=~"$job"}, instance)',
           "instance variable")
    for v in (job, inst):
        expect(v.get("datasource") == {"type": "prometheus", "uid": "${datasource}"}
               and v.get("multi") and v.get("includeAll"), f"variable {v.get('name')}: data source, multi, All")
    panels = list(panels_of(d))
    ids = [p.get("id") for p in panels]
    expect(all(isinstance(i, int) for i in ids) and len(set(ids)) == len(ids), f"unique panel ids {ids}")
    cells = set()
    for p in panels:
        g = p.get("gridPos", {})
        expect(g.get("x", -1) >= 0 and g.get("w", 0) > 0 and g["x"] + g["w"] <= 24 and g.get("h", 0) > 0,
               f"panel {p.get('id')}: gridPos within 24 columns")
        mine = {(x, y) for x in range(g.get("x", 0), g.get("x", 0) + g.get("w", 0))
                for y in range(g.get("y", 0), g.get("y", 0) + g.get("h", 0))}
        expect(not cells & mine, f"panel {p.get('id')} overlaps another")
        cells |= mine
        expect(p.get("title"), f"panel {p.get('id')}: title")
        if p.get("type") == "row":
            continue
        expect(p.get("datasource") == {"type": "prometheus", "uid": "${datasource}"},
               f"panel {p['id']}: datasource ${{datasource}}")
        targets = p.get("targets", [])
        expect(targets, f"panel {p['id']}: targets")
        refs = [t.get("refId") for t in targets]
        expect(all(refs) and len(set(refs)) == len(refs), f"panel {p['id']}: unique refIds")
        for t in targets:
            expect(t.get("datasource") == p.get("datasource"), f"panel {p['id']} {t.get('refId')}: datasource")
            expr = t.get("expr", "")
            expect(expr.strip(), f"panel {p['id']} {t.get('refId')}: expr")
            unknown = set(re.findall(r"\$\w+", expr)) - KNOWN_VARIABLES
            expect(not unknown, f"panel {p['id']}: unknown variables {unknown}")
            for selector in re.findall(r"\b((?:node|mingus|process)_\w+)(\{[^}]*\})?", expr):
                expect('job=~"$job"' in selector[1] and 'instance=~"$instance"' in selector[1],
                       f"panel {p['id']}: {selector[0]} not filtered by job and instance")
    if problems:
        raise AssertionError("; ".join(problems))


def check_provisioning(checks):
    try:
        import yaml  # python3-yaml
    except ImportError:
        checks.check("python3-yaml is installed", False)
        return
    path = os.path.join(DASHBOARDS, "provisioning")

    def dashboards_yaml():
        with open(os.path.join(path, "dashboards.yaml"), encoding="utf-8") as f:
            doc = yaml.safe_load(f)
        assert doc["apiVersion"] == 1, doc
        provider = doc["providers"][0]
        assert provider["type"] == "file" and provider["options"]["path"], provider
        assert provider["options"].get("foldersFromFilesStructure") is not True, provider

    def datasources_yaml():
        with open(os.path.join(path, "datasources.yaml"), encoding="utf-8") as f:
            doc = yaml.safe_load(f)
        assert doc["apiVersion"] == 1, doc
        prometheus = [d for d in doc["datasources"] if d["type"] == "prometheus"]
        assert prometheus and prometheus[0]["url"].startswith("http"), doc
    checks.run("provisioning/dashboards.yaml: a file provider", dashboards_yaml)
    checks.run("provisioning/datasources.yaml: a Prometheus data source", datasources_yaml)


# ---------------------------------------------------------------------------- type check

# Deliberately broken copies of a dashboard: each must fail tsc. (file stem, what, change)
def _first(d, kind):
    return next(p for p in panels_of(d) if p.get("type") == kind)


BROKEN = [
    ("broken_variable_type", "a variable of type 'querry'",
     lambda d: d["templating"]["list"][1].update(type="querry")),
    ("broken_stat_option", "a stat panel with colorMode 'rainbow'",
     lambda d: _first(d, "stat")["options"].update(colorMode="rainbow")),
    ("broken_schema_version", "schemaVersion as a string",
     lambda d: d.update(schemaVersion=str(SCHEMA_VERSION))),
    ("broken_target", "a target without refId",
     lambda d: _first(d, "timeseries")["targets"][0].pop("refId")),
    ("broken_legend", "a misspelt legend option",
     lambda d: _first(d, "timeseries")["options"]["legend"].update(placment="bottom")),
    ("broken_grid", "gridPos.w as a string",
     lambda d: _first(d, "timeseries")["gridPos"].update(w="12")),
]


def install_types(work_dir):
    """Copy tests/grafana into work_dir and `npm ci` there unless node_modules already holds
    exactly this package-lock.json. Returns the tsc path."""
    work_dir = os.path.abspath(work_dir)
    os.makedirs(work_dir, exist_ok=True)
    for name in ("package.json", "package-lock.json", "tsconfig.json", "dashboard-types.ts",
                 "wrap-dashboards.mjs"):
        shutil.copyfile(os.path.join(TYPES_SRC, name), os.path.join(work_dir, name))
    stamp = os.path.join(work_dir, "node_modules", ".mingus-lock")
    with open(os.path.join(work_dir, "package-lock.json"), encoding="utf-8") as f:
        lock = f.read()
    tsc = os.path.join(work_dir, "node_modules", ".bin", "tsc")
    try:
        with open(stamp, encoding="utf-8") as f:
            if f.read() == lock and os.path.exists(tsc):
                return tsc
    except FileNotFoundError:
        pass
    proc = subprocess.run(["npm", "ci", "--prefer-offline", "--ignore-scripts", "--no-audit", "--no-fund",
                           "--loglevel=error"], cwd=work_dir,
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"npm ci failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    h.write_file(stamp, lock)
    return tsc


def type_check(work_dir, dashboards):
    """Wrap the dashboards and the broken copies and run tsc once. Returns (tsc exit code,
    {generated file stem: [error lines]}, output)."""
    work_dir = os.path.abspath(work_dir)
    tsc = install_types(work_dir)
    inputs = os.path.join(work_dir, "json")
    generated = os.path.join(work_dir, "generated")
    for d in (inputs, generated):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    paths = [os.path.join(DASHBOARDS, name) for name in dashboards]
    base = json.loads(json.dumps(dashboards["api-performance.json"]))
    for stem, _, change in BROKEN:
        copy = json.loads(json.dumps(base))
        change(copy)
        paths.append(h.write_file(os.path.join(inputs, stem + ".json"), json.dumps(copy, indent=2)))
    subprocess.run(["node", os.path.join(work_dir, "wrap-dashboards.mjs"), generated, *paths],
                   check=True, capture_output=True, text=True, timeout=60)
    proc = subprocess.run([tsc, "--noEmit", "-p", os.path.join(work_dir, "tsconfig.json"), "--pretty", "false"],
                          cwd=work_dir, capture_output=True, text=True, timeout=300)
    output = proc.stdout + proc.stderr
    errors = {}
    for line in output.splitlines():
        m = re.match(r"generated/([\w-]+)\.ts\(\d+,\d+\): error ", line)
        if m:
            errors.setdefault(m.group(1), []).append(line)
        elif ": error " in line:
            errors.setdefault("(elsewhere)", []).append(line)
    return proc.returncode, errors, output


def check_types(checks, work_dir, dashboards, result):
    if "error" in result:
        checks.check("type check ran (npm ci, tsc)", False, result["error"])
        return
    rc, errors, output = result["value"]
    checks.check("tsc: no error outside the generated dashboards", "(elsewhere)" not in errors,
                 "\n".join(errors.get("(elsewhere)", [])[:10]))
    for name in dashboards:
        stem = name.removesuffix(".json")
        checks.check(f"{name} type-checks against @grafana/schema (tsc --noEmit)", stem not in errors,
                     "\n  " + "\n  ".join(errors.get(stem, [])[:5]))
    for stem, what, _ in BROKEN:
        checks.check(f"tsc refuses a broken dashboard: {what}", stem in errors,
                     "no error reported; tsc output:\n" + output[-2000:])
    checks.check("tsc exits non-zero when a dashboard is broken", rc != 0, f"rc {rc}")


# ---------------------------------------------------------------------------- live queries

def collector_config(tmp, agent_target):
    sd = h.write_file(os.path.join(tmp, "self.json"), "[]")
    return h.write_file(os.path.join(tmp, "collector.yaml"), f"""
global: {{scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}}
storage: {{flush_interval: 5s}}
rule_files: ["rules/*.yml"]
scrape_configs:
  - job_name: {AGENT_JOB}
    static_configs: [{{targets: ["{agent_target}"]}}]
  - job_name: {COLLECTOR_JOB}
    file_sd_configs: [{{files: ["{sd}"], refresh_interval: 1s}}]
"""), sd


PROMETHEUS_YML = """\
global: {{scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}}
rule_files: ["{rules}"]
scrape_configs:
  - job_name: {agent_job}
    static_configs: [{{targets: ["{agent}"]}}]
  - job_name: {collector_job}
    static_configs: [{{targets: ["{collector}"]}}]
"""


def firing_and_pending(server):
    alerts = instant(server, "ALERTS", time.time())
    return {(dict(labels)["alertname"], dict(labels)["alertstate"]) for labels in alerts}


WANT_ALERTS = {("DemoApiErrors", "firing"), ("DemoSlowQueries", "firing"), ("DemoTrafficFlowing", "pending")}


def run_live(checks, args, dashboards):
    with h.temp_dir() as tmp, h.start_agent(args.agent) as agent:
        os.makedirs(os.path.join(tmp, "rules"))
        rules = h.write_file(os.path.join(tmp, "rules", "dashboard-test.yml"), TEST_RULES)
        agent_target = agent.base_url.removeprefix("http://")
        config, sd = collector_config(tmp, agent_target)
        with h.start_collector(args.collector, config=config, storage_dir=os.path.join(tmp, "collector")) as coll:
            coll_target = coll.base_url.removeprefix("http://")
            h.write_file(sd + ".tmp", json.dumps([{"targets": [coll_target]}]))
            os.replace(sd + ".tmp", sd)
            prom_yml = h.write_file(os.path.join(tmp, "prometheus.yml"), PROMETHEUS_YML.format(
                rules=rules, agent_job=AGENT_JOB, agent=agent_target, collector_job=COLLECTOR_JOB,
                collector=coll_target))
            tsdb = os.path.join(tmp, "tsdb")
            os.mkdir(tsdb)
            with h.start_prometheus(prom_yml, tsdb) as prom:
                servers = {"prometheus": prom, "collector": coll}
                h.log(f"agent {agent.base_url} (udp {agent.udp_address}), collector {coll.base_url}, "
                      f"prometheus {prom.base_url}")

                def both_scrape_both():
                    return all(len([v for v in instant(s, "up == 1", time.time()).values()]) == 2
                               for s in servers.values())
                h.wait_until(both_scrape_both, timeout=60, interval=0.5,
                             what="Prometheus and the collector to scrape the agent and the collector")

                traffic = demo_traffic.start_in_background(agent.udp_address, rate=args.rate, seed=7)
                time.sleep(args.traffic_seconds)
                stats = traffic.stop()
                h.log(f"demo traffic: {stats}")
                datagrams = h.wait_for_sample(agent, "mingus_agent_udp_datagrams_total", stats.datagrams)[0]
                checks.check("the agent received every demo datagram",
                             h.sample_value(datagrams, "mingus_agent_udp_datagrams_total") == stats.datagrams)
                checks.check("the demo traffic parses without errors", not any(
                    v for (n, _), v in datagrams.items() if n == "mingus_agent_parse_errors_total"))

                def caught_up(server):
                    # The final counts scraped, twice (so every series has two samples since),
                    # and the test alerts in their states.
                    got = instant(server, f'mingus_agent_udp_datagrams_total{{job="{AGENT_JOB}"}} '
                                          f'and mingus_agent_udp_datagrams_total offset 2s', time.time())
                    return (got and all(float(v) == stats.datagrams for v in got.values())
                            and WANT_ALERTS <= firing_and_pending(server))
                for name, server in servers.items():
                    checks.run(f"{name}: scraped the final counts; the test alerts fire and pend",
                               lambda server=server: h.wait_until(lambda: caught_up(server), timeout=30,
                                                                  interval=0.5, what="final data and alerts"))
                time.sleep(1.5)  # both evaluate the rules once more on the final data
                at = time.time()
                check_variables(checks, servers, at)
                jobs = api(prom, "/api/v1/label/job/values", **{"match[]": "up"})
                instances = api(prom, "/api/v1/label/instance/values", **{"match[]": "up"})
                variables = {"$job": all_values(jobs), "$instance": all_values(instances), **GRAFANA_VARIABLES}
                compare_panels(checks, servers, dashboards, variables, at)
                # One agent selected (as Grafana puts a single value): the same series on both,
                # data not required (the collector's own panels have none for an agent).
                agent_only = {"$job": promql_escape_regex(AGENT_JOB),
                              "$instance": promql_escape_regex(agent_target), **GRAFANA_VARIABLES}
                compare_panels(checks, servers, dashboards, agent_only, at, require_data=False)
                checks.check("prometheus exits 0 on SIGTERM", prom.stop() == 0)
            checks.check("collector exits 0 on SIGTERM", coll.stop() == 0)
        checks.run("agent exits 0 on SIGTERM", lambda: h.stop_agent(agent))


def check_variables(checks, servers, at):
    """The job and instance variables' queries, as Grafana sends them (label values API)."""
    window = {"start": f"{at - 300:.3f}", "end": f"{at:.3f}"}
    got = {name: api(s, "/api/v1/label/job/values", **{"match[]": "up"}, **window) for name, s in servers.items()}
    checks.check("job variable: label_values(up, job) the same on both",
                 sorted(got["prometheus"]) == sorted(got["collector"]) == [AGENT_JOB, COLLECTOR_JOB], str(got))
    match = f'up{{job=~"{all_values(got["prometheus"])}"}}'
    got = {name: api(s, "/api/v1/label/instance/values", **{"match[]": match}, **window)
           for name, s in servers.items()}
    checks.check("instance variable: label_values(up{job=~\"$job\"}, instance) the same on both",
                 sorted(got["prometheus"]) == sorted(got["collector"]) and len(got["prometheus"]) == 2, str(got))


def compare_panels(checks, servers, dashboards, variables, at, require_data=True):
    total, differences = 0, []
    selection = "All" if require_data else f"job={variables['$job']}"
    for name, d in dashboards.items():
        for panel, target in targets_of(d):
            expr = substitute(target["expr"], variables)
            label = f"{name} #{panel['id']} '{panel['title']}' {target['refId']} ({selection})"
            total += 1
            try:
                prom = instant(servers["prometheus"], expr, at)
                coll = instant(servers["collector"], expr, at)
            except Exception as e:  # noqa: BLE001
                checks.check(label, False, f"{e}\n    query: {expr}")
                continue
            missing, extra = set(prom) - set(coll), set(coll) - set(prom)
            what = f"data on Prometheus ({len(prom)} series), " if require_data else f"{len(prom)} series, "
            checks.check(f"{label}: {what}the same series on the collector",
                         (prom or not require_data) and not missing and not extra,
                         f"prometheus {len(prom)} series, collector {len(coll)}; only on Prometheus: "
                         f"{describe(missing)}; only on the collector: {describe(extra)}\n    query: {expr}")
            for labels in set(prom) & set(coll):
                a, b = float(prom[labels]), float(coll[labels])
                if math.isfinite(a) and math.isfinite(b):
                    differences.append(abs(a - b) / max(abs(a), abs(b), 1e-12))
            if target.get("range") and require_data:
                # Time series panels ask for a range: the collector answers it with data too.
                try:
                    data = api(servers["collector"], "/api/v1/query_range", query=expr,
                               start=f"{at - 60:.3f}", end=f"{at:.3f}", step="5")
                    checks.check(f"{label}: range query on the collector has data",
                                 data["resultType"] == "matrix" and data["result"], str(data)[:300])
                except Exception as e:  # noqa: BLE001
                    checks.check(f"{label}: range query on the collector has data", False, str(e))
    differences.sort()
    if differences:
        within = sum(d <= 0.1 for d in differences) / len(differences)
        h.log(f"{selection}: {total} panel queries compared; values of the same series on both: median relative "
              f"difference {differences[len(differences) // 2]:.3%}, {within:.0%} within 10% "
              f"(scrape timing and extrapolation differ; not checked)")
    return total


def check_demo_traffic(checks):
    """The generator is deterministic and sends every event type of DESIGN.md."""
    first = demo_traffic.generate_lines(3000, seed=7)
    checks.check("demo traffic: the same seed gives the same lines", first == demo_traffic.generate_lines(3000, seed=7))
    checks.check("demo traffic: another seed gives other lines", first != demo_traffic.generate_lines(3000, seed=8))
    kinds = {json.loads(line)["type"] if line.startswith(b"{") else "statsd" for line in first}
    want = {"api", "db", "score", "engagement", "feature", "feedback", "user_metric", "interaction",
            "experiment", "cache", "data_source", "statsd"}
    checks.check("demo traffic: every event type and StatsD lines", kinds == want, str(sorted(kinds)))
    checks.check("demo traffic: datagrams of whole lines, at most 1400 bytes", all(
        len(d) <= demo_traffic.MAX_DATAGRAM and d.endswith(b"\n") for d in demo_traffic.pack(first)))


def main():
    parser = h.agent_arg_parser(__doc__.splitlines()[0])
    parser.add_argument("--work-dir", default=os.path.join(ROOT, "build", "tests", "grafana-types"),
                        help="where npm ci installs tests/grafana and tsc runs (a build directory)")
    parser.add_argument("--skip-typecheck", action="store_true")
    parser.add_argument("--traffic-seconds", type=float, default=15)
    parser.add_argument("--rate", type=float, default=400, help="demo lines per second")
    args = parser.parse_args()
    if not args.collector:
        parser.error("--collector is required")
    checks = h.Checks()
    dashboards = load_dashboards()
    check_structure(checks, dashboards)
    check_provisioning(checks)
    check_demo_traffic(checks)

    typecheck = {}
    thread = None
    if not args.skip_typecheck:
        def run_tsc():
            try:
                typecheck["value"] = type_check(args.work_dir, dashboards)
            except Exception as e:  # noqa: BLE001 - reported as a failed check
                typecheck["error"] = f"{type(e).__name__}: {e}"
        thread = threading.Thread(target=run_tsc, daemon=True)
        thread.start()  # beside the live part, which mostly waits for traffic and scrapes

    run_live(checks, args, dashboards)
    if thread is not None:
        thread.join(600)
        check_types(checks, args.work_dir, dashboards, typecheck)
    checks.exit()


if __name__ == "__main__":
    main()
