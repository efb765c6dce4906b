#!/usr/bin/python3
"""Differential PromQL test: real Prometheus and mingus-collector scrape the same fixture
targets (tests/integration/demo_target.py, three instances relabelled demo-host:1000N,
job "demo"), then the 539 queries of ../shared/conformance/promql-compliance-queries.tsv run
as range queries over the same window against both, and the results are compared as
Prometheus' compliance tester does: the same series sets, the same timestamps, values
within a relative tolerance of 1e-6, and should_fail queries refused by both.

The fixture stamps each sample with its own timestamp (rounded to 5 s) and a value that is a
function of it, starts its history only once both scrapers run and stops it before the
queries, and both scrape every second, so both hold exactly the same samples.

Exit status: 1 if any query that uses only the PromQL subset of DESIGN.md disagrees, or
fewer than --min-pass queries agree overall. The pass counts are printed (and written as
JSON to --json-out) for BENCHMARKS.md.

Usage: /usr/bin/python3 tests/integration/promql_compliance_test.py --agent A --collector C
           [--collect-seconds 90] [--queries TSV] [--json-out FILE] [--show-failures N]
"""

import json
import math
import os
import re
import signal
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
# A copy of ../shared/conformance/promql-compliance-queries.tsv (Apache-2.0, see its first line).
DEFAULT_QUERIES = os.path.join(HERE, "..", "fixtures", "promql-compliance-queries.tsv")
STEP = 10  # seconds between range query points
RELATIVE_TOLERANCE = 1e-6

# DESIGN.md's subset: functions and aggregations (everything else the parser takes is extra).
SUBSET_CALLS = {"rate", "irate", "increase", "delta", "histogram_quantile", "sum", "avg", "min", "max",
                "count", "topk", "absent", "predict_linear", "time", "vector", "scalar",
                "avg_over_time", "min_over_time", "max_over_time", "sum_over_time", "count_over_time",
                "last_over_time", "quantile_over_time", "stddev_over_time", "stdvar_over_time",
                "present_over_time", "absent_over_time",
                # keywords written like calls
                "by", "without", "on", "ignoring", "group_left", "group_right", "bool"}


def in_subset(query):
    calls = set(re.findall(r"([a-zA-Z_]+)\s*\(", query))
    return calls <= SUBSET_CALLS and "@" not in query and not re.search(r"\[[^\]]*:[^\]]*\]", query)


def load_queries(path):
    queries = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            query, should_fail = line.rstrip("\n").rsplit("\t", 1)
            queries.append((query, should_fail.strip() == "true"))
    return queries


def range_query(server, query, start, end):
    params = urllib.parse.urlencode({"query": query, "start": start, "end": end, "step": STEP})
    response = server.get("/api/v1/query_range?" + params, timeout=60)
    try:
        body = json.loads(response.text())
    except ValueError:
        return None, f"HTTP {response.status}: not JSON"
    if body.get("status") != "success":
        return None, body.get("error", f"HTTP {response.status}")
    return body["data"], None


def normalise(data):
    """{labels: [(t, value)]} of a matrix (or a scalar/vector, which a range query never returns)."""
    out = {}
    for series in data["result"]:
        key = tuple(sorted(series["metric"].items()))
        out[key] = [(float(t), float(v)) for t, v in series["values"]]
    return out


def close(a, b):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if a == b:
        return True
    return abs(a - b) <= RELATIVE_TOLERANCE * max(abs(a), abs(b))


def compare(expected, got):
    """None when the results agree, else why not."""
    want, have = normalise(expected), normalise(got)
    if set(want) != set(have):
        missing, extra = set(want) - set(have), set(have) - set(want)
        return f"series differ: missing {sorted(missing)[:2]} extra {sorted(extra)[:2]} ({len(want)} vs {len(have)})"
    for key, points in want.items():
        other = have[key]
        if [t for t, _ in points] != [t for t, _ in other]:
            return f"{dict(key)}: timestamps differ ({len(points)} vs {len(other)} points)"
        for (t, a), (_, b) in zip(points, other):
            if not close(a, b):
                return f"{dict(key)} at {t}: Prometheus {a!r}, collector {b!r}"
    return None


