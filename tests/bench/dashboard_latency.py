#!/usr/bin/python3
"""Latency of the monitoring API (/api/monitoring/*) with HOSTS hosts' worth of series in the
collector: per host node_cpu_seconds_total (2 CPUs x 4 modes), node_memory_Mem{Total,Available}_bytes,
node_filesystem_{size,avail}_bytes (2 mounts), mingus_api_requests_total and the
mingus_api_request_duration_seconds histogram (4 endpoints with status 200 and one with 500,
the agent's 14 buckets), mingus_db_query_duration_seconds (3 operations) and the
mingus_db_fingerprint_* counters (3 fingerprints): 162 series per host, 162 000 for 1 000 hosts.

TARGETS synthetic scrape targets served from this process (pinned to core 0) expose HOSTS/TARGETS
hosts each, with an `instance` label per host that the collector keeps (honor_labels); counters
rise between scrapes, bodies are rendered ahead. The collector (pinned to core 1) scrapes them
every INTERVAL seconds for DURATION seconds, so each series holds DURATION/INTERVAL samples;
then each endpoint is requested REQUESTS times in a row with the response cache off
(cache_ttl: 0s: every request evaluates its PromQL) and, after a reload, on (cache_ttl: 1m: the
first request computes, the rest are served from the cache). Latency is measured around one
HTTP request on a kept-alive connection; the figures are the median and p99 (nearest rank).

Prints the figures as JSON, then a markdown table for BENCHMARKS.md and the command that made
it. --smoke: 20 hosts, 6 s, 3 requests; checks only that every endpoint answers 200 and that
/system-health lists every host.

Usage: /usr/bin/python3 tests/bench/dashboard_latency.py --collector C [--hosts 1000]
           [--targets 10] [--interval 5] [--duration 120] [--requests 20] [--smoke]
"""

import argparse
import http.client
import json
import math
import os
import signal
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness as h  # noqa: E402

BENCH_CPU, SERVER_CPU = 0, 1
BUCKETS = ("0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5",
           "5", "10", "+Inf")
ENDPOINTS = ("/api/users/:id", "/api/login", "/api/reports", "/api/budget")
OPERATIONS = (("select", "users"), ("insert", "orders"), ("update", "accounts"))
FINGERPRINTS = ("select * from users where id = ?", "insert into orders values(?+)",
                "update accounts set balance = ? where id = ?")
PATHS = ("/api/monitoring/dashboard", "/api/monitoring/metrics", "/api/monitoring/alerts",
         "/api/monitoring/performance?hours=1", "/api/monitoring/performance?hours=24",
         "/api/monitoring/system-health")


