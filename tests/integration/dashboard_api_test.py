#!/usr/bin/python3
"""The monitoring API (/api/monitoring/*) and its live stream end to end: a real agent receives
a known, deterministic set of JSON events over UDP in two phases (A, then B once the collector
has scraped A), reads host figures from a fake procfs this test writes (CPU jiffies rising at
a fixed ratio, a known meminfo, one mount), and a real collector scrapes it every second.

- /performance?hours=X&time=T with the window [t1, T] laid exactly on two scrapes (t1 holding
  phase A, T phases A and B): increase() has nothing to extrapolate, so every count is the
  number of phase-B events, every average and error rate phase B's, and every quantile the
  histogram_quantile of phase B's bucket counts (which must also hold the true quantile of the
  durations sent: the only tolerance a histogram needs).
- /dashboard and /metrics at time=T over their 1 h window: the stored counter values are the
  traffic's (A at the first scrape, A+B at the last), and each figure is what Prometheus'
  extrapolation makes of them (computed here from the stored samples); CPU is the jiffies'
  ratio (50 %), memory the meminfo's (75 %), disk the statfs figures the agent exposed.
- /alerts: firing alerts by severity, a resolved one in the recent history.
- /system-health: the one host with its figures and statuses.
- The documented expressions through /api/v1/query give the same numbers.
- Bad parameters get 400 with a JSON reason; an empty store gives zero counts and unknown.
- The cache returns the same document within cache_ttl and a new one after.
- /api/monitoring/stream: the SSE headers, an event on connect, another after an evaluation.

Usage: /usr/bin/python3 tests/integration/dashboard_api_test.py --agent PATH --collector PATH
"""

import json
import math
import os
import shutil
import socket
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "fixtures")
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, math.inf)
THRESHOLDS = {  # configs/collector.yaml's defaults
    "api_response_time": (0.5, 2), "api_error_rate": (0.01, 0.05),
    "db_execution_time": (0.1, 0.5), "slow_queries": (10, 100),
    "cpu_percent": (70, 90), "memory_percent": (80, 95), "disk_percent": (80, 90)}

# ---------------------------------------------------------------------------- the traffic

# (endpoint, method, status, [durations in ms]) per phase. Every series appears in phase A, so
# that phase B's events all fall between two scrapes.
API = {
    "A": [("/api/users", "GET", 200, [12, 40, 90]),
          ("/api/users", "GET", 503, [800]),
          ("/api/login", "POST", 200, [300, 450]),
          ("/api/login", "POST", 500, [1500]),
          ("/api/reports", "GET", 200, [3000])],
    "B": [("/api/users", "GET", 200, [5, 8, 15, 20, 30, 45, 60, 80, 120, 200, 240, 400, 700, 1200]),
          ("/api/users", "GET", 503, [900, 950]),
          ("/api/login", "POST", 200, [260, 310, 480, 520, 2600]),
          ("/api/login", "POST", 500, [1100, 4000, 7000]),
          ("/api/reports", "GET", 200, [2200, 3300, 6100, 9000])],
}
# (query, operation, table, [durations in ms], rows per query)
DB = {
    "A": [("SELECT * FROM users WHERE id = 1", "select", "users", [2, 30], 1),
          ("INSERT INTO orders (id, total) VALUES (7, 12.5)", "insert", "orders", [15], 1),
          ("UPDATE users SET name = 'x' WHERE id = 3", "update", "users", [1400], 2)],
    "B": [("SELECT * FROM users WHERE id = 9", "select", "users", [1, 3, 4, 7, 9, 20, 40, 80, 700], 1),
          ("INSERT INTO orders (id, total) VALUES (8, 3)", "insert", "orders", [11, 26, 60], 1),
          ("UPDATE users SET name = 'y' WHERE id = 4", "update", "users", [1300, 2700, 3100, 12000], 2)],
}
CPU_TICK = {"user": 3, "system": 1, "idle": 4}  # jiffies added per CPU per tick: 50% busy
MEMINFO = {"MemTotal": 1048576, "MemAvailable": 262144}  # kB: 75% used

RULES = """groups:
  - name: dashboard
    interval: 1s
    rules:
      - alert: AlwaysMedium
        expr: vector(1)
        labels: {severity: medium}
        annotations: {summary: "always on"}
      - alert: ServerErrors
        expr: sum(mingus_api_requests_total{status=~"5.."}) > 0
        labels: {severity: high}
      - alert: NeverCritical
        expr: vector(1) > 2
        labels: {severity: critical}
      - alert: PhaseA
        expr: sum(mingus_db_query_duration_seconds_count) < %d
        labels: {severity: low}
"""


