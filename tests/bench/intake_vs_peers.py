#!/usr/bin/python3
"""UDP intake cost: mingus-agent beside a bare recvmmsg receiver (the practical limit),
collectd's statsd plugin and netdata's statsd, in the same session on loopback.

udp_blast (sendmmsg, tests/bench/udp_blast.c) is pinned to core 0 and the receiver to core
1; both C tools are compiled here with `cc -O2` into a temp dir. Each receiver is started
once per workload and measured run after run; between runs it is given time to count what
it took in. Loss is 1 - lines counted by the receiver's own counters / lines sent (the bare
receiver's totals, mingus_agent_lines_total less parse errors, collectd's counter sums from
write_prometheus, netdata's statsd event counts less errors); the kernel's drops on the
receiver's socket (/proc/net/udp) are shown beside it as a cross-check.

Figures, medians of --runs runs:
  (i)  receiver CPU seconds (utime+stime of /proc/PID/stat) per million lines, at a fixed
       CPU_RATE datagrams/s of one line each for CPU_SECONDS;
  (ii) the highest sustained lines/s with < 0.1% loss, LINES_PER_DATAGRAM lines per
       datagram: the rate steps up through STEP_RATES until the median loss reaches 0.1%,
       or the sender cannot go faster (then the figure is a floor, marked ">=").

Workloads: plain counters, DogStatsD-tagged timers, JSON api events. collectd takes plain
counters only (it refuses DogStatsD tags and JSON); netdata takes counters and tagged timers
(it drops the tags), not JSON. Neither peer can raise its own receive buffer, so while one
runs net.core.rmem_default is 8 MiB (what the agent and the bare receiver ask for) and it
is restored after; every receiver's granted buffer is printed.

--smoke: a few seconds, the agent and the bare receiver only, plain counters at a low rate;
exits 0 iff both count every line sent.

Usage: /usr/bin/python3 tests/bench/intake_vs_peers.py --agent build/agent/mingus-agent
           [--runs 3] [--smoke] [--workloads counters,...] [--receivers mingus-agent,...]
           [--json-out FILE] [--figures i,ii]
"""

import argparse
import contextlib
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness as h  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SENDER_CPU, RECEIVER_CPU = 0, 1
CPU_RATE, CPU_SECONDS = 200_000, 5          # figure (i): datagrams/s of one line, seconds
LINES_PER_DATAGRAM, STEP_SECONDS = 20, 3    # figure (ii)
STEP_RATES = (10_000, 25_000, 50_000, 75_000, 100_000, 150_000, 200_000, 250_000, 300_000,
              400_000, 500_000, 700_000)    # datagrams/s
MAX_LOSS = 0.001
SENDER_KEEPS_UP = 0.97  # below this share of the asked rate the sender is the bottleneck
SMOKE_RATE, SMOKE_SECONDS = 20_000, 2
RMEM_DEFAULT = "/proc/sys/net/core/rmem_default"
PEER_RMEM = 8 << 20

WORKLOADS = {
    "counters": [f"bench.counter{i}:1|c" for i in range(100)],
    "tagged timers": [f"bench.timer:{i % 50 + 1}.5|ms|#endpoint:/e{i % 10},method:GET" for i in range(100)],
    "json api events": [json.dumps({"type": "api", "endpoint": f"/users/{i}", "method": "GET",
                                    "status": 200, "duration_ms": 12.5}) for i in range(100)],
}


# ---------------------------------------------------------------------------- receivers

class Receiver:
    """One receiver process on 127.0.0.1:port, pinned to RECEIVER_CPU. lines() is its own
    count of the lines it took in so far; publish_interval is how stale that count may be."""
    name = ""
    workloads = tuple(WORKLOADS)
    publish_interval = 0.0
    needs_rmem_default = False
    process = None  # an h.Process
    port = None

    @property
    def pid(self):
        return self.process.pid

    def lines(self):
        raise NotImplementedError

    def errors(self):
        """Lines it read but refused."""
        return 0

    def stop(self):
        self.process.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.process.__exit__(*exc)
        return False


class Sink(Receiver):
    name = "bare recvmmsg"

    def __init__(self, tools, tmp):
        self.port = h.free_port(socket.SOCK_DGRAM)
        self.process = h.Process([tools["udp_sink"], str(self.port)], name="udp_sink", cpu=RECEIVER_CPU)
        self.process.wait_for_line("^ready$")
        self._reports = 0

    def lines(self):
        # SIGUSR1: it prints "DATAGRAMS LINES" within its 100 ms tick.
        self._reports += 1
        self.process.signal(signal.SIGUSR1)
        h.wait_until(lambda: len(self._counts()) >= self._reports, timeout=5, what="udp_sink's counts")
        return self._counts()[-1]

    def _counts(self):
        return [int(m.group(1)) for m in re.finditer(r"^\d+ (\d+)$", self.process.output(), re.M)]