class Hosts:
    """The bodies of one target: its hosts' series, rendered for `variants` successive scrapes
    (counters rise by a fixed step per variant; the last variant is served from then on)."""

    def __init__(self, target, hosts, variants):
        self.bodies = [self.render(target, hosts, v) for v in range(variants)]
        self.started = None
        self.interval = 1.0

    @staticmethod
    def render(target, hosts, v):
        lines = ["# TYPE node_cpu_seconds_total counter", "# TYPE node_memory_MemTotal_bytes gauge",
                 "# TYPE node_memory_MemAvailable_bytes gauge", "# TYPE node_filesystem_size_bytes gauge",
                 "# TYPE node_filesystem_avail_bytes gauge", "# TYPE mingus_api_requests_total counter",
                 "# TYPE mingus_api_request_duration_seconds histogram",
                 "# TYPE mingus_db_query_duration_seconds histogram",
                 "# TYPE mingus_db_fingerprint_calls_total counter",
                 "# TYPE mingus_db_fingerprint_seconds_total counter",
                 "# TYPE mingus_db_fingerprint_rows_total counter"]
        for i in range(hosts):
            n = target * hosts + i
            inst = f'instance="host-{n:04d}:9110"'
            for cpu in (0, 1):
                for mode, base, step in (("user", 5000, 3), ("system", 2000, 1), ("idle", 90000, 5 + n % 4),
                                         ("iowait", 100, 0)):
                    lines.append(f'node_cpu_seconds_total{{{inst},cpu="{cpu}",mode="{mode}"}} {base + step * v}')
            lines.append(f"node_memory_MemTotal_bytes{{{inst}}} 8589934592")
            lines.append(f"node_memory_MemAvailable_bytes{{{inst}}} {1073741824 * (1 + n % 6)}")
            for mount, avail in (("/", 20 + n % 70), ("/data", 50)):
                fs = f'{inst},device="/dev/vda",fstype="ext4",mountpoint="{mount}"'
                lines.append(f"node_filesystem_size_bytes{{{fs}}} 107374182400")
                lines.append(f"node_filesystem_avail_bytes{{{fs}}} {1073741824 * avail}")
            for e, endpoint in enumerate(ENDPOINTS):
                for status in ("200", "500") if e == 0 else ("200",):
                    labels = f'{inst},endpoint="{endpoint}",method="GET",status="{status}"'
                    count = (100 + 10 * e) * (v + 1) if status == "200" else v + 1
                    lines.append(f"mingus_api_requests_total{{{labels}}} {count}")
                    for b, le in enumerate(BUCKETS):
                        lines.append(f'mingus_api_request_duration_seconds_bucket{{{labels},le="{le}"}} '
                                     f"{count if le == '+Inf' else count * min(b + 1, 14) // 14}")
                    lines.append(f"mingus_api_request_duration_seconds_sum{{{labels}}} {count * 0.08:.3f}")
                    lines.append(f"mingus_api_request_duration_seconds_count{{{labels}}} {count}")
            for o, (operation, table) in enumerate(OPERATIONS):
                labels = f'{inst},operation="{operation}",table="{table}"'
                count = (200 + 50 * o) * (v + 1)
                for b, le in enumerate(BUCKETS):
                    lines.append(f'mingus_db_query_duration_seconds_bucket{{{labels},le="{le}"}} '
                                 f"{count if le == '+Inf' else count * min(b + 2, 14) // 14}")
                lines.append(f"mingus_db_query_duration_seconds_sum{{{labels}}} {count * 0.02:.3f}")
                lines.append(f"mingus_db_query_duration_seconds_count{{{labels}}} {count}")
            for f, fingerprint in enumerate(FINGERPRINTS):
                labels = f'{inst},fingerprint="{fingerprint}"'
                calls = (200 + 50 * f) * (v + 1)
                lines.append(f"mingus_db_fingerprint_calls_total{{{labels}}} {calls}")
                lines.append(f"mingus_db_fingerprint_seconds_total{{{labels}}} {calls * 0.02 * (f + 1):.3f}")
                lines.append(f"mingus_db_fingerprint_rows_total{{{labels}}} {calls}")
        return ("\n".join(lines) + "\n").encode()

    def body(self):
        if self.started is None:
            self.started = time.monotonic()
        v = int((time.monotonic() - self.started) / self.interval)
        return self.bodies[min(v, len(self.bodies) - 1)]


def write_config(path, addresses, interval, cache_ttl):
    targets = ", ".join(f'"{a}"' for a in addresses)
    h.write_file(path, f"""
global: {{scrape_interval: {interval}s, scrape_timeout: {interval}s, evaluation_interval: 15s}}
storage: {{flush_interval: 1h}}
dashboard: {{cache_ttl: {cache_ttl}}}
rule_files: []
scrape_configs:
  - job_name: hosts
    honor_labels: true
    static_configs: [{{targets: [{targets}]}}]
""")