def events(phase):
    lines = []
    for endpoint, method, status, durations in API[phase]:
        lines += [json.dumps({"type": "api", "endpoint": endpoint, "method": method,
                              "status": status, "duration_ms": d}) for d in durations]
    for query, _, _, durations, rows in DB[phase]:
        lines += [json.dumps({"type": "db", "query": query, "duration_ms": d, "rows": rows})
                  for d in durations]
    return [line.encode() for line in lines]


def api_events(phases, endpoint=None, method=None):
    out = []
    for phase in phases:
        for e, m, status, durations in API[phase]:
            if (endpoint is None or e == endpoint) and (method is None or m == method):
                out += [(status, d / 1000) for d in durations]
    return out


def db_events(phases, operation=None, table=None):
    out = []
    for phase in phases:
        for _, o, t, durations, rows in DB[phase]:
            if (operation is None or o == operation) and (table is None or t == table):
                out += [(d / 1000, rows) for d in durations]
    return out


# ---------------------------------------------------------------------------- PromQL in Python

def extrapolated_increase(samples, start_ms, end_ms):
    """Prometheus 2.42's extrapolatedRate(isCounter, not isRate) over [start, end]."""
    samples = [(t, v) for t, v in samples if start_ms <= t <= end_ms]
    if len(samples) < 2:
        return None
    result = samples[-1][1] - samples[0][1]
    previous = samples[0][1]
    for _, v in samples[1:]:
        if v < previous:
            result += previous
        previous = v
    to_start = (samples[0][0] - start_ms) / 1000
    to_end = (end_ms - samples[-1][0]) / 1000
    sampled = (samples[-1][0] - samples[0][0]) / 1000
    average = sampled / (len(samples) - 1)
    if result > 0 and samples[0][1] >= 0:
        to_zero = sampled * (samples[0][1] / result)
        if to_zero < to_start:
            to_start = to_zero
    threshold = average * 1.1
    interval = sampled
    interval += to_start if to_start < threshold else average / 2
    interval += to_end if to_end < threshold else average / 2
    return result * (interval / sampled)


def histogram_quantile(q, buckets):
    """Prometheus 2.42's bucketQuantile over {upper bound: cumulative count}."""
    bounds = sorted(buckets.items())
    counts = [c for _, c in bounds]
    for i in range(1, len(counts)):  # ensureMonotonic
        counts[i] = max(counts[i], counts[i - 1])
    if len(bounds) < 2 or bounds[-1][0] != math.inf or counts[-1] == 0:
        return None
    rank = q * counts[-1]
    b = next((i for i in range(len(bounds) - 1) if counts[i] >= rank), len(bounds) - 1)
    if b == len(bounds) - 1:
        return bounds[-2][0]
    if b == 0 and bounds[0][0] <= 0:
        return bounds[0][0]
    start, end, count = 0.0, bounds[b][0], counts[b]
    if b > 0:
        start = bounds[b - 1][0]
        count -= counts[b - 1]
        rank -= counts[b - 1]
    return start + (end - start) * (rank / count)


def bucket_counts(durations):
    return {le: sum(1 for d in durations if d <= le) for le in BUCKETS}


def true_quantile_bucket(q, durations):
    """The bucket (lower, upper] holding the q-quantile of the durations sent."""
    ordered = sorted(durations)
    value = ordered[max(0, math.ceil(q * len(ordered)) - 1)]
    upper = next(le for le in BUCKETS if value <= le)
    lower = max([0] + [le for le in BUCKETS if le < upper])
    return lower, upper


def status_of(value, figure):
    warning, critical = THRESHOLDS[figure]
    return "critical" if value >= critical else "warning" if value >= warning else "good"


def worst(*statuses):
    rank = {"unknown": 0, "good": 1, "warning": 2, "critical": 3}
    return max(statuses, key=lambda s: rank[s])


def close(a, b, rel=1e-9):
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)


# ---------------------------------------------------------------------------- fake procfs