class Agent(Receiver):
    name = "mingus-agent"

    def __init__(self, agent_path, tmp):
        # One receive thread (the peers have one), host collectors off: only the intake works.
        config = h.write_file(os.path.join(tmp, "agent-bench.yaml"), "statsd: {receive_threads: 1}\ncollectors:\n"
                              + "".join(f"  {c}: {{enabled: false}}\n" for c in h.AGENT_COLLECTORS))
        self.process = h.start_agent(agent_path, config=config, cpu=RECEIVER_CPU)
        self.port = h.split_udp_address(self.process.udp_address)[1]

    def _counts(self):
        samples, _ = self.process.metrics()
        read = sum(v for (name, _), v in samples.items() if name == "mingus_agent_lines_total")
        refused = sum(v for (name, _), v in samples.items() if name == "mingus_agent_parse_errors_total")
        return read, refused

    def lines(self):
        read, refused = self._counts()
        return read - refused

    def errors(self):
        return self._counts()[1]

    def stop(self):
        h.stop_agent(self.process)


class Collectd(Receiver):
    name = "collectd statsd"
    workloads = ("counters",)
    publish_interval = 1.0
    needs_rmem_default = True

    def __init__(self, tools, tmp):
        self.port = h.free_port(socket.SOCK_DGRAM)
        self.process = h.start_collectd(self.port, tmp, cpu=RECEIVER_CPU)

    def lines(self):
        # Every workload line adds 1 to one counter: the counters' sum is the lines taken.
        samples, _ = self.process.metrics()
        return sum(v for (name, _), v in samples.items() if name == "collectd_statsd_derive_total")


class Netdata(Receiver):
    name = "netdata statsd"
    workloads = ("counters", "tagged timers")
    publish_interval = 1.0
    needs_rmem_default = True
    _REFUSED = ("unknown", "errors")

    def __init__(self, tools, tmp):
        self.port = h.free_port(socket.SOCK_DGRAM)
        self.process = h.start_netdata(self.port, tmp, cpu=RECEIVER_CPU)

    def _events(self):
        samples, _ = h.parse_exposition(self.process.get(h.NETDATA_ALLMETRICS).text())
        return {dict(labels)["dimension"]: v for (name, labels), v in samples.items()
                if name == "netdata_netdata_statsd_events_total"}

    def lines(self):
        return sum(v for dim, v in self._events().items() if dim not in self._REFUSED)

    def errors(self):
        return sum(v for dim, v in self._events().items() if dim in self._REFUSED)


RECEIVERS = (Sink, Agent, Collectd, Netdata)


@contextlib.contextmanager
def rmem_default(size):
    """net.core.rmem_default = size while inside (sockets made meanwhile get that receive
    buffer), then the old value back."""
    with open(RMEM_DEFAULT, encoding="ascii") as f:
        before = f.read().strip()
    with open(RMEM_DEFAULT, "w", encoding="ascii") as f:
        f.write(str(size))
    try:
        yield
    finally:
        with open(RMEM_DEFAULT, "w", encoding="ascii") as f:
            f.write(before)


def granted_receive_buffer(port):
    """The receive buffer the kernel gave the socket on 127.0.0.1:port (ss's skmem rb)."""
    out = subprocess.run(["ss", "-Hulnm", f"sport = :{port}"], capture_output=True, text=True).stdout
    m = re.search(r"\brb(\d+)", out)
    return int(m.group(1)) if m else None


@contextlib.contextmanager
def start_receiver(cls, args, tools, tmp):
    """A started receiver of class cls, with rmem_default raised around it if it needs that."""
    with contextlib.ExitStack() as stack:
        if cls.needs_rmem_default:
            stack.enter_context(rmem_default(PEER_RMEM))
        receiver = cls(args.agent, tmp) if cls is Agent else cls(tools, tmp)
        with receiver:
            h.log(f"  {receiver.name}: pid {receiver.pid}, udp port {receiver.port}, "
                  f"receive buffer {granted_receive_buffer(receiver.port)} bytes")
            yield receiver
            receiver.stop()


# ---------------------------------------------------------------------------- one run

def compile_tools(tmp):
    tools = {}
    for name in ("udp_blast", "udp_sink"):
        tools[name] = os.path.join(tmp, name)
        subprocess.run(["cc", "-O2", "-Wall", "-o", tools[name], os.path.join(HERE, name + ".c")], check=True)
    return tools


