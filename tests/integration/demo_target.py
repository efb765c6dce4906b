#!/usr/bin/python3
"""A fixture scrape target shaped like PromLabs' demo service (the metric names and labels
the PromQL compliance queries expect, see ../shared/conformance/README.md), serving N
instances on loopback ports.

Every sample carries an explicit timestamp rounded down to STEP seconds and a value that is
a pure function of (instance, timestamp): two scrapers that each scrape more often than
STEP store exactly the same samples, so their query results can be compared exactly.

Until it gets SIGUSR1 it serves an empty body; then it prints "started T" and serves samples
from the first STEP boundary T after that, so that scrapers started one after the other hold
the same history from the first sample on. On SIGUSR2 it prints "stopped T" and keeps serving
the samples of T, so that queries that look ahead (negative offsets) see the same data on
both, whenever each is asked.

Usage: demo_target.py [--instances 3]   prints "ready PORT PORT PORT", serves until killed.
"""

import argparse
import math
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

STEP = 5  # seconds between distinct sample timestamps
MEMORY_TYPES = ("free", "used", "buffers", "cached")
CPU_MODES = {"idle": 3.2, "user": 0.6, "system": 0.2}  # CPU-seconds per second
BUCKETS = (0.0001, 0.00015, 0.0002, 0.0003, 0.0004, 0.0005, 0.001, 0.0025, 0.005, 0.01,
           0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
ENDPOINTS = [(m, p, s) for m in ("GET", "POST") for p in ("/api/foo", "/api/bar") for s in ("200", "500")]


def latency_cdf(le, scale):
    """Share of requests faster than le for a log-normal-ish latency around `scale`."""
    return 1 / (1 + (scale / le) ** 1.7)


def exposition(instance, t):
    """The body for instance number `instance` at timestamp t (whole seconds)."""
    ms = t * 1000
    lines = []

    def sample(name, value, labels=""):
        lines.append(f"{name}{{{labels}}} {value!r} {ms}" if labels else f"{name} {value!r} {ms}")

    lines.append("# TYPE demo_num_cpus gauge")
    sample("demo_num_cpus", 4.0)
    lines.append("# TYPE demo_memory_usage_bytes gauge")
    for k, kind in enumerate(MEMORY_TYPES):
        # Phases distinct per (instance, type): ties would leave topk's pick to the order in
        # which each store happens to keep its series, which PromQL leaves open.
        sample("demo_memory_usage_bytes", float(round(2e9 + 5e8 * math.sin(t / 300 + k + 0.37 * instance))),
               f'type="{kind}"')
    lines.append("# TYPE demo_cpu_usage_seconds_total counter")
    for mode, per_second in CPU_MODES.items():
        # Instance 2 restarts every 10 minutes: its counters reset.
        elapsed = t % 600 if instance == 2 else t - 1_700_000_000
        sample("demo_cpu_usage_seconds_total", round(elapsed * per_second * (1 + instance / 10), 3),
               f'mode="{mode}"')
    lines.append("# TYPE demo_disk_usage_bytes gauge")
    sample("demo_disk_usage_bytes", float(5e10 + 1e6 * (t % 3600) + instance))
    lines.append("# TYPE demo_disk_total_bytes gauge")
    sample("demo_disk_total_bytes", 1e11)
    lines.append("# TYPE demo_api_request_duration_seconds histogram")
    for e, (method, path, status) in enumerate(ENDPOINTS):
        labels = f'method="{method}",path="{path}",status="{status}"'
        rate = (20 if status == "200" else 1) * (1 + e % 3) * (1 + instance)
        count = (t - 1_700_000_000) * rate
        scale = 0.002 * (1 + e % 4)
        for le in BUCKETS:
            sample("demo_api_request_duration_seconds_bucket", float(math.floor(count * latency_cdf(le, scale))),
                   f'{labels},le="{le!r}"')
        sample("demo_api_request_duration_seconds_bucket", float(count), f'{labels},le="+Inf"')
        sample("demo_api_request_duration_seconds_sum", round(count * scale * 1.3, 6), labels)
        sample("demo_api_request_duration_seconds_count", float(count), labels)
    lines.append("# TYPE demo_batch_last_success_timestamp_seconds gauge")
    sample("demo_batch_last_success_timestamp_seconds", float(t - t % 300 + instance))
    if (t // 60) % 2 == 0:  # present every other minute
        lines.append("# TYPE demo_intermittent_metric gauge")
        sample("demo_intermittent_metric", 1.0)
    return ("\n".join(lines) + "\n").encode()


start_at = None  # the first sample timestamp served, set by SIGUSR1
stop_at = None   # the last one, set by SIGUSR2: from then on that sample is served again


def on_start(*_):
    global start_at
    start_at = (int(time.time()) // STEP + 2) * STEP
    print(f"started {start_at}", flush=True)


def on_stop(*_):
    global stop_at
    now = int(time.time())
    stop_at = now - now % STEP
    print(f"stopped {stop_at}", flush=True)


def serve(instance):
    def render():
        now = int(time.time())
        t = now - now % STEP
        if stop_at is not None:
            t = min(t, stop_at)
        return exposition(instance, t) if start_at is not None and t >= start_at else b""
    return h.serve_metrics(render).server_address[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instances", type=int, default=3)
    args = parser.parse_args()
    signal.signal(signal.SIGUSR1, on_start)
    signal.signal(signal.SIGUSR2, on_stop)
    ports = [serve(i) for i in range(args.instances)]
    print("ready " + " ".join(map(str, ports)), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