class FakeProc:
    """tests/fixtures/proc copied, with our meminfo and mounts, and a /proc/stat whose CPU
    counters a thread raises by CPU_TICK every 0.1 s (each file replaced atomically)."""

    def __init__(self, tmp):
        self.proc = os.path.join(tmp, "proc")
        self.root = os.path.join(tmp, "root")
        shutil.copytree(os.path.join(FIXTURES, "proc"), self.proc)
        os.makedirs(self.root)
        h.write_file(os.path.join(self.proc, "meminfo"),
                     "".join(f"{k}: {v} kB\n" for k, v in MEMINFO.items()))
        h.write_file(os.path.join(self.proc, "1", "mounts"), "/dev/test / ext4 rw,relatime 0 0\n")
        with open(os.path.join(FIXTURES, "proc", "stat"), encoding="ascii") as f:
            self.rest = [line for line in f if not line.startswith("cpu")]
        self.ticks = 0
        self.stop = threading.Event()
        self.write_stat()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def write_stat(self):
        # user nice system idle iowait irq softirq steal guest guest_nice, from large bases so
        # that no counter's extrapolation reaches zero inside the rate window.
        def line(name, cpus):
            user = cpus * (1_000_000 + CPU_TICK["user"] * self.ticks)
            system = cpus * (500_000 + CPU_TICK["system"] * self.ticks)
            idle = cpus * (4_000_000 + CPU_TICK["idle"] * self.ticks)
            return f"{name} {user} 0 {system} {idle} 0 0 0 0 0 0\n"
        text = line("cpu ", 2) + line("cpu0", 1) + line("cpu1", 1) + "".join(self.rest)
        path = os.path.join(self.proc, "stat")
        h.write_file(path + ".new", text)
        os.replace(path + ".new", path)

    def run(self):
        while not self.stop.wait(0.1):
            self.ticks += 1
            self.write_stat()


# ---------------------------------------------------------------------------- helpers

def get_json(collector, path, expect=200):
    response = collector.get(path)
    assert response.status == expect, f"GET {path}: HTTP {response.status}: {response.text()[:300]}"
    assert response.headers.get("content-type") == "application/json", response.headers
    return json.loads(response.text())


def samples_of(collector, selector, window_ms, t_ms):
    """{frozenset(labels): [(t_ms, value)]} of a range selector at t."""
    data = h.query(collector, f"{selector}[{window_ms}ms]", time=f"{t_ms / 1000:.3f}")
    return {frozenset(r["metric"].items()): [(round(float(t) * 1000), float(v)) for t, v in r["values"]]
            for r in data["result"]}


def scalar(collector, promql, t_ms):
    result = h.query(collector, promql, time=f"{t_ms / 1000:.3f}")["result"]
    return float(result[0]["value"][1]) if result else None


def sum_increase(collector, selector, window_ms, t_ms, by=None):
    """sum [by (labels)] (increase(selector[window])) computed here from the stored samples."""
    out = {}
    for labels, samples in samples_of(collector, selector, window_ms, t_ms).items():
        value = extrapolated_increase(samples, t_ms - window_ms, t_ms)
        if value is None:
            continue
        key = tuple(dict(labels).get(name, "") for name in (by or ()))
        out[key] = out.get(key, 0) + value
    return out


