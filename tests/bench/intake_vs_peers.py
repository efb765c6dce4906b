#!/usr/bin/python3
"""UDP intake cost: mingus-agent beside a bare recvmmsg receiver (the practical limit),
collectd's statsd plugin and netdata's statsd, on loopback, sender pinned to core 0 and
receiver to core 1.

(a) receiver CPU-seconds per million lines at a fixed rate of one line per datagram;
(b) the highest sustained lines per second with under 0.1% loss, 20 lines per datagram.
Loss is counted from each receiver's own counters against what udp_blast sent. Medians of
--runs runs. collectd takes plain counters only (it refuses DogStatsD tags and JSON); netdata
takes counters and tagged timers (dropping the tags), not JSON. Neither can raise its own
receive buffer, so net.core.rmem_default is raised to 8 MiB for the run and restored after.

Usage: /usr/bin/python3 tests/bench/intake_vs_peers.py --agent build/agent/mingus-agent [--runs 3] [--smoke]
       [--workloads "tagged timers"] [--receivers "bare recvmmsg,mingus-agent,netdata statsd"]
"""

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
import harness as h  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
COLLECTD = "/usr/sbin/collectd"
NETDATA = "/usr/sbin/netdata"
RMEM_DEFAULT = "/proc/sys/net/core/rmem_default"
WORKLOADS = {
    "counters": [f"bench.counter{i}:1|c" for i in range(100)],
    "tagged timers": [f"bench.timer:{i % 50 + 1}.5|ms|#endpoint:/e{i % 10},method:GET" for i in range(100)],
    "json api events": [json.dumps({"type": "api", "endpoint": f"/users/{i}", "method": "GET",
                                    "status": 200, "duration_ms": 12.5}) for i in range(100)],
}


def compile_tools(tmp):
    tools = {}
    for name in ("udp_blast", "udp_sink"):
        out = os.path.join(tmp, name)
        subprocess.run(["cc", "-O2", "-o", out, os.path.join(HERE, name + ".c")], check=True)
        tools[name] = out
    return tools


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Sink:
    name = "bare recvmmsg"

    def __init__(self, tools):
        self.port = h.free_port()
        self.proc = subprocess.Popen(["taskset", "-c", "1", tools["udp_sink"], str(self.port)],
                                     stdout=subprocess.PIPE, text=True)
        self.proc.stdout.readline()  # "ready"

    def lines(self):
        return None  # only known at the end

    def finish(self):
        self.proc.terminate()
        out = self.proc.communicate(timeout=10)[0].split()
        return int(out[1])


class Agent:
    name = "mingus-agent"

    def __init__(self, agent_path, tmp):
        self.port = h.free_port()
        config = os.path.join(tmp, "agent-bench.yaml")
        h.write_file(config, "statsd: {receive_threads: 1}\ncollectors: {filesystem: {enabled: false}}\n")
        self.server = h.start_agent(agent_path, f"--statsd.listen-udp=127.0.0.1:{self.port}",
                                    config=config, cpu="1")

    def count(self):
        samples, _ = h.parse_exposition(h.fetch_metrics(self.server.base_url))
        return sum(v for (name, _), v in samples.items() if name == "mingus_agent_lines_total")

    def finish(self):
        lines = self.count()
        h.stop_agent(self.server)
        return int(lines)