def blast(tools, payload, port, seconds, rate, per_datagram):
    """(datagrams, lines, seconds) sent by udp_blast pinned to SENDER_CPU."""
    out = subprocess.run(["taskset", "-c", str(SENDER_CPU), tools["udp_blast"], "-f", payload, "127.0.0.1",
                          str(port), str(seconds), str(rate), str(per_datagram)],
                         check=True, capture_output=True, text=True).stdout.split()
    return int(out[0]), int(out[1]), float(out[2])


def settle(receiver, target, timeout=30):
    """The receiver's line count once it reaches target or stops moving for longer than
    its publish interval."""
    deadline = time.monotonic() + timeout
    count, moved = receiver.lines(), time.monotonic()
    while count < target and time.monotonic() < deadline:
        if time.monotonic() - moved > receiver.publish_interval + 1.0:
            break
        time.sleep(0.2)
        now = receiver.lines()
        if now != count:
            count, moved = now, time.monotonic()
    return count


def one_run(receiver, tools, payload, seconds, rate, per_datagram):
    """Sends one load at the receiver; returns what it sent, took in, dropped and cost."""
    before_lines = settle(receiver, 0)
    before_errors, before_drops = receiver.errors(), h.udp_socket_drops(receiver.port)
    before_cpu = h.cpu_seconds(receiver.pid)
    datagrams, lines, elapsed = blast(tools, payload, receiver.port, seconds, rate, per_datagram)
    time.sleep(0.5)  # a receiver that keeps up drains its buffer long before this
    cpu = h.cpu_seconds(receiver.pid) - before_cpu
    received = settle(receiver, before_lines + lines) - before_lines
    return {
        "sent_lines": lines, "sent_datagrams": datagrams, "sent_lines_per_s": lines / elapsed,
        "asked_lines_per_s": rate * per_datagram, "received_lines": received,
        "loss": 1 - received / lines, "cpu_s": cpu,
        "cpu_s_per_million_lines": cpu / (received / 1e6) if received else float("inf"),
        "kernel_drops": h.udp_socket_drops(receiver.port) - before_drops,
        "refused_lines": receiver.errors() - before_errors,
    }


def median_of(runs, key):
    return statistics.median(r[key] for r in runs)


# ---------------------------------------------------------------------------- the figures

def cpu_figure(receiver, tools, payload, runs):
    """(i): CPU per million lines at CPU_RATE datagrams/s of one line."""
    results = [one_run(receiver, tools, payload, CPU_SECONDS, CPU_RATE, 1) for _ in range(runs)]
    for r in results:
        h.log(f"    (i) {CPU_RATE:,}/s x1: sent {r['sent_lines']:,} ({r['sent_lines_per_s']:,.0f}/s) "
              f"received {r['received_lines']:,.0f} loss {r['loss']:.4%} drops {r['kernel_drops']} "
              f"refused {r['refused_lines']:.0f} cpu {r['cpu_s']:.2f}s -> {r['cpu_s_per_million_lines']:.3f} s/M")
    return {
        "cpu_s_per_million_lines": median_of(results, "cpu_s_per_million_lines"),
        "loss": median_of(results, "loss"),
        "kernel_drops": median_of(results, "kernel_drops"),
        "refused_lines": median_of(results, "refused_lines"),
        "sender_kept_up": median_of(results, "sent_lines_per_s") >= SENDER_KEEPS_UP * CPU_RATE,
        "runs": results,
    }


def max_rate_figure(receiver, tools, payload, runs):
    """(ii): the highest step of STEP_RATES at which the median loss stays under MAX_LOSS."""
    best, floor, steps = 0.0, False, []
    for rate in STEP_RATES:
        results = [one_run(receiver, tools, payload, STEP_SECONDS, rate, LINES_PER_DATAGRAM) for _ in range(runs)]
        loss, achieved = median_of(results, "loss"), median_of(results, "sent_lines_per_s")
        sender_short = achieved < SENDER_KEEPS_UP * rate * LINES_PER_DATAGRAM
        steps.append({"datagrams_per_s": rate, "loss": loss, "sent_lines_per_s": achieved,
                      "kernel_drops": median_of(results, "kernel_drops"), "sender_short": sender_short})
        h.log(f"    (ii) {rate:,}/s x{LINES_PER_DATAGRAM}: sent {achieved:,.0f} lines/s, median loss {loss:.4%}, "
              f"kernel drops {steps[-1]['kernel_drops']:.0f}" + (" (sender short of the rate)" if sender_short else ""))
        if loss >= MAX_LOSS:
            break
        best = achieved
        if sender_short:
            floor = True  # it kept up with all the sender could do
            break
    return {"max_lines_per_s": best, "is_floor": floor, "steps": steps}


