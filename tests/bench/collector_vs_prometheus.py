#!/usr/bin/python3
"""mingus-collector beside Prometheus on the same work: TARGETS synthetic targets of SERIES
series each (tests/bench/synthetic_targets.py, one process), scraped every INTERVAL for
DURATION by each in turn (Prometheus first, then the collector, so they never compete for
the CPU; the targets run on core 0, the scraper on core 1), or with --together by both at
once over the same window, both on core 1: on a machine whose speed swings from minute to
minute (a shared host), the swings then fall on both alike and the ratios hold still.

Figures per system, medians of --runs runs:
  CPU seconds (utime+stime of /proc/PID/stat) over the scraping window;
  resident memory (VmRSS) at the end, and per head series;
  samples ingested over the window and head series at its end, from each one's own /metrics
    (prometheus_tsdb_head_samples_appended_total and _series; mingus_collector_head_...);
  bytes on disk per sample held, after a clean stop (Prometheus: its data directory, WAL
    included; the collector: performance_metrics.db and its WAL, flushed at shutdown);
  query latency: the median of QUERY_REPEATS runs of each query of QUERIES as a range query
    over the window.

Usage: /usr/bin/python3 tests/bench/collector_vs_prometheus.py --agent A --collector C
           [--targets 200] [--series 1000] [--interval 5] [--warmup S] [--duration 120] [--runs 3] [--together] [--smoke]
"""

import contextlib
import json
import os
import statistics
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness as h  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TARGETS_CPU, SCRAPER_CPU = 0, 1
QUERY_REPEATS = 5
QUERIES = (
    "sum(rate(synthetic_requests_total[1m]))",
    "sum by (instance) (rate(synthetic_requests_total[1m]))",
    "topk(5, synthetic_gauge)",
    'histogram_quantile(0.95, sum by (le) (rate(synthetic_latency_seconds_bucket[1m])))',
    'avg_over_time(synthetic_gauge{shard="3"}[2m])',
    "count(up == 1)",
)


def directory_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total


def rss_bytes(pid):
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def query_latencies(server, start, end):
    out = {}
    for query in QUERIES:
        times = []
        for _ in range(QUERY_REPEATS):
            began = time.perf_counter()
            # A query over 200 000 series on a loaded machine can take longer than the default.
            h.query(server, query, timeout=120, start=start, end=end, step=15)
            times.append(time.perf_counter() - began)
        out[query] = statistics.median(times) * 1000
    return out


def scrape_config(ports, interval):
    targets = ", ".join(f'"127.0.0.1:{p}"' for p in ports)
    return (f"global: {{scrape_interval: {interval}s, scrape_timeout: {min(interval, 10)}s}}\n"
            f"scrape_configs:\n  - job_name: synthetic\n    static_configs: [{{targets: [{targets}]}}]\n")


def start(kind, args, ports, tmp):
    data_dir = os.path.join(tmp, f"{kind}-data")
    os.makedirs(data_dir, exist_ok=True)
    config = scrape_config(ports, args.interval)
    if kind == "prometheus":
        server = h.start_prometheus(h.write_file(os.path.join(tmp, "prometheus.yml"), config), data_dir)
    else:
        server = h.start_collector(args.collector, config=h.write_file(os.path.join(tmp, "collector.yaml"), config),
                                   storage_dir=data_dir)
    os.sched_setaffinity(server.pid, {SCRAPER_CPU})
    return server, data_dir


