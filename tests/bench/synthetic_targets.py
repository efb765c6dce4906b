#!/usr/bin/python3
"""Synthetic scrape targets for tests/bench/collector_vs_prometheus.py: TARGETS HTTP servers
on loopback, each exposing SERIES series (counters, gauges and a histogram) whose values move
between scrapes. Bodies are rendered ahead in a few variants so that serving costs little CPU
next to the scrapers being measured.

Usage: synthetic_targets.py TARGETS SERIES    prints "ready PORT...", serves until killed.
"""

import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness as h  # noqa: E402

VARIANTS = 8
BUCKETS = ("0.005", "0.01", "0.05", "0.1", "0.5", "1", "+Inf")


def bodies(target, series):
    rng = random.Random(target)
    shards = max(1, series // 100)
    per_shard = series // shards
    counters = [rng.randint(0, 10**6) for _ in range(series)]
    out = []
    for variant in range(VARIANTS):
        lines = ["# TYPE synthetic_requests_total counter", "# TYPE synthetic_gauge gauge",
                 "# TYPE synthetic_latency_seconds histogram"]
        n = 0
        for shard in range(shards):
            for i in range(per_shard):
                kind = i % 3
                counters[n] += rng.randint(0, 50)
                if kind == 0:
                    lines.append(f'synthetic_requests_total{{shard="{shard}",path="/p{i}"}} {counters[n] + variant * 17}')
                elif kind == 1:
                    lines.append(f'synthetic_gauge{{shard="{shard}",item="i{i}"}} {rng.random() * 100:.3f}')
                else:
                    bucket = BUCKETS[i % len(BUCKETS)]
                    lines.append(f'synthetic_latency_seconds_bucket{{shard="{shard}",le="{bucket}",n="{i}"}} '
                                 f'{counters[n] + variant * 5}')
                n += 1
        out.append(("\n".join(lines) + "\n").encode())
    return out


def serve(target, series):
    rendered = bodies(target, series)
    return h.serve_metrics(lambda: rendered[int(time.time()) % VARIANTS]).server_address[1]


def main():
    targets, series = int(sys.argv[1]), int(sys.argv[2])
    ports = [serve(t, series) for t in range(targets)]
    print("ready " + " ".join(map(str, ports)), flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