def measure_pair(cls, workload, args, tools, tmp):
    payload = h.write_file(os.path.join(tmp, "payload.txt"), "\n".join(WORKLOADS[workload]) + "\n")
    h.log(f"{workload} / {cls.name}")
    with start_receiver(cls, args, tools, tmp) as receiver:
        result = {}
        if "i" in args.figures:
            result["cpu"] = cpu_figure(receiver, tools, payload, args.runs)
        if "ii" in args.figures:
            result["max"] = max_rate_figure(receiver, tools, payload, args.runs)
    return result


def print_table(results, bare_name=Sink.name):
    h.log("")
    h.log("| workload | receiver | (i) CPU s per M lines | vs bare | (i) loss | (i) kernel drops "
          "| (ii) lines/s, < 0.1% loss |")
    h.log("|---|---|---:|---:|---:|---:|---:|")
    for (workload, name), r in results.items():
        cells = ["", "", "", "", ""]  # a figure not measured (--figures) stays empty
        if "cpu" in r:
            cpu = r["cpu"]["cpu_s_per_million_lines"]
            bare = results.get((workload, bare_name), {}).get("cpu")
            short = "" if r["cpu"]["sender_kept_up"] else " (sender short)"
            cells[:4] = [f"{cpu:.3f}{short}", f"{cpu / bare['cpu_s_per_million_lines']:.2f}x" if bare else "",
                         f"{r['cpu']['loss']:.3%}", f"{r['cpu']['kernel_drops']:.0f}"]
        if "max" in r:
            cells[4] = ("≥ " if r["max"]["is_floor"] else "") + f"{r['max']['max_lines_per_s']:,.0f}"
        h.log(f"| {workload} | {name} | " + " | ".join(cells) + " |")


# ---------------------------------------------------------------------------- main

def smoke(args, tools, tmp):
    """Agent and bare receiver, plain counters at a low rate: no line may go missing."""
    payload = h.write_file(os.path.join(tmp, "payload.txt"), "\n".join(WORKLOADS["counters"]) + "\n")
    ok = True
    for cls in (Sink, Agent):
        with start_receiver(cls, args, tools, tmp) as receiver:
            for per_datagram in (1, LINES_PER_DATAGRAM):
                r = one_run(receiver, tools, payload, SMOKE_SECONDS, SMOKE_RATE // per_datagram, per_datagram)
                good = r["received_lines"] == r["sent_lines"] and r["refused_lines"] == 0 and r["sent_lines"] > 0
                h.log(f"smoke {cls.name} x{per_datagram}: sent {r['sent_lines']:,} lines, received "
                      f"{r['received_lines']:,.0f}, refused {r['refused_lines']:.0f}, kernel drops "
                      f"{r['kernel_drops']} -- {'ok' if good else 'FAIL'}")
                ok &= good
    h.log("OK: both received every line" if ok else "FAIL: a receiver lost or refused lines at a low rate")
    return 0 if ok else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agent", required=True, help="path to the mingus-agent binary")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated subset")
    parser.add_argument("--receivers", default=",".join(cls.name for cls in RECEIVERS),
                        help="comma-separated subset")
    parser.add_argument("--json-out", help="also write the results as JSON to this file")
    parser.add_argument("--figures", default="i,ii", type=lambda s: s.split(","),
                        help="i (CPU per line), ii (highest rate) or both: the sweep of ii takes "
                             "about 20 minutes over every receiver")
    args = parser.parse_args()
    # A SIGTERM (ctest's timeout, a kill) unwinds like an exception, so rmem_default is
    # restored and every child stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    with h.temp_dir(prefix="mingus-bench-") as tmp:
        tools = compile_tools(tmp)
        if args.smoke:
            return smoke(args, tools, tmp)
        wanted_workloads = args.workloads.split(",")
        wanted_receivers = args.receivers.split(",")
        present = {Collectd: h.COLLECTD, Netdata: h.NETDATA}
        results = {}
        for workload in WORKLOADS:
            if workload not in wanted_workloads:
                continue
            for cls in RECEIVERS:
                if cls.name not in wanted_receivers or workload not in cls.workloads:
                    continue
                if cls in present and not os.path.exists(present[cls]):
                    h.log(f"{workload} / {cls.name}: skipped, {present[cls]} is not installed")
                    continue
                results[(workload, cls.name)] = measure_pair(cls, workload, args, tools, tmp)
        print_table(results)
        summary = {f"{w} / {n}": r for (w, n), r in results.items()}
        if args.json_out:
            h.write_file(args.json_out, json.dumps(summary, indent=1))
        print(json.dumps({k: {**({"cpu_s_per_million_lines": r["cpu"]["cpu_s_per_million_lines"],
                                  "loss": r["cpu"]["loss"]} if "cpu" in r else {}),
                              **({"max_lines_per_s": r["max"]["max_lines_per_s"],
                                  "max_is_floor": r["max"]["is_floor"]} if "max" in r else {})}
                          for k, r in summary.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