def measure(servers, args):
    """Figures of each (kind, server, data dir) of `servers`, all scraping over the same window."""
    def own(kind, server, suffix):
        """A figure from its own /metrics: what it appended and holds."""
        prefix = "prometheus_tsdb_head" if kind == "prometheus" else "mingus_collector_head"
        samples, _ = server.metrics()
        return sum(v for (name, _), v in samples.items() if name == prefix + suffix)
    # The first scrapes (and Prometheus' start-up) fall before the window.
    time.sleep(args.warmup if args.warmup is not None else 2 * args.interval)
    start = time.time()
    before = {kind: (own(kind, server, "_samples_appended_total"), h.cpu_seconds(server.pid))
              for kind, server, _ in servers}
    time.sleep(args.duration)
    results = {}
    for kind, server, _ in servers:
        cpu = h.cpu_seconds(server.pid) - before[kind][1]
        samples = own(kind, server, "_samples_appended_total") - before[kind][0]
        series = own(kind, server, "_series")
        rss = rss_bytes(server.pid)
        results[kind] = {"cpu_seconds": cpu, "cpu_seconds_per_million_samples": cpu / max(samples, 1) * 1e6,
                         "rss_mib": rss / 2**20, "series": series, "samples": samples,
                         "rss_bytes_per_series": rss / max(series, 1)}
    end = time.time()
    for kind, server, _ in servers:  # all still scraping: the queries compete alike
        results[kind]["query_ms"] = query_latencies(server, start, end)
    for kind, server, data_dir in servers:
        rc = server.stop(timeout=60)  # the collector flushes at shutdown
        if rc != 0:
            raise RuntimeError(f"{kind} exited with {rc}:\n{server.output()[-2000:]}")
        # What it holds: all it appended, the warm-up's samples too.
        held = results[kind]["samples"] + before[kind][0]
        results[kind]["disk_bytes_per_sample"] = directory_bytes(data_dir) / max(held, 1)
    return results


def main():
    parser = h.agent_arg_parser(__doc__)
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--interval", type=int, default=5)
    parser.add_argument("--duration", type=int, default=120)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--warmup", type=int,
                        help="seconds of scraping before the window (default: two intervals); past 60 "
                             "the collector's first flush, which stores every new series, falls before it too, "
                             "as Prometheus stores its series in its WAL at the first scrape")
    parser.add_argument("--together", action="store_true",
                        help="run both at the same time over the same window (both on the scraper core), so "
                             "that a noisy machine's swings fall on both alike")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--json-out")
    args = parser.parse_args()
    if args.smoke:
        args.targets, args.series, args.interval, args.duration, args.runs = 5, 100, 1, 8, 1
    results = {"prometheus": [], "collector": []}
    with h.temp_dir() as tmp, h.Process(
            [sys.executable, os.path.join(HERE, "synthetic_targets.py"), str(args.targets), str(args.series)],
            name="synthetic_targets", cpu=TARGETS_CPU) as targets:
        ports = [int(p) for p in targets.wait_for_line(r"^ready (.*)$", timeout=120).group(1).split()]
        kinds = ("prometheus", "collector")
        for run in range(args.runs):
            run_dir = os.path.join(tmp, f"run{run}")
            os.makedirs(run_dir, exist_ok=True)
            for together in ([kinds] if args.together else [[kind] for kind in kinds]):
                with contextlib.ExitStack() as stack:
                    servers = []
                    for kind in together:
                        server, data_dir = start(kind, args, ports, run_dir)
                        servers.append((kind, stack.enter_context(server), data_dir))
                    for kind, result in measure(servers, args).items():
                        h.log(f"run {run + 1} {kind}: {json.dumps(result)}")
                        results[kind].append(result)
    summary = {}
    for kind, runs in results.items():
        summary[kind] = {key: statistics.median(r[key] for r in runs) for key in runs[0] if key != "query_ms"}
        summary[kind]["query_ms"] = {q: statistics.median(r["query_ms"][q] for r in runs) for q in QUERIES}
    ratio = {key: summary["collector"][key] / summary["prometheus"][key]
             for key in summary["collector"] if key != "query_ms" and summary["prometheus"][key]}
    ratio["query_ms"] = {q: summary["collector"]["query_ms"][q] / summary["prometheus"]["query_ms"][q]
                         for q in QUERIES if summary["prometheus"]["query_ms"][q]}
    report = {"bench": "collector_vs_prometheus", "targets": args.targets, "series_per_target": args.series,
              "interval_s": args.interval, "warmup_s": args.warmup, "duration_s": args.duration, "runs": args.runs, "together": args.together,
              "summary": summary, "ratio_collector_to_prometheus": ratio}
    print(json.dumps(report, indent=1))
    if args.json_out:
        h.write_file(args.json_out, json.dumps(report, indent=1))
    if args.smoke:
        ok = summary["collector"]["samples"] > 0 and summary["collector"]["series"] >= args.targets * args.series
        h.log("OK: the collector ingested and answered" if ok else "FAIL: the collector stored nothing")
        sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
