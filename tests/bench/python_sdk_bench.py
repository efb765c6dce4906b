#!/usr/bin/python3
"""The Python SDK's cost of one timer, next to a plain StatsD client (Debian's python3-statsd)
doing the same, with the agent up and with it away.

Each client times an empty block BATCH times, then flushes (the SDK hands its queue to the
sender thread; python-statsd has sent each datagram already), RUNS times; figures are
medians over the runs of, per timer:
  - caller wall: the time in the timing loop, what the app waits for;
  - caller CPU: the calling thread's CPU time in the loop (steadier on a busy machine);
  - CPU, all threads: the process's CPU time, which adds the SDK's sender thread encoding
    and sending the events (it holds the GIL meanwhile, so it is the app's cost too);
  - wall incl. flush: loop plus flush.
The clients:
  - mingus api_timer: `with performance_monitor.api_timer("/bench/<int:id>", "GET")`, a JSON
    api event (endpoint, method, status, duration), packed about 16 to a datagram;
  - mingus Client.timing: a StatsD timer line `bench.sdk:<ms>|ms`, packed;
  - python-statsd timer: `with StatsClient(...).timer("bench.statsd")`, one datagram each.
"Agent up": a real mingus-agent on another core receives everything (the benchmark checks
that it counted every api event). "Agent away": the same address with nothing listening.
This process runs on core 0, the agent on core 1.

--smoke: one short run; exits 0 iff the agent counted every api event and no client raised.

Usage: /usr/bin/python3 tests/bench/python_sdk_bench.py --agent build/agent/mingus-agent
           [--runs 7] [--batch 5000] [--batches 4] [--smoke]
"""

import os
import socket
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "client", "python"))
import harness as h  # noqa: E402
import mingus_monitor as mm  # noqa: E402
import statsd  # noqa: E402  (python3-statsd)


def mingus_api_timer(address):
    client = mm.Client(address, queue_size=100_000, report_self=False)
    monitor = mm.PerformanceMonitor(client, collector_url="http://127.0.0.1:9")

    def one():
        with monitor.api_timer("/bench/<int:id>", "GET"):
            pass
    return one, client.flush, client


def mingus_statsd_timing(address):
    client = mm.Client(address, queue_size=100_000, report_self=False)
    clock = time.perf_counter

    def one():
        started = clock()
        client.timing("bench.sdk", (clock() - started) * 1000.0)
    return one, client.flush, client


def plain_statsd(address):
    host, port = address.rsplit(":", 1)
    client = statsd.StatsClient(host, int(port))

    def one():
        with client.timer("bench.statsd"):
            pass
    return one, lambda timeout=None: True, None


CLIENTS = [("mingus api_timer (JSON event)", mingus_api_timer),
           ("mingus Client.timing (StatsD line)", mingus_statsd_timing),
           ("python-statsd timer", plain_statsd)]


def measure(make, address, runs, batch, batches):
    one, flush, client = make(address)
    for _ in range(1000):  # warm up: the sender thread, the socket, the caches
        one()
    flush(timeout=30)
    caller, caller_cpu, total, cpu = [], [], [], []
    for _ in range(runs):
        in_loop = in_loop_cpu = 0.0
        started, cpu_started = time.perf_counter(), time.process_time()
        for _ in range(batches):
            loop_started, loop_cpu_started = time.perf_counter(), time.thread_time()
            for _ in range(batch):
                one()
            in_loop += time.perf_counter() - loop_started
            in_loop_cpu += time.thread_time() - loop_cpu_started
            flush(timeout=30)
        n = batch * batches
        total.append((time.perf_counter() - started) / n)
        cpu.append((time.process_time() - cpu_started) / n)
        caller.append(in_loop / n)
        caller_cpu.append(in_loop_cpu / n)
    stats = client.stats() if client is not None else None
    if client is not None:
        client.close()
    return {"caller": statistics.median(caller), "caller_cpu": statistics.median(caller_cpu),
            "total": statistics.median(total), "cpu": statistics.median(cpu), "stats": stats}


def api_events_counted(agent):
    samples = h.parse_exposition(agent.metrics_text())[0]
    return h.sample_value(samples, "mingus_api_requests_total", endpoint="/bench/<int:id>",
                          method="GET", status="200")


def main():
    parser = h.agent_arg_parser(__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        args.runs, args.batch, args.batches = 1, 500, 2
    try:
        os.sched_setaffinity(0, {0})
    except OSError:
        pass
    results = {}
    ok = True
    with h.start_agent(args.agent, cpu=1 if os.cpu_count() > 1 else None) as agent:
        for name, make in CLIENTS:
            results[(name, "up")] = measure(make, agent.udp_address, args.runs, args.batch,
                                            args.batches)
        expected = 1000 + args.runs * args.batch * args.batches
        try:
            h.wait_until(lambda: api_events_counted(agent) >= expected, timeout=30,
                         what=f"{expected} api events on the agent")
        except TimeoutError as e:
            h.log(f"FAIL: {e}; counted {api_events_counted(agent)}")
            ok = False
        h.stop_agent(agent)
    away = f"127.0.0.1:{h.free_port(socket.SOCK_DGRAM)}"
    for name, make in CLIENTS:
        results[(name, "away")] = measure(make, away, args.runs, args.batch, args.batches)

    h.log(f"\n{args.runs} runs of {args.batches} x {args.batch} timers; medians; "
          f"Python {sys.version.split()[0]}, python-statsd {statsd.__version__}\n")
    h.log("| client | agent | caller wall | caller CPU | CPU, all threads | wall incl. flush |")
    h.log("|---|---|---:|---:|---:|---:|")
    for (name, state), r in results.items():
        h.log(f"| {name} | {state} | {r['caller'] * 1e6:.2f} | {r['caller_cpu'] * 1e6:.2f} | "
              f"{r['cpu'] * 1e6:.2f} | {r['total'] * 1e6:.2f} |")
    h.log("(µs per timer)")
    for (name, state), r in results.items():
        if r["stats"] is not None:
            h.log(f"{name}, agent {state}: sent {r['stats']['sent_lines']} lines in "
                  f"{r['stats']['sent_datagrams']} datagrams, dropped {r['stats']['dropped']}")
    for state in ("up", "away"):
        plain = results[("python-statsd timer", state)]
        ours = results[("mingus api_timer (JSON event)", state)]
        h.log(f"mingus api_timer / python-statsd timer, agent {state}: caller wall "
              f"{ours['caller'] / plain['caller']:.2f}, caller CPU "
              f"{ours['caller_cpu'] / plain['caller_cpu']:.2f}, CPU all threads "
              f"{ours['cpu'] / plain['cpu']:.2f}")
    if args.smoke:
        h.log("OK" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
