#!/usr/bin/python3
"""Scrape cost: mingus-agent (default config) vs node_exporter (its default collectors).

Both servers run side by side on 127.0.0.1, pinned with taskset to core 1; this scraper
pins itself to core 0. Each run starts both afresh, scrapes each once (warm-up), then
N times over one keep-alive connection (alternating which goes first between runs) and
measures, per server:
  - median and p99 scrape latency: request sent to full body read (http.client);
  - bytes (uncompressed) and series per scrape;
  - CPU seconds per 1000 scrapes of the server process (utime+stime from /proc/PID/stat);
  - resident memory after the first scrape (VmRSS) and after the load (VmRSS, VmHWM).
Prints a table of the medians over runs with the ratios ours/node_exporter, then one JSON
line. --smoke is 1 run of 50 scrapes; the exit code only says whether both served and the
numbers are sane (no assertion on speed), in every mode.

Usage: /usr/bin/python3 tests/bench/agent_vs_node_exporter.py --agent build/agent/mingus-agent
           [--scrapes N] [--runs R] [--smoke]
"""

import argparse
import http.client
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness as h  # noqa: E402

SERVER_CPU, SCRAPER_CPU = 1, 0

# (key, label, format) of the table rows
ROWS = [
    ("latency_median_ms", "median scrape latency (ms)", "{:.3f}"),
    ("latency_p99_ms", "p99 scrape latency (ms)", "{:.3f}"),
    ("bytes_per_scrape", "bytes per scrape", "{:.0f}"),
    ("series_per_scrape", "series per scrape", "{:.0f}"),
    ("cpu_s_per_1000", "CPU s per 1000 scrapes", "{:.3f}"),
    ("rss_start_mib", "VmRSS after 1st scrape (MiB)", "{:.1f}"),
    ("rss_end_mib", "VmRSS after load (MiB)", "{:.1f}"),
    ("hwm_end_mib", "VmHWM after load (MiB)", "{:.1f}"),
]


def proc_status(pid):
    """/proc/PID/status as {field: text}."""
    with open(f"/proc/{pid}/status") as f:
        return {k: v.strip() for k, _, v in (line.partition(":") for line in f)}


def memory_mib(pid, field):
    """VmRSS or VmHWM in MiB."""
    return int(proc_status(pid)[field].split()[0]) / 1024  # kB -> MiB


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(server, scrapes):
    """N keep-alive scrapes of one server; returns its numbers for this run."""
    port = int(server.base_url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=h.HTTP_TIMEOUT)
    latencies, body, connections, sock = [], b"", 0, None
    cpu_before = h.cpu_seconds(server.pid)
    try:
        for _ in range(scrapes):
            start = time.perf_counter()
            conn.request("GET", "/metrics")
            resp = conn.getresponse()
            body = resp.read()
            latencies.append(time.perf_counter() - start)
            if resp.status != 200:
                raise RuntimeError(f"{server.name}: HTTP {resp.status}")
            if conn.sock is not sock:  # http.client reopened: the server closed it
                connections, sock = connections + 1, conn.sock
    finally:
        conn.close()
    cpu_used = h.cpu_seconds(server.pid) - cpu_before
    samples, _ = h.parse_exposition(body.decode("utf-8"))
    status = proc_status(server.pid)
    return {
        "latency_median_ms": statistics.median(latencies) * 1e3,
        "latency_p99_ms": percentile(latencies, 0.99) * 1e3,
        "bytes_per_scrape": len(body),
        "series_per_scrape": len(samples),
        "cpu_s_per_1000": cpu_used * 1000 / scrapes,
        "rss_end_mib": memory_mib(server.pid, "VmRSS"),
        "hwm_end_mib": memory_mib(server.pid, "VmHWM"),
        "connections": connections,
        "cpus_allowed": status["Cpus_allowed_list"],
        "comm": status["Name"],
    }


