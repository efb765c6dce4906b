#!/usr/bin/python3
"""Firing-to-delivery latency of notifications: SHARDS alerts that fire at once, from the moment
their series change to the moment a webhook receives them; mingus-collector alone, and
Prometheus with Alertmanager on the same rule, target, intervals and notify file.

A synthetic target (served from this process) exposes bench_level{shard="0".."SHARDS-1"} at 0
and bench_warm 0. One rule group, evaluated every second:

    - alert: BenchWarm   expr: bench_warm > 0
    - alert: BenchHigh   expr: bench_level > 5      (for: 0s)

scraped every second. The same Alertmanager-format file is the collector's notify.yaml and
Alertmanager's configuration: one route to a webhook on 127.0.0.1 (a small asyncio HTTP server in this
process recording when each alert arrives, by its shard label), group_wait GROUP_WAIT,
group_interval 5m, repeat_interval 1h, send_resolved false, grouped either by [alertname, shard]
(SHARDS groups of one alert: the hard case) or by [alertname] (one group of SHARDS alerts).

Each run starts the system fresh (new storage), waits until it has scraped every series (and, for
Prometheus, until it has found Alertmanager), flips bench_warm to 1 and waits for the BenchWarm
notification, so the whole path is live; Prometheus drops alerts sent before it has found an
Alertmanager and resends them only a minute later. It then measures the system's CPU over
BASELINE seconds at rest, waits a random fraction of a second (so that T0 falls anywhere in the
1 s scrape and evaluation cycle, not at the phase the warm-up left) and at T0 flips every
bench_level to 10. Per alert:

  latency from T0: its arrival at the receiver minus T0. Bounded from below by the scrape phase
    (up to one scrape interval until the change is scraped), the evaluation phase (up to one
    evaluation interval) and group_wait; the first two depend on where T0 falls, so they spread
    the figure by up to 2 s from run to run. Also quoted minus group_wait;
  latency from the firing evaluation: arrival minus the alert's startsAt in the payload (the
    timestamp of the evaluation that found it firing: the scrape and evaluation phases are left
    out, group_wait is in). The steadier figure;

and the median, p99 (nearest rank) and max over the alerts; alerts delivered; notifications
(POSTs) that carried them; shards notified more than once (each must be notified exactly once:
after the last arrival the run waits SETTLE seconds more for duplicates); CPU seconds (utime +
stime) of the system, Prometheus and Alertmanager together, from T0 to the last arrival.

The system under test runs pinned to core 1, this process (target and receiver) to core 0. Go's
runtime sizes itself to the one core it is given. Figures are medians of --runs runs; the
machine is shared and noisy (2 cores).

Prints each run, the figures as JSON, then a markdown table for BENCHMARKS.md and the command
that made it. --smoke: the collector only, one run of each grouping; checks only that every
alert was delivered, each exactly once (no speed threshold).

Usage: /usr/bin/python3 tests/bench/notify_latency.py --collector C [--shards 1000]
           [--group-wait 1] [--runs 3] [--systems collector,prometheus]
           [--groupings shard,alertname] [--smoke]
"""

import argparse
import asyncio
import datetime
import json
import math
import os
import random
import re
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness as h  # noqa: E402

ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
BENCH_CPU, SERVER_CPU = 0, 1
SYSTEMS = ("collector", "prometheus")
GROUPINGS = {"shard": "[alertname, shard]", "alertname": "[alertname]"}
SYSTEM_NAMES = {"collector": "collector", "prometheus": "Prometheus + Alertmanager"}

RULES = """groups:
  - name: bench
    interval: 1s
    rules:
      - alert: BenchWarm
        expr: bench_warm > 0
      - alert: BenchHigh
        expr: bench_level > 5
"""


# ---------------------------------------------------------------------------- target and receiver

class Target:
    """The scrape target: bench_level{shard} for every shard and bench_warm, both bodies rendered
    in advance so that a flip is one assignment."""

    def __init__(self, shards):
        def body(level, warm):
            lines = ["# TYPE bench_level gauge\n"]
            lines += [f'bench_level{{shard="{s}"}} {level}\n' for s in range(shards)]
            lines.append(f"# TYPE bench_warm gauge\nbench_warm {warm}\n")
            return "".join(lines).encode()
        self._bodies = {"cold": body(0, 0), "warm": body(0, 1), "high": body(10, 1)}
        self._body = self._bodies["cold"]
        self.server = h.serve_metrics(lambda: self._body)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"

    def warm(self):
        self._body = self._bodies["warm"]

    def flip(self):
        """Every bench_level to 10; returns T0 (time.time())."""
        t0 = time.time()
        self._body = self._bodies["high"]
        return t0

    def close(self):
        self.server.shutdown()
        self.server.server_close()