def scrape_config(ports):
    """The same job for both: instance relabelled through the target group's labels."""
    groups = "".join(f'      - targets: ["127.0.0.1:{port}"]\n        labels: {{instance: "demo-host:{10000 + i}"}}\n'
                     for i, port in enumerate(ports))
    return f"""global: {{scrape_interval: 1s, scrape_timeout: 1s}}
scrape_configs:
  - job_name: demo
    static_configs:
{groups}"""


def main():
    parser = h.agent_arg_parser(__doc__)
    parser.add_argument("--collect-seconds", type=int, default=90)
    parser.add_argument("--queries", default=DEFAULT_QUERIES)
    parser.add_argument("--json-out")
    parser.add_argument("--min-pass", type=int, default=0)
    parser.add_argument("--show-failures", type=int, default=40)
    args = parser.parse_args()
    queries = load_queries(args.queries)
    with h.temp_dir() as tmp, \
            h.Process([sys.executable, os.path.join(HERE, "demo_target.py")], name="demo_target") as target:
        ports = [int(p) for p in target.wait_for_line(r"^ready ((?:\d+ ?)+)$").group(1).split()]
        config = scrape_config(ports)
        prometheus_dir = os.path.join(tmp, "prometheus")
        os.makedirs(prometheus_dir)
        prometheus_config = h.write_file(os.path.join(tmp, "prometheus.yml"), config)
        collector_config = h.write_file(os.path.join(tmp, "collector.yaml"), config)
        with h.start_prometheus(prometheus_config, prometheus_dir) as prometheus, \
                h.start_collector(args.collector, config=collector_config) as collector:
            # Both are scraping: the targets' history starts now, the same for both.
            target.signal(signal.SIGUSR1)
            first = int(target.wait_for_line(r"^started (\d+)$").group(1))
            h.log(f"scraping {len(ports)} demo targets for {args.collect_seconds} s")
            time.sleep(max(0.0, first + args.collect_seconds - time.time()))
            target.signal(signal.SIGUSR2)
            last = int(target.wait_for_line(r"^stopped (\d+)$").group(1))
            time.sleep(3)  # both scrape the last samples (every second)
            # Query times from a step after the first sample to a step before the last.
            end = math.floor(last / STEP) * STEP - STEP
            start = math.ceil(first / STEP) * STEP + STEP
            h.log(f"comparing {len(queries)} range queries over [{start}, {end}] step {STEP}s")
            passed, failures, subset_total, subset_passed = 0, [], 0, 0
            for query, should_fail in queries:
                expected, expected_error = range_query(prometheus, query, start, end)
                got, got_error = range_query(collector, query, start, end)
                if should_fail or expected_error:
                    ok = expected_error is not None and got_error is not None
                    why = None if ok else f"Prometheus error {expected_error!r}, collector error {got_error!r}"
                elif got_error:
                    ok, why = False, f"collector error: {got_error}"
                else:
                    why = compare(expected, got)
                    ok = why is None
                subset = in_subset(query)
                subset_total += subset
                if ok:
                    passed += 1
                    subset_passed += subset
                else:
                    failures.append((subset, query, why))
            for subset, query, why in failures[:args.show_failures]:
                h.log(f"DIFFERS{' (subset)' if subset else ''}: {query}\n    {why}")
            summary = {"queries": len(queries), "passed": passed, "subset_queries": subset_total,
                       "subset_passed": subset_passed, "window_seconds": end - start, "step_seconds": STEP,
                       "prometheus": "2.42.0 (Debian 12)"}
            h.log(json.dumps(summary))
            if args.json_out:
                h.write_file(args.json_out, json.dumps({**summary, "failures": failures}, indent=1))
            bad_subset = [q for subset, q, _ in failures if subset]
            if bad_subset or passed < args.min_pass:
                h.log(f"FAIL: {len(bad_subset)} subset queries disagree; {passed} passed (minimum {args.min_pass})")
                sys.exit(1)
            h.log(f"OK: {passed} of {len(queries)} agree, every one of the {subset_total} subset queries")


if __name__ == "__main__":
    main()