def stream_events(base_url, count, timeout=15):
    """Reads the SSE stream with a raw socket: (head, [event texts])."""
    host, port = base_url.removeprefix("http://").split(":")
    assert host == "127.0.0.1"
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(b"GET /api/monitoring/stream HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
        data = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            head, _, body = data.partition(b"\r\n\r\n")
            events = [e for e in body.split(b"\n\n")[:-1] if e.startswith(b"event:")]
            if len(events) >= count:
                return head.decode(), [e.decode() for e in events]
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        raise AssertionError(f"{count} events not received; got {data[:500]!r}")


# ---------------------------------------------------------------------------- checks

def check_performance(checks, collector, t1, t2):
    """The window [t1, t2] sits on two scrapes: exact phase-B figures."""
    hours = (t2 - t1) / 3_600_000
    doc = get_json(collector, f"/api/monitoring/performance?hours={hours!r}&time={t2 / 1000:.3f}")

    def api():
        a = doc["api"]
        b = api_events("B")
        errors = sum(1 for status, _ in b if status >= 500)
        durations = [d for _, d in b]
        assert doc["window_seconds"] == (t2 - t1) / 1000, doc["window_seconds"]
        assert a["total_requests"] == len(b), (a["total_requests"], len(b))
        assert close(a["error_rate"], errors / len(b)), a["error_rate"]
        assert close(a["avg_response_time"], sum(durations) / len(b)), a["avg_response_time"]
        assert close(a["requests_per_second"], len(b) / ((t2 - t1) / 1000)), a["requests_per_second"]
        for q, key in ((0.5, "p50_response_time"), (0.95, "p95_response_time"), (0.99, "p99_response_time")):
            assert close(a[key], histogram_quantile(q, bucket_counts(durations))), (key, a[key])
            lower, upper = true_quantile_bucket(q, durations)
            assert lower <= a[key] <= upper, (key, a[key], lower, upper)
        assert a["status"] == worst(status_of(sum(durations) / len(b), "api_response_time"),
                                    status_of(errors / len(b), "api_error_rate")), a["status"]
        endpoints = {(e["endpoint"], e["method"]): e for e in a["endpoints"]}
        assert set(endpoints) == {("/api/users", "GET"), ("/api/login", "POST"), ("/api/reports", "GET")}, endpoints
        for (endpoint, method), e in endpoints.items():
            mine = api_events("B", endpoint, method)
            ds = [d for _, d in mine]
            errs = sum(1 for s, _ in mine if s >= 500)
            assert e["requests"] == len(mine), (endpoint, e)
            assert close(e["avg_response_time"], sum(ds) / len(ds)), (endpoint, e)
            assert close(e["error_rate"], errs / len(mine)), (endpoint, e)
            for q, key in ((0.5, "p50_response_time"), (0.95, "p95_response_time"), (0.99, "p99_response_time")):
                assert close(e[key], histogram_quantile(q, bucket_counts(ds))), (endpoint, key, e[key])
            assert e["status"] == worst(status_of(sum(ds) / len(ds), "api_response_time"),
                                        status_of(errs / len(mine), "api_error_rate")), (endpoint, e)
        p95 = [e["p95_response_time"] for e in a["endpoints"]]
        assert p95 == sorted(p95, reverse=True), p95
    checks.run("performance: API totals, averages, error rates and quantiles are phase B's, overall and per endpoint", api)

    def database():
        d = doc["database"]
        b = db_events("B")
        durations = [x for x, _ in b]
        slow = sum(1 for x in durations if x > 1)
        assert d["total_queries"] == len(b), d
        assert close(d["avg_execution_time"], sum(durations) / len(b)), d
        assert d["slow_queries"] == slow and d["slow_query_threshold"] == 1, d
        for q, key in ((0.5, "p50_execution_time"), (0.95, "p95_execution_time"), (0.99, "p99_execution_time")):
            assert close(d[key], histogram_quantile(q, bucket_counts(durations))), (key, d[key])
            lower, upper = true_quantile_bucket(q, durations)
            assert lower <= d[key] <= upper, (key, d[key], lower, upper)
        assert d["status"] == worst(status_of(sum(durations) / len(b), "db_execution_time"),
                                    status_of(slow, "slow_queries")), d["status"]
        operations = {(o["operation"], o["table"]): o for o in d["operations"]}
        assert set(operations) == {("select", "users"), ("insert", "orders"), ("update", "users")}, operations
        for (operation, table), o in operations.items():
            ds = [x for x, _ in db_events("B", operation, table)]
            assert o["queries"] == len(ds), o
            assert close(o["avg_execution_time"], sum(ds) / len(ds)), o
            for q, key in ((0.5, "p50_execution_time"), (0.95, "p95_execution_time"), (0.99, "p99_execution_time")):
                assert close(o[key], histogram_quantile(q, bucket_counts(ds))), (operation, key, o[key])
        # One fingerprint per statement shape; (calls, total time, rows) of each from phase B.
        expected = sorted(((len(ds), sum(x / 1000 for x in ds), len(ds) * rows)
                           for _, _, _, ds, rows in DB["B"]), key=lambda e: -e[1] / e[0])
        got = [(q["calls"], q["total_time"], q["rows"]) for q in d["slowest_queries"]]
        assert len(got) == len(expected), got
        for (calls, total, rows), (c, t, r) in zip(expected, got):
            assert c == calls and close(t, total) and r == rows, (got, expected)
        for q in d["slowest_queries"]:
            assert close(q["avg_execution_time"], q["total_time"] / q["calls"]) and q["slow"] == (q["avg_execution_time"] > 1), q
    checks.run("performance: database totals, slow queries, quantiles, per operation and slowest fingerprints are phase B's", database)

    def charts():
        series = doc["timeseries"]
        n = len(series["timestamps"])
        assert n == 61 and series["timestamps"][-1] == t2 / 1000, series["timestamps"][-3:]
        for column in ("api_requests_per_second", "api_avg_response_time", "api_p95_response_time",
                       "api_error_rate", "db_queries_per_second", "db_avg_execution_time",
                       "db_p95_execution_time"):
            assert len(series[column]) == n, column
            assert series[column][-1] is not None and series[column][-1] >= 0, (column, series[column][-5:])
    checks.run("performance: 61-point chart columns end at the evaluation time with data", charts)


def check_dashboard_and_metrics(checks, collector, t2, agent_instance):
    window = 3_600_000
    dashboard = get_json(collector, f"/api/monitoring/dashboard?time={t2 / 1000:.3f}")
    metrics = get_json(collector, f"/api/monitoring/metrics?time={t2 / 1000:.3f}")
    health = get_json(collector, f"/api/monitoring/system-health?time={t2 / 1000:.3f}")

    def stored_values_are_the_traffic():
        stored = samples_of(collector, "mingus_api_requests_total", window, t2)
        for endpoint, method, status, _ in API["A"]:
            key = frozenset({"__name__": "mingus_api_requests_total", "endpoint": endpoint, "method": method,
                             "status": str(status), "instance": agent_instance, "job": "app"}.items())
            count_a = sum(len(d) for e, m, s, d in API["A"] if (e, m, s) == (endpoint, method, status))
            count_b = sum(len(d) for e, m, s, d in API["B"] if (e, m, s) == (endpoint, method, status))
            values = [v for _, v in stored[key]]
            assert values[0] == count_a and values[-1] == count_a + count_b, (endpoint, status, values)
    checks.run("the stored counters hold the traffic: phase A's counts first, A+B's last", stored_values_are_the_traffic)

    # What the 1 h window makes of the stored samples, by Prometheus' extrapolation.
    requests = sum(sum_increase(collector, "mingus_api_requests_total", window, t2).values())
    errors = sum(sum_increase(collector, 'mingus_api_requests_total{status=~"5.."}', window, t2).values())
    api_sum = sum(sum_increase(collector, "mingus_api_request_duration_seconds_sum", window, t2).values())
    api_count = sum(sum_increase(collector, "mingus_api_request_duration_seconds_count", window, t2).values())
    db_count = sum(sum_increase(collector, "mingus_db_query_duration_seconds_count", window, t2).values())
    db_sum = sum(sum_increase(collector, "mingus_db_query_duration_seconds_sum", window, t2).values())
    api_buckets = {float(k[0]): v for k, v in sum_increase(
        collector, "mingus_api_request_duration_seconds_bucket", window, t2, by=("le",)).items()}
    db_buckets = {float(k[0]): v for k, v in sum_increase(
        collector, "mingus_db_query_duration_seconds_bucket", window, t2, by=("le",)).items()}
    slow = max(0.0, db_count - db_buckets[1.0])
    fs = samples_of(collector, "node_filesystem_size_bytes", 60_000, t2)
    avail = samples_of(collector, "node_filesystem_avail_bytes", 60_000, t2)
    (size_key, size_samples), = fs.items()
    avail_samples = avail[frozenset((k, v) if k != "__name__" else (k, "node_filesystem_avail_bytes")
                                    for k, v in size_key)]
    disk = 100 * (1 - avail_samples[-1][1] / size_samples[-1][1])
    memory = 100 * (1 - MEMINFO["MemAvailable"] / MEMINFO["MemTotal"])
    api_status = worst(status_of(api_sum / api_count, "api_response_time"),
                       status_of(errors / requests, "api_error_rate"))
    db_status = worst(status_of(db_sum / db_count, "db_execution_time"), status_of(round(slow), "slow_queries"))

    def dashboard_fields():
        assert list(dashboard) == ["timestamp", "performance", "alerts", "system_health", "overall_status"], dashboard
        api = dashboard["performance"]["api_performance"]
        assert api["total_requests"] == round(requests), (api, requests)
        assert close(api["avg_response_time"], api_sum / api_count), (api, api_sum / api_count)
        assert close(api["error_rate"], errors / requests), (api, errors / requests)
        assert api["status"] == api_status, api
        db = dashboard["performance"]["database_performance"]
        assert db["total_queries"] == round(db_count), (db, db_count)
        assert close(db["avg_execution_time"], db_sum / db_count), db
        assert db["slow_queries"] == round(slow), (db, slow)
        assert db["status"] == db_status, db
        alerts = dashboard["alerts"]
        assert alerts == {"active_alerts": 2, "critical_alerts": 0, "high_alerts": 1, "medium_alerts": 1,
                          "status": "warning"}, alerts
        system = dashboard["system_health"]
        assert abs(system["cpu"]["usage_percent"] - 50) < 1e-9 and system["cpu"]["status"] == "good", system
        assert close(system["memory"]["usage_percent"], memory) and system["memory"]["status"] == "good", system
        assert close(system["disk"]["usage_percent"], disk), (system, disk)
        assert system["disk"]["status"] == status_of(disk, "disk_percent"), system
        assert dashboard["overall_status"] == worst(api_status, db_status, "warning", "good", "good",
                                                    status_of(disk, "disk_percent")), dashboard
        assert dashboard["timestamp"] == time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t2 // 1000)) + (
            f".{t2 % 1000:03d}".rstrip("0") if t2 % 1000 else "") + "Z", dashboard["timestamp"]
    checks.run("dashboard: every field is the traffic's figure over its 1 h window", dashboard_fields)

    def metrics_fields():
        assert metrics["window_seconds"] == 3600, metrics
        api, db, system = metrics["api"], metrics["database"], metrics["system"]
        assert api["total_requests"] == round(requests) and close(api["requests_per_second"], requests / 3600), api
        assert close(api["avg_response_time"], api_sum / api_count) and close(api["error_rate"], errors / requests), api
        assert close(api["p95_response_time"], histogram_quantile(0.95, api_buckets)), (api, api_buckets)
        assert db["total_queries"] == round(db_count) and close(db["queries_per_second"], db_count / 3600), db
        assert close(db["avg_execution_time"], db_sum / db_count) and db["slow_queries"] == round(slow), db
        assert close(db["p95_execution_time"], histogram_quantile(0.95, db_buckets)), (db, db_buckets)
        assert system["hosts"] == 1 and system["hosts_up"] == 1, system
        assert abs(system["cpu_usage_percent"] - 50) < 1e-9, system
        assert close(system["memory_usage_percent"], memory) and close(system["disk_usage_percent"], disk), system
        assert metrics["alerts"] == {"firing": 2, "pending": 0}, metrics["alerts"]
    checks.run("metrics: every key figure is the traffic's", metrics_fields)

    def system_health_fields():
        overall = health["overall"]
        assert overall["hosts"] == 1 and overall["hosts_up"] == 1, overall
        (host,) = health["hosts"]
        assert host["instance"] == agent_instance and host["up"] is True, host
        for doc in (overall, host):
            assert abs(doc["cpu"]["usage_percent"] - 50) < 1e-9 and doc["cpu"]["status"] == "good", doc
            assert close(doc["memory"]["usage_percent"], memory) and doc["memory"]["status"] == "good", doc
            assert close(doc["disk"]["usage_percent"], disk), doc
            assert doc["status"] == worst("good", "good", status_of(disk, "disk_percent")), doc
    checks.run("system-health: the host's CPU (jiffies ratio), memory (meminfo) and disk (statfs)", system_health_fields)

    def same_as_prometheus_api():
        at = t2
        figures = {
            "sum(increase(mingus_api_requests_total[1h]))": dashboard["performance"]["api_performance"]["total_requests"],
            "sum(increase(mingus_db_query_duration_seconds_count[1h])) - "
            "sum(increase(mingus_db_query_duration_seconds_bucket{le=\"1\"}[1h]))":
                dashboard["performance"]["database_performance"]["slow_queries"],
        }
        for promql, value in figures.items():
            assert round(scalar(collector, promql, at)) == value, (promql, value)
        exact = {
            "sum(increase(mingus_api_request_duration_seconds_sum[1h])) / "
            "sum(increase(mingus_api_request_duration_seconds_count[1h]))":
                dashboard["performance"]["api_performance"]["avg_response_time"],
            "histogram_quantile(0.95, sum by (le) (increase(mingus_api_request_duration_seconds_bucket[1h])))":
                metrics["api"]["p95_response_time"],
            "100 * (1 - sum by (instance) (rate(node_cpu_seconds_total{mode=\"idle\"}[5m])) / "
            "sum by (instance) (rate(node_cpu_seconds_total[5m])))": metrics["system"]["cpu_usage_percent"],
            "100 * (1 - max by (instance) (node_memory_MemAvailable_bytes) / "
            "max by (instance) (node_memory_MemTotal_bytes))": metrics["system"]["memory_usage_percent"],
        }
        for promql, value in exact.items():
            assert scalar(collector, promql, at) == value, (promql, scalar(collector, promql, at), value)
    checks.run("the documented expressions through /api/v1/query give the same numbers", same_as_prometheus_api)