_RFC3339 = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")


def parse_rfc3339(text):
    """Unix seconds of an RFC 3339 time with any number of fractional digits (Go prints up to
    nine, Python's fromisoformat takes at most six)."""
    m = _RFC3339.match(text)
    if not m:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    zone = "+00:00" if m.group(3) == "Z" else m.group(3)
    whole = datetime.datetime.fromisoformat(m.group(1) + zone).timestamp()
    return whole + (float("0." + m.group(2)) if m.group(2) else 0.0)


class Receiver:
    """A webhook receiver on 127.0.0.1 recording, per firing BenchHigh alert, its shard, arrival
    time and startsAt; and when BenchWarm arrived. One asyncio loop on its own thread rather than
    http.server's thread per connection: Alertmanager opens a connection per group at once, and
    with a thread each the receiver itself took about 1.5 s to answer 1 000 of them here, which
    would have shown as Alertmanager's latency. The listen backlog is 4096 for the same burst."""

    def __init__(self):
        self.lock = threading.Lock()
        self.arrivals = {}     # shard -> [(arrival, startsAt)]
        self.warm_at = None
        self.posts = 0         # POSTs carrying a firing BenchHigh alert
        self.other = []        # anything unexpected (resolved notifications, bad requests)
        self.loop = asyncio.new_event_loop()
        started = threading.Event()

        def run():
            asyncio.set_event_loop(self.loop)
            self.server = self.loop.run_until_complete(
                asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=4096))
            started.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        started.wait()
        self.port = self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader, writer):
        """HTTP/1.1 POSTs with a Content-Length, kept alive until the client closes."""
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)}
                body = await reader.readexactly(int(headers.get("content-length", 0)))
                arrived = time.time()
                close = headers.get("connection", "").lower() == "close"
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
                             + (b"Connection: close\r\n" if close else b"") + b"\r\n")
                if lines[0].startswith("POST "):
                    self.record(arrived, body)
                else:
                    with self.lock:
                        self.other.append(f"not a POST: {lines[0]!r}")
                await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, ValueError):
            pass  # the client closed the connection (or sent garbage: counted as nothing)
        finally:
            writer.close()

    def record(self, arrived, body):
        try:
            payload = json.loads(body)
            alerts = payload["alerts"]
        except (ValueError, KeyError, TypeError) as e:
            with self.lock:
                self.other.append(f"bad payload ({e}): {body[:200]!r}")
            return
        with self.lock:
            carried = False
            for alert in alerts:
                labels = alert.get("labels", {})
                if alert.get("status") != "firing":
                    self.other.append(f"{alert.get('status')} {labels}")
                elif labels.get("alertname") == "BenchWarm":
                    self.warm_at = self.warm_at or arrived
                elif labels.get("alertname") == "BenchHigh" and "shard" in labels:
                    self.arrivals.setdefault(labels["shard"], []).append(
                        (arrived, parse_rfc3339(alert["startsAt"])))
                    carried = True
                else:
                    self.other.append(f"unexpected alert {labels}")
            self.posts += carried

    def delivered(self):
        with self.lock:
            return len(self.arrivals)

    def close(self):
        """Stops listening and stops the loop (kept-alive connections die with the daemon thread;
        not waiting for them, which Python 3.12's wait_closed() would)."""
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


# ---------------------------------------------------------------------------- the systems

def notify_yaml(receiver_port, grouping, group_wait):
    """The collector's notify.yaml and Alertmanager's configuration, the same text."""
    return f"""route:
  receiver: bench
  group_by: {GROUPINGS[grouping]}
  group_wait: {group_wait}s
  group_interval: 5m
  repeat_interval: 1h
receivers:
  - name: bench
    webhook_configs:
      - url: http://127.0.0.1:{receiver_port}/hook
        send_resolved: false
"""


def scrape_yaml(target):
    return ("global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}\n"
            "rule_files: [rules.yml]\n"
            "scrape_configs:\n"
            f'  - job_name: bench\n    static_configs: [{{targets: ["{target.address}"]}}]\n')