def measure(base_url, path, requests):
    host, port = base_url.removeprefix("http://").split(":")
    assert host == "127.0.0.1"
    conn = http.client.HTTPConnection(host, int(port), timeout=300)
    latencies, status, body = [], None, b""
    try:
        for _ in range(requests):
            start = time.perf_counter()
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            latencies.append((time.perf_counter() - start) * 1000)
            status = response.status
            if status != 200:
                raise RuntimeError(f"GET {path}: HTTP {status}: {body[:300]!r}")
    finally:
        conn.close()
    ordered = sorted(latencies)
    return {"median_ms": statistics.median(ordered),
            "p99_ms": ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)],
            "first_ms": latencies[0], "bytes": len(body)}, json.loads(body)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--collector", required=True)
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--targets", type=int, default=10)
    parser.add_argument("--interval", type=int, default=5)
    parser.add_argument("--duration", type=int, default=120)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        args.hosts, args.targets, args.interval, args.duration, args.requests = 20, 2, 1, 6, 3
    os.sched_setaffinity(0, {BENCH_CPU})
    per_target = args.hosts // args.targets
    variants = args.duration // args.interval + 2
    h.log(f"rendering {args.hosts} hosts in {args.targets} targets, {variants} scrapes each")
    targets = [Hosts(t, per_target, variants) for t in range(args.targets)]
    servers = []
    for target in targets:
        target.interval = args.interval
        servers.append(h.serve_metrics(target.body))
    addresses = [f"127.0.0.1:{s.server_address[1]}" for s in servers]
    report = {"bench": "dashboard_latency", "hosts": args.hosts, "targets": args.targets,
              "interval_s": args.interval, "duration_s": args.duration, "requests": args.requests}
    ok = True
    with h.temp_dir() as tmp:
        config = os.path.join(tmp, "collector.yaml")
        write_config(config, addresses, args.interval, "0s")
        with h.start_collector(args.collector, config=config, cpu=SERVER_CPU) as collector:
            h.wait_until(lambda: h.query(collector, "count(up == 1)")["result"][0]["value"][1] == str(args.targets),
                         timeout=120, what="every target scraped")
            time.sleep(args.duration)
            series = float(h.query(collector, "count({__name__=~\".+\"})")["result"][0]["value"][1])
            report["series"] = series
            h.log(f"{series:.0f} series stored; measuring")
            for cache, ttl in (("off", "0s"), ("on", "1m")):
                if cache == "on":
                    write_config(config, addresses, args.interval, ttl)
                    collector.signal(signal.SIGHUP)
                    collector.wait_for_line(r"configuration reloaded")
                    time.sleep(1)
                for path in PATHS:
                    figures, doc = measure(collector.base_url, path, args.requests)
                    report.setdefault(f"cache_{cache}", {})[path.removeprefix("/api/monitoring/")] = figures
                    h.log(f"cache {cache} {path}: {json.dumps(figures)}")
                    if path.endswith("system-health") and len(doc["hosts"]) != args.hosts:
                        ok = False
                        h.log(f"FAIL: system-health lists {len(doc['hosts'])} hosts, not {args.hosts}")
            collector.stop()
    for server in servers:
        server.shutdown()
    print(json.dumps(report, indent=1))
    print()
    print(f"| endpoint ({args.hosts} hosts, {report['series']:.0f} series) | cache off: median | p99 | "
          "cache on: first | median | p99 |")
    print("|---|---|---|---|---|---|")
    for path in PATHS:
        key = path.removeprefix("/api/monitoring/")
        off, on = report["cache_off"][key], report["cache_on"][key]
        print(f"| `{key}` | {off['median_ms']:.1f} ms | {off['p99_ms']:.1f} ms | {on['first_ms']:.1f} ms | "
              f"{on['median_ms']:.2f} ms | {on['p99_ms']:.2f} ms |")
    print()
    print("Command: /usr/bin/python3 tests/bench/dashboard_latency.py --collector build/collector/mingus-collector "
          f"--hosts {args.hosts} --targets {args.targets} --interval {args.interval} --duration {args.duration} "
          f"--requests {args.requests}")
    if args.smoke:
        h.log("OK: every endpoint answered" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