def check_alerts(checks, collector):
    def alerts():
        doc = get_json(collector, "/api/monitoring/alerts")
        assert (doc["active_alerts"], doc["critical_alerts"], doc["high_alerts"], doc["medium_alerts"],
                doc["low_alerts"], doc["other_alerts"], doc["pending_alerts"], doc["status"]) == (
                    2, 0, 1, 1, 0, 0, 0, "warning"), doc
        assert [(a["alertname"], a["severity"], a["state"]) for a in doc["alerts"]] == [
            ("ServerErrors", "high", "firing"), ("AlwaysMedium", "medium", "firing")], doc["alerts"]
        medium = doc["alerts"][1]
        assert medium["summary"] == "always on" and medium["value"] == 1 and medium["silenced"] is False, medium
        assert medium["fired_at"] and medium["resolved_at"] is None, medium
        assert [(a["alertname"], a["state"]) for a in doc["recent_alerts"]] == [("PhaseA", "resolved")], doc
        assert doc["recent_alerts"][0]["resolved_at"], doc["recent_alerts"]
    checks.run("alerts: firing by severity, and the one resolved when phase B arrived in the history", alerts)


def check_bad_input_and_cache(checks, collector):
    def bad_parameters():
        for hours in ("abc", "0", "-2", "100000", "", "nan"):
            body = get_json(collector, "/api/monitoring/performance?hours=" + urllib.parse.quote(hours), 400)
            assert body["status"] == "error" and "invalid hours" in body["error"], body
        body = get_json(collector, "/api/monitoring/system-health?time=tomorrow", 400)
        assert "invalid time" in body["error"], body
    checks.run("bad hours and time get 400 with a JSON reason", bad_parameters)

    def cache():
        first = collector.get("/api/monitoring/dashboard").text()
        second = collector.get("/api/monitoring/dashboard").text()
        assert first == second, "not cached"
        samples, _ = h.parse_exposition(collector.metrics_text())
        assert h.sample_value(samples, "mingus_collector_dashboard_cache_requests_total", result="hit") >= 1
        time.sleep(2.1)  # cache_ttl: 2s
        third = collector.get("/api/monitoring/dashboard").text()
        assert json.loads(third)["timestamp"] != json.loads(first)["timestamp"], (first, third)
    checks.run("the same query is served from the cache within cache_ttl, afresh after", cache)