def one_run(agent_path, scrapes, agent_first):
    """Fresh servers; returns {"agent": {...}, "node_exporter": {...}}."""
    with h.start_agent(agent_path, cpu=SERVER_CPU) as agent, \
            h.start_node_exporter(cpu=SERVER_CPU) as ne:
        servers = {"agent": agent, "node_exporter": ne}
        rss_start = {}
        for key, server in servers.items():
            server.metrics_text()  # first scrape
            rss_start[key] = memory_mib(server.pid, "VmRSS")
        order = ["agent", "node_exporter"] if agent_first else ["node_exporter", "agent"]
        result = {}
        for key in order:
            result[key] = measure(servers[key], scrapes)
            result[key]["rss_start_mib"] = rss_start[key]
        ne.stop()
        h.stop_agent(agent)
    return result


def sane(result, scrapes):
    problems = []
    for server, numbers in result.items():
        for key, _, _ in ROWS:
            value = numbers[key]
            if not value >= 0 or (key != "cpu_s_per_1000" and value <= 0):
                problems.append(f"{server}: {key} = {value}")
        if numbers["cpus_allowed"] != str(SERVER_CPU) or numbers["comm"] == "taskset":
            problems.append(f"{server}: not pinned to core {SERVER_CPU}: "
                            f"{numbers['comm']} on {numbers['cpus_allowed']}")
        if numbers["connections"] != 1:
            problems.append(f"{server}: used {numbers['connections']} connections for "
                            f"{scrapes} keep-alive scrapes")
    return problems


def summarize(runs):
    summary = {server: {key: statistics.median(r[server][key] for r in runs)
                        for key, _, _ in ROWS} for server in ("agent", "node_exporter")}
    summary["ratio"] = {key: (summary["agent"][key] / summary["node_exporter"][key]
                              if summary["node_exporter"][key] else None)
                        for key, _, _ in ROWS}
    return summary


def print_table(summary, runs, scrapes):
    h.log(f"\nmedians over {runs} run(s) of {scrapes} scrapes; servers on core {SERVER_CPU}, "
          f"scraper on core {SCRAPER_CPU}")
    h.log(f"{'':32} {'mingus-agent':>14} {'node_exporter':>14} {'ours/ne':>9}")
    for key, label, fmt in ROWS:
        ratio = summary["ratio"][key]
        h.log(f"{label:32} {fmt.format(summary['agent'][key]):>14} "
              f"{fmt.format(summary['node_exporter'][key]):>14} "
              f"{'-' if ratio is None else f'{ratio:.3f}':>9}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agent", required=True, help="path to the mingus-agent binary")
    parser.add_argument("--scrapes", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="1 run of 50 scrapes")
    args = parser.parse_args()
    if args.smoke:
        args.runs, args.scrapes = 1, 50
    if len(os.sched_getaffinity(0) | {SERVER_CPU, SCRAPER_CPU}) > os.cpu_count():
        sys.exit(f"needs cores {SCRAPER_CPU} and {SERVER_CPU}")
    os.sched_setaffinity(0, {SCRAPER_CPU})

    runs, problems = [], []
    for i in range(args.runs):
        try:
            result = one_run(args.agent, args.scrapes, agent_first=(i % 2 == 0))
        except Exception as e:  # noqa: BLE001 - a server that fails to serve is the verdict
            problems.append(f"run {i + 1}: {type(e).__name__}: {e}")
            break
        runs.append(result)
        problems += [f"run {i + 1}: {p}" for p in sane(result, args.scrapes)]
        h.log(f"run {i + 1}/{args.runs}: agent {result['agent']['latency_median_ms']:.3f} ms, "
              f"node_exporter {result['node_exporter']['latency_median_ms']:.3f} ms median")
    if runs:
        summary = summarize(runs)
        print_table(summary, len(runs), args.scrapes)
        print(json.dumps({"bench": "agent_vs_node_exporter", "runs": len(runs),
                          "scrapes": args.scrapes, "summary": summary, "per_run": runs,
                          "problems": problems}), flush=True)
    for p in problems:
        h.log(f"FAIL: {p}")
    sys.exit(1 if problems or not runs else 0)


if __name__ == "__main__":
    main()