class Collectd:
    name = "collectd statsd"

    def __init__(self, tmp):
        self.port, self.web = h.free_port(), h.free_port()
        config = os.path.join(tmp, "collectd.conf")
        h.write_file(config, f"""Interval 1
LoadPlugin statsd
LoadPlugin write_prometheus
<Plugin statsd>
  Host "127.0.0.1"
  Port "{self.port}"
  DeleteCounters false
</Plugin>
<Plugin write_prometheus>
  Host "127.0.0.1"
  Port "{self.web}"
</Plugin>
""")
        self.proc = subprocess.Popen(["taskset", "-c", "1", COLLECTD, "-f", "-C", config],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        h.wait_until(lambda: h.http_get(f"http://127.0.0.1:{self.web}/metrics").status == 200,
                     what="collectd write_prometheus")

    def count(self):
        text = h.http_get(f"http://127.0.0.1:{self.web}/metrics").text()
        total = 0.0
        for line in text.splitlines():
            if line.startswith("collectd_statsd_derive_total"):
                total += float(line.rsplit(" ", 2)[1] if line.count(" ") >= 2 else line.rsplit(" ", 1)[1])
        return total

    def finish(self):
        time.sleep(2.5)  # collectd publishes counters once per Interval
        lines = self.count()
        self.proc.terminate()
        self.proc.wait(timeout=10)
        return int(lines)


class Netdata:
    name = "netdata statsd"

    def __init__(self, tmp):
        self.port, self.web = h.free_port(), h.free_port()
        root = tempfile.mkdtemp(prefix="netdata-", dir=tmp)
        config = os.path.join(root, "netdata.conf")
        plugins_off = "\n".join(f"  {p} = no" for p in (
            "proc", "diskspace", "cgroups", "tc", "idlejitter", "apps", "python.d", "charts.d",
            "go.d", "node.d", "ebpf", "timex", "perf", "slabinfo", "checks"))
        h.write_file(config, f"""[global]
  run as user = root
  update every = 1
  memory mode = ram
  cache directory = {root}
  lib directory = {root}
  log directory = {root}
  debug log = none
  access log = none
[web]
  bind to = 127.0.0.1:{self.web}
[plugins]
{plugins_off}
  statsd = yes
  enable running new plugins = no
[statsd]
  enabled = yes
  bind to = udp:127.0.0.1:{self.port}
  update every (flushInterval) = 1
[health]
  enabled = no
[ml]
  enabled = no
[registry]
  enabled = no
""")
        self.proc = subprocess.Popen(["taskset", "-c", "1", NETDATA, "-D", "-c", config],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        h.wait_until(lambda: "statsd_events" in h.http_get(self._url()).text(), what="netdata statsd")

    def _url(self):
        return f"http://127.0.0.1:{self.web}/api/v1/allmetrics?format=prometheus&source=as-collected"

    def count(self):
        total = 0.0
        for line in h.http_get(self._url()).text().splitlines():
            if line.startswith("netdata_netdata_statsd_events_total"):
                total += float(line.rsplit(" ", 2)[1])
        return total

    def finish(self):
        # netdata publishes its statsd counters once a second, sometimes late: read until
        # two readings a second apart agree (10 s at most).
        lines, previous = self.count(), -1
        for _ in range(10):
            if lines == previous:
                break
            time.sleep(1)
            previous, lines = lines, self.count()
        self.proc.terminate()
        self.proc.wait(timeout=20)
        return int(lines)


@contextlib.contextmanager
def raised_rmem_default(size=8 << 20):
    with open(RMEM_DEFAULT) as f:
        before = f.read().strip()
    with open(RMEM_DEFAULT, "w") as f:
        f.write(str(size))
    try:
        yield
    finally:
        with open(RMEM_DEFAULT, "w") as f:
            f.write(before)


def blast(tools, port, seconds, rate, per_datagram, lines):
    out = subprocess.run(["taskset", "-c", "0", tools["udp_blast"], "127.0.0.1", str(port), str(seconds),
                          str(rate), str(per_datagram), *lines], check=True, capture_output=True, text=True)
    return int(out.stdout.split()[1])


def measure(make_receiver, tools, lines, seconds, rate, per_datagram):
    """(sent lines, received lines, receiver CPU seconds) for one run."""
    receiver = make_receiver()
    pid = receiver.proc.pid if hasattr(receiver, "proc") else receiver.server.proc.pid
    cpu_before = cpu_seconds(pid)
    sent = blast(tools, receiver.port, seconds, rate, per_datagram, lines)
    time.sleep(0.5)  # let the receiver drain its buffer
    cpu = cpu_seconds(pid) - cpu_before
    received = receiver.finish()
    return sent, received, cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--agent", required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated subset")
    parser.add_argument("--receivers", default="", help="comma-separated subset (default: all found)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mingus-bench-") as tmp:
        tools = compile_tools(tmp)
        receivers = {"bare recvmmsg": lambda: Sink(tools), "mingus-agent": lambda: Agent(args.agent, tmp)}
        if os.path.exists(COLLECTD) and not args.smoke:
            receivers["collectd statsd"] = lambda: Collectd(tmp)
        if os.path.exists(NETDATA) and not args.smoke:
            receivers["netdata statsd"] = lambda: Netdata(tmp)
        if args.smoke:
            for name, make in receivers.items():
                sent, received, _ = measure(make, tools, WORKLOADS["counters"], 2, 20_000, 1)
                h.log(f"smoke {name}: sent {sent} lines, received {received}")
                if received != sent:
                    h.log("FAIL: loss at a low rate")
                    return 1
            h.log("OK: smoke run without loss")
            return 0

        if args.receivers:
            receivers = {name: make for name, make in receivers.items() if name in args.receivers.split(",")}
        with raised_rmem_default():
            results = run_all(args, tools, receivers)
        h.log("\nworkload          receiver          CPU s per M lines (1/dgram)  loss   max lines/s <0.1% loss (20/dgram)")
        for (workload, name), (cpu, loss, best) in results.items():
            h.log(f"{workload:17} {name:17} {cpu:>10.3f} {loss:>12.4%} {best:>14,}")
        print(json.dumps({f"{w}/{n}": {"cpu_s_per_million_lines": c, "loss": l, "max_lines_per_s": b}
                          for (w, n), (c, l, b) in results.items()}))
    return 0


def run_all(args, tools, receivers):
    results = {}
    for workload, lines in WORKLOADS.items():
        if workload not in args.workloads.split(","):
            continue
        for name, make in receivers.items():
            if name == "collectd statsd" and workload != "counters":
                continue  # collectd refuses tagged lines and JSON
            if name == "netdata statsd" and workload == "json api events":
                continue  # netdata takes StatsD lines only
            per_million, losses = [], []
            for _ in range(args.runs):
                sent, received, cpu = measure(make, tools, lines, 5, 200_000, 1)
                per_million.append(cpu / (received / 1e6) if received else float("inf"))
                losses.append(1 - received / sent)
            best = 0
            for rate in (25_000, 50_000, 100_000, 200_000, 300_000, 400_000, 500_000, 700_000):
                ok_runs = 0
                for _ in range(args.runs):
                    sent, received, _ = measure(make, tools, lines, 3, rate, 20)
                    ok_runs += (1 - received / sent) < 0.001
                if ok_runs * 2 > args.runs:
                    best = rate * 20
                else:
                    break
            results[(workload, name)] = (statistics.median(per_million), statistics.median(losses), best)
            h.log(f"{workload:16} {name:16} cpu/Mlines {results[(workload, name)][0]:.3f}s "
                  f"loss {results[(workload, name)][1]:.4%} max lines/s {best:,}")
    return results


if __name__ == "__main__":
    sys.exit(main())