def check_stream(checks, collector):
    def stream():
        head, events = stream_events(collector.base_url, 2)
        assert head.startswith("HTTP/1.1 200"), head
        lines = {line.split(":", 1)[0].lower(): line.split(":", 1)[1].strip() for line in head.split("\r\n")[1:]}
        assert lines.get("content-type") == "text/event-stream", head
        assert lines.get("cache-control") == "no-cache", head
        documents = []
        for event in events:
            kind, data = event.split("\n")
            assert kind == "event: dashboard" and data.startswith("data: {"), event
            documents.append(json.loads(data[len("data: "):]))
        for doc in documents:
            assert list(doc) == ["timestamp", "performance", "alerts", "system_health", "overall_status"], doc
            assert doc["alerts"]["active_alerts"] == 2, doc
        assert documents[1]["timestamp"] >= documents[0]["timestamp"], documents
    checks.run("stream: SSE headers, the dashboard on connect and again after an evaluation", stream)


def check_empty_store(checks, collector_path, tmp):
    config = h.write_file(os.path.join(tmp, "empty.yaml"), "scrape_configs: []\n")
    with h.start_collector(collector_path, config=config) as collector:
        def empty():
            dashboard = get_json(collector, "/api/monitoring/dashboard")
            assert dashboard["performance"] == {
                "api_performance": {"avg_response_time": 0, "total_requests": 0, "error_rate": 0, "status": "unknown"},
                "database_performance": {"avg_execution_time": 0, "total_queries": 0, "slow_queries": 0,
                                         "status": "unknown"}}, dashboard
            assert dashboard["alerts"]["active_alerts"] == 0 and dashboard["alerts"]["status"] == "unknown", dashboard
            assert all(f == {"usage_percent": 0, "status": "unknown"} for f in dashboard["system_health"].values())
            assert dashboard["overall_status"] == "unknown", dashboard
            metrics = get_json(collector, "/api/monitoring/metrics")
            assert metrics["api"]["total_requests"] == 0 and metrics["system"]["hosts"] == 0, metrics
            alerts = get_json(collector, "/api/monitoring/alerts")
            assert alerts["alerts"] == [] and alerts["recent_alerts"] == [], alerts
            performance = get_json(collector, "/api/monitoring/performance?hours=1")
            assert performance["api"]["endpoints"] == [] and performance["database"]["slowest_queries"] == []
            assert performance["api"]["status"] == "unknown" and performance["database"]["total_queries"] == 0
            health = get_json(collector, "/api/monitoring/system-health")
            assert health["hosts"] == [] and health["overall"]["status"] == "unknown", health
        checks.run("an empty store gives well-formed documents with zero counts and unknown", empty)