def pin_all_threads(pid, cpu):
    """Pin every thread of pid to cpu (threads started since the process was pinned inherit it;
    this catches any that set their own)."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setaffinity(int(tid), {cpu})
        except (ProcessLookupError, PermissionError):
            pass


class Collector:
    def __init__(self, binary, tmp, target, receiver, grouping, group_wait):
        h.write_file(os.path.join(tmp, "rules.yml"), RULES)
        h.write_file(os.path.join(tmp, "notify.yaml"), notify_yaml(receiver.port, grouping, group_wait))
        config = h.write_file(os.path.join(tmp, "collector.yaml"), scrape_yaml(target))
        self.server = h.start_collector(binary, config=config, storage_dir=os.path.join(tmp, "data"),
                                        cpu=SERVER_CPU)
        self.processes = [self.server]

    def ready(self):
        return True

    def output(self):
        return self.server.output()


class PrometheusAndAlertmanager:
    def __init__(self, tmp, target, receiver, grouping, group_wait):
        h.write_file(os.path.join(tmp, "rules.yml"), RULES)
        am_config = h.write_file(os.path.join(tmp, "alertmanager.yml"),
                                 notify_yaml(receiver.port, grouping, group_wait))
        am_dir = os.path.join(tmp, "am")
        os.makedirs(am_dir)
        self.alertmanager = h._start_on_free_port(  # noqa: SLF001 - the harness' port-race retry
            lambda port: [ALERTMANAGER, f"--config.file={am_config}", f"--storage.path={am_dir}",
                          f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
            "alertmanager", "/-/ready", cwd=am_dir, cpu=SERVER_CPU)
        am_address = self.alertmanager.base_url[len("http://"):]
        config = h.write_file(os.path.join(tmp, "prometheus.yml"), scrape_yaml(target) + (
            f'alerting:\n  alertmanagers:\n    - static_configs: [{{targets: ["{am_address}"]}}]\n'))
        data = os.path.join(tmp, "prometheus")
        os.makedirs(data)
        try:
            self.server = h._start_on_free_port(  # noqa: SLF001
                lambda port: [h.PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={data}",
                              f"--web.listen-address=127.0.0.1:{port}"],
                "prometheus", "/-/ready", timeout=60, cwd=tmp, cpu=SERVER_CPU)
        except Exception:
            self.alertmanager.__exit__(None, None, None)
            raise
        self.processes = [self.server, self.alertmanager]

    def ready(self):
        """Prometheus has found Alertmanager (before that it drops the alerts it sends)."""
        body = json.loads(self.server.get("/api/v1/alertmanagers").text())
        return bool(body["data"]["activeAlertmanagers"])

    def output(self):
        return "\n".join(f"--- {p.name}:\n{p.output()[-3000:]}" for p in self.processes)


# ---------------------------------------------------------------------------- one run

def nearest_rank(values, q):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else float("nan")


def cpu_of(system):
    return sum(h.cpu_seconds(p.pid) for p in system.processes)


def run_one(kind, grouping, args, tmp):
    target, receiver = Target(args.shards), Receiver()
    try:
        if kind == "collector":
            system = Collector(args.collector, tmp, target, receiver, grouping, args.group_wait)
        else:
            system = PrometheusAndAlertmanager(tmp, target, receiver, grouping, args.group_wait)
        try:
            for p in system.processes:
                pin_all_threads(p.pid, SERVER_CPU)
            return measure(system, target, receiver, args)
        except Exception as e:
            raise RuntimeError(f"{kind}, group_by {GROUPINGS[grouping]}: {e}\n{system.output()}") from None
        finally:
            for p in reversed(system.processes):
                p.__exit__(None, None, None)
    finally:
        target.close()
        receiver.close()


def measure(system, target, receiver, args):
    server = system.processes[0]
    h.wait_until(lambda: int(float(h.query(server, "count(bench_level)")["result"][0]["value"][1]))
                 == args.shards, timeout=60, what="every bench_level series scraped")
    h.wait_until(system.ready, timeout=120, what="Prometheus to find Alertmanager")
    target.warm()
    h.wait_until(lambda: receiver.warm_at, timeout=180, what="the BenchWarm notification")
    for p in system.processes:
        pin_all_threads(p.pid, SERVER_CPU)
    cpu_before, began = cpu_of(system), time.monotonic()
    time.sleep(args.baseline)
    idle_cpu = (cpu_of(system) - cpu_before) / (time.monotonic() - began)
    # Everything so far ran in step with the 1 s evaluation ticks (the warm-up notification left
    # at one): a random fraction of a second puts T0 anywhere in the scrape and evaluation cycle.
    time.sleep(random.random())

    cpu_before = cpu_of(system)
    t0 = target.flip()
    deadline = time.monotonic() + args.timeout
    while receiver.delivered() < args.shards and time.monotonic() < deadline:
        time.sleep(0.02)
    cpu = cpu_of(system) - cpu_before
    time.sleep(args.settle)  # duplicates, late arrivals

    with receiver.lock:
        arrivals = {shard: list(times) for shard, times in receiver.arrivals.items()}
        posts, other = receiver.posts, list(receiver.other)
    first = {shard: min(times) for shard, times in arrivals.items()}
    from_t0 = [arrived - t0 for arrived, _ in first.values()]
    from_eval = [arrived - starts for arrived, starts in first.values()]
    wait = args.group_wait
    expected = {str(s) for s in range(args.shards)}
    return {
        "delivered": len(first),
        "missing": sorted(expected - set(first), key=int)[:10],
        "unknown_shards": sorted(set(first) - expected)[:10],
        "duplicated": sum(1 for times in arrivals.values() if len(times) > 1),
        "posts": posts,
        "unexpected": other[:5],
        "median_s": statistics.median(from_t0) if from_t0 else float("nan"),
        "p99_s": nearest_rank(from_t0, 0.99),
        "max_s": max(from_t0, default=float("nan")),
        "min_s": min(from_t0, default=float("nan")),
        "median_minus_wait_s": (statistics.median(from_t0) - wait) if from_t0 else float("nan"),
        "p99_minus_wait_s": nearest_rank(from_t0, 0.99) - wait,
        "eval_median_s": statistics.median(from_eval) if from_eval else float("nan"),
        "eval_p99_s": nearest_rank(from_eval, 0.99),
        "eval_max_s": max(from_eval, default=float("nan")),
        "cpu_seconds": cpu,
        "idle_cpu_per_s": idle_cpu,
    }


# ---------------------------------------------------------------------------- report

NUMERIC = ("delivered", "duplicated", "posts", "median_s", "p99_s", "max_s", "min_s", "median_minus_wait_s",
           "p99_minus_wait_s", "eval_median_s", "eval_p99_s", "eval_max_s", "cpu_seconds", "idle_cpu_per_s")


def summarize(results):
    return {key: {field: statistics.median(r[field] for r in runs) for field in NUMERIC}
            for key, runs in results.items() if runs}


def ratio(a, b):
    return a / b if b else float("nan")


def markdown(summary, args):
    wait = f"{args.group_wait:g}"
    rows = [
        ("alerts delivered", "delivered", "{:,.0f}"),
        ("shards notified more than once", "duplicated", "{:,.0f}"),
        ("notifications (POSTs) carrying them", "posts", "{:,.0f}"),
        ("latency from T0, median (s)", "median_s", "{:.2f}"),
        ("latency from T0, p99 (s)", "p99_s", "{:.2f}"),
        ("latency from T0, max (s)", "max_s", "{:.2f}"),
        ("latency from T0, first alert (s)", "min_s", "{:.2f}"),
        (f"latency from T0 minus group_wait ({wait} s), median (s)", "median_minus_wait_s", "{:.2f}"),
        (f"latency from T0 minus group_wait ({wait} s), p99 (s)", "p99_minus_wait_s", "{:.2f}"),
        ("from the firing evaluation (startsAt) to arrival, median (s)", "eval_median_s", "{:.2f}"),
        ("from the firing evaluation (startsAt) to arrival, p99 (s)", "eval_p99_s", "{:.2f}"),
        ("CPU seconds from T0 to the last arrival", "cpu_seconds", "{:.2f}"),
        ("CPU seconds per second at rest, before T0", "idle_cpu_per_s", "{:.3f}"),
    ]
    columns = [(kind, grouping) for grouping in GROUPINGS for kind in SYSTEMS if (kind, grouping) in summary]
    label = {"shard": f"{args.shards:,} groups".replace(",", " "), "alertname": "1 group"}
    header = "| figure | " + " | ".join(f"{SYSTEM_NAMES[k]}, {label[g]}" for k, g in columns)
    line = "|---|" + "---:|" * len(columns)
    ratios = [g for g in GROUPINGS if all((k, g) in summary for k in SYSTEMS)]
    header += "".join(f" | ours / theirs, {label[g]}" for g in ratios) + " |"
    line += "---:|" * len(ratios)
    out = [header, line]
    for text, field, fmt in rows:
        cells = [fmt.format(summary[c][field]).replace(",", " ") for c in columns]
        show_ratio = field not in ("delivered", "duplicated", "posts")
        cells += [f"{ratio(summary[('collector', g)][field], summary[('prometheus', g)][field]):.2f}"
                  if show_ratio else "" for g in ratios]
        out.append(f"| {text} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def command_line(args):
    flags = ["--collector", args.collector or "build/collector/mingus-collector",
             "--shards", str(args.shards), "--group-wait", f"{args.group_wait:g}", "--runs", str(args.runs),
             "--systems", args.systems, "--groupings", args.groupings]
    return "/usr/bin/python3 tests/bench/notify_latency.py " + " ".join(flags)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agent", help="ignored (accepted like the other benchmarks)")
    parser.add_argument("--collector", help="path to the mingus-collector binary")
    parser.add_argument("--shards", type=int, default=1000, help="alerts that fire at once")
    parser.add_argument("--group-wait", type=float, default=1, help="the route's group_wait (s)")
    parser.add_argument("--baseline", type=float, default=5, help="seconds at rest measured before T0")
    parser.add_argument("--settle", type=float, default=5,
                        help="seconds after the last arrival to wait for duplicates")
    parser.add_argument("--timeout", type=float, default=120, help="seconds from T0 to give up waiting")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--groupings", default=",".join(GROUPINGS),
                        help="shard: group_by [alertname, shard]; alertname: group_by [alertname]")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--json-out")
    args = parser.parse_args()
    if args.smoke:
        args.systems, args.runs, args.baseline, args.settle = "collector", 1, 1, 2
    systems = [s for s in args.systems.split(",") if s]
    groupings = [g for g in args.groupings.split(",") if g]
    if any(s not in SYSTEMS for s in systems) or any(g not in GROUPINGS for g in groupings):
        parser.error(f"--systems: some of {','.join(SYSTEMS)}; --groupings: some of {','.join(GROUPINGS)}")
    if "collector" in systems and not args.collector:
        parser.error("--collector is required unless --systems=prometheus")
    os.sched_setaffinity(0, {BENCH_CPU})  # the target and the receiver; the systems get core 1
    results = {(kind, grouping): [] for grouping in groupings for kind in systems}
    with h.temp_dir(prefix="mingus-bench-notify-") as tmp:
        for run in range(args.runs):
            order = list(results) if run % 2 == 0 else list(results)[::-1]
            for kind, grouping in order:
                run_dir = os.path.join(tmp, f"run{run}-{kind}-{grouping}")
                os.makedirs(run_dir)
                result = run_one(kind, grouping, args, run_dir)
                h.log(f"run {run + 1} {kind} group_by {GROUPINGS[grouping]}: {json.dumps(result)}")
                results[(kind, grouping)].append(result)
    summary = summarize(results)
    report = {"bench": "notify_latency", "shards": args.shards, "group_wait_s": args.group_wait,
              "group_interval": "5m", "scrape_interval_s": 1, "evaluation_interval_s": 1, "runs": args.runs,
              "summary": {f"{kind} group_by {GROUPINGS[g]}": s for (kind, g), s in summary.items()}}
    print(json.dumps(report, indent=1))
    if args.json_out:
        h.write_file(args.json_out, json.dumps(report, indent=1))
    print("\n" + markdown(summary, args) + "\n\n```sh\n" + command_line(args) + "\n```")
    problems = []
    for (kind, grouping), runs in results.items():
        for i, r in enumerate(runs):
            where = f"run {i + 1} {kind} group_by {GROUPINGS[grouping]}"
            if r["delivered"] != args.shards:
                problems.append(f"{where}: {r['delivered']} of {args.shards} alerts delivered "
                                f"(missing e.g. {r['missing']})")
            if r["duplicated"]:
                problems.append(f"{where}: {r['duplicated']} shards notified more than once")
            if r["unknown_shards"] or r["unexpected"]:
                problems.append(f"{where}: unexpected notifications: {r['unknown_shards']} {r['unexpected']}")
    for p in problems:
        h.log("FAIL: " + p)
    if not problems:
        h.log(f"OK: every run delivered all {args.shards} alerts, each exactly once")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