def main():
    args = h.agent_arg_parser(__doc__).parse_args()
    checks = h.Checks()
    with h.temp_dir() as tmp:
        fake = FakeProc(tmp)
        try:
            with h.start_agent(args.agent, f"--path.procfs={fake.proc}", f"--path.rootfs={fake.root}") as agent:
                instance = agent.base_url.removeprefix("http://")
                os.makedirs(os.path.join(tmp, "rules"))
                h.write_file(os.path.join(tmp, "rules", "dashboard.yml"), RULES % db_count("A", "B"))
                config = h.write_file(os.path.join(tmp, "collector.yaml"), f"""
global: {{scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}}
dashboard: {{cache_ttl: 2s}}
rule_files: ["rules/*.yml"]
scrape_configs:
  - job_name: app
    static_configs: [{{targets: ["{instance}"]}}]
""")
                h.send_udp(agent.udp_address, events("A"))
                count_a = sum(len(d) for _, _, _, d in API["A"])
                count_b = sum(len(d) for _, _, _, d in API["B"])
                h.wait_until(lambda: agent_totals(agent) == (count_a, db_count("A")), what="phase A at the agent")
                with h.start_collector(args.collector, config=config) as collector:
                    def scraped_total(n):
                        value = scalar(collector, "sum(mingus_api_requests_total)", time.time() * 1000)
                        db = scalar(collector, "sum(mingus_db_query_duration_seconds_count)", time.time() * 1000)
                        return value == n and db is not None
                    h.wait_until(lambda: scraped_total(count_a), what="phase A scraped")
                    time.sleep(2.5)  # a few scrapes of phase A; PhaseA fires
                    h.send_udp(agent.udp_address, events("B"))
                    h.wait_until(lambda: agent_totals(agent) == (count_a + count_b, db_count("A", "B")),
                                 what="phase B at the agent")
                    h.wait_until(lambda: scraped_total(count_a + count_b), what="phase B scraped")
                    time.sleep(3)  # a few scrapes of A+B; the rules see them
                    now = time.time() * 1000 - 1500
                    series = samples_of(collector, 'mingus_api_requests_total{endpoint="/api/users",status="200"}',
                                        600_000, now)
                    (points,) = series.values()
                    users_a = len(API["A"][0][3])
                    t1 = max(t for t, v in points if v == users_a)
                    t2 = points[-1][0]
                    assert points[-1][1] == users_a + len(API["B"][0][3]), points
                    h.log(f"window [{t1}, {t2}]: {(t2 - t1) / 1000:g} s over {len(points)} scrapes")
                    check_performance(checks, collector, t1, t2)
                    check_dashboard_and_metrics(checks, collector, t2, instance)
                    check_alerts(checks, collector)
                    check_bad_input_and_cache(checks, collector)
                    check_stream(checks, collector)
                    checks.run("collector exits 0 on SIGTERM with a stream open", lambda: stop_with_stream(collector))
                h.stop_agent(agent)
            check_empty_store(checks, args.collector, tmp)
        finally:
            fake.stop.set()
    checks.exit()


def db_count(*phases):
    return sum(len(d) for phase in phases for _, _, _, d, _ in DB[phase])


def agent_totals(agent):
    """(API requests, database queries) the agent has counted."""
    samples, _ = agent.metrics()
    api = sum(v for (name, _), v in samples.items() if name == "mingus_api_requests_total")
    db = sum(v for (name, _), v in samples.items() if name == "mingus_db_query_duration_seconds_count")
    return api, db


def stop_with_stream(collector):
    host, port = collector.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(b"GET /api/monitoring/stream HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while b"event: dashboard" not in data:
            data += s.recv(65536)
        started = time.monotonic()
        rc = collector.stop()
        assert rc == 0, (rc, collector.output()[-2000:])
        while s.recv(65536):  # the server closes the stream
            pass
        assert time.monotonic() - started < 10


if __name__ == "__main__":
    main()
