#!/usr/bin/python3
"""Soak and fault test (issue 12): a real mingus-agent and mingus-collector under an hour of
sustained mixed load, with faults injected on a schedule, reporting memory and API latency over
time and what each fault lost. Not in the default suite (it runs for --duration seconds and needs
root for the data directory's tmpfs).

Load, all on 127.0.0.1:
  - JSON events (--events-rate a second, each with a unique session_id "e<N>") and StatsD lines
    (--statsd-rate a second: counters, timers and gauges over a bounded set of names) over UDP
    to the agent;
  - the collector scrapes the agent, itself, two synthetic targets (synthetic_targets.py, 1 000
    series each) and a "levels" target served here, every 2 s; it pulls the agent's event spool
    every second into business_intelligence.db;
  - alert cycles: every CYCLE seconds a new series soak_level{cycle="K"} goes to 10 for half the
    cycle, then to 0 (and is removed later); the rule SoakCycle (soak_level > 5) fires and
    resolves, and the route (group_by [alertname, cycle], repeat_interval 24h) sends one firing
    and one resolved notification per cycle to a webhook (served here) and by mail (aiosmtpd with
    STARTTLS and AUTH, tests/integration/smtp_server.py). Each of those four is expected once;
  - API queries, about 4 a second in turn: /api/monitoring/dashboard, an instant and a range
    query, /api/v1/alerts; the latency of each is recorded.

Faults, at fixed fractions of the run (each with its own loss count):
  agent restart   SIGTERM, down 3 s, started again on the same ports and spool. Datagrams sent
                  while it is down are not accepted: counted apart, not as losses;
  collector -9    kill -9, down 5 s, started again on the same data directory. No stored event
                  lost or duplicated; metric samples lost are at most one flush interval (plus a
                  scrape interval), measured from the gap in up{job="levels"};
  SMTP down       the SMTP server stopped for DOWN seconds, then started on the same port;
  webhook down    the webhook's port closed for DOWN seconds, then open again;
  disk full       the collector's data directory is a tmpfs (mounted here, size 4 GiB, which only
                  bounds it): for DOWN seconds it is shrunk to what it holds plus 1 MiB and a
                  filler file takes the rest (every write fails with ENOSPC), then the filler is
                  deleted and the size restored. The collector must keep serving and report the
                  error; events wait in the agent's spool (the collector's cursor moves only with
                  a stored batch) and nothing accepted may be lost;
  clock jump      the collector runs under Debian's libfaketime (LD_PRELOAD, its offset read from
                  FAKETIME_TIMESTAMP_FILE, CLOCK_MONOTONIC left real as an NTP step leaves it):
                  its wall clock steps forward 300 s and stays there. A backward step is not
                  injected: the head refuses out-of-order samples by design (as Prometheus), so
                  it would lose the overlapped scrapes by construction.

Loss accounting at the end (after the load stops and the collector has caught up):
  events: accepted = every record in the agent's spool (it persists across the agent's restart);
    lost = accepted and not in the collector's events table; duplicated = stored more than once;
    each attributed to the fault window in which it was sent;
  notifications: per cycle and per integration (webhook, email), firing and resolved, each
    expected exactly once; lost = none received, duplicated = more than one.

Memory is "flat after warm-up" when each daemon's RSS (VmRSS) at the end of the run is at most
10 % (and at least 4 MiB) above its RSS at the end of the warm-up: 30 % of the run, or later if
the collector's distinct cache (events.distinct_cache: users' and sessions' days seen, 500 000 by
default, about a hundred bytes each) is first trimmed later than that after the collector's last
restart. The soak's load has a new session in nearly every event, so the cache fills in about
twenty minutes and then stays at its bound; mingus_collector_events_distinct_cache_entries is
sampled to tell when. For the collector that is its RSS
less the heap SQLite holds (mingus_collector_sqlite_memory_bytes): SQLite's page caches keep
every page the collector writes or reads until they reach their cache_size (64 MiB for
business_intelligence.db, which grows by about 5 MiB a minute at 500 events/s, 2 MiB for the
other databases), a bounded growth that outlasts the warm-up; that part is reported beside, with
the whole RSS. The collector's samples are kept for 10 minutes (--retention; 1 minute in
--quick), so that its in-memory head reaches its steady size early, and the collector restart is
at 10 %, before the reference point.

Writes timeseries.csv (one row every --sample-interval seconds: RSS of both daemons, API latency
percentiles and errors, events sent, accepted and stored, notifications expected, received and
duplicated) and summary.json into --out, and prints the summary as markdown. Exits 1 if any
accepted event was lost or duplicated, any notification lost or duplicated, the collector failed
to answer a request while it was running, or memory grew beyond the criterion.

Usage (as root): nice -n 5 /usr/bin/python3 tests/bench/soak.py --agent A --collector C
           [--duration 3600] [--quick] [--out DIR]
"""

import argparse
import bisect
import csv
import datetime
import email
import email.policy
import errno
import http.server
import json
import os
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness as h  # noqa: E402
import smtp_https_test as smtp  # noqa: E402

FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"
TMPFS_SIZE = 4 << 30
CLOCK_STEP = 300  # seconds forward
SCRAPE_SECONDS = 2
MIB = 1 << 20


def now():
    return time.monotonic()


def percentile(values, p):
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))]


def rss_kib(pid, field="VmRSS"):
    """A resident size of /proc/PID/status: VmRSS, or its part RssAnon (heap), RssFile or
    RssShmem (mappings of the tmpfs data directory: SQLite's -shm files)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class Plan:
    """When each fault happens and how the load is shaped, for a run of `duration` seconds."""

    def __init__(self, duration, quick):
        self.duration = duration
        long_run = duration >= 1800 and not quick
        self.cycle = 60 if long_run else 16
        self.sample_interval = 10 if long_run else 5
        self.retention = "10m" if long_run else "1m"
        self.flush_seconds = 10 if long_run else 5
        self.down = max(20, min(120, duration // 30))
        self.memory_reference = 0.30 * duration
        d = duration
        self.faults = [("agent restart", 0.05 * d), ("collector kill -9", 0.10 * d),
                       ("SMTP down", 0.30 * d), ("webhook down", 0.40 * d),
                       ("disk full", 0.50 * d), ("clock jump", 0.60 * d)]


class Webhook:
    """The webhook receiver on a fixed loopback port, which stop() really closes (connections
    refused) and start() opens again."""

    def __init__(self):
        self.port = h.free_port()
        self.posts = []  # (monotonic time, payload)
        self.lock = threading.Lock()
        self.server = None
        self.start()

    def start(self):
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with outer.lock:
                    outer.posts.append((now(), json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def received(self):
        """(cycle, status) of each alert of each POST."""
        with self.lock:
            posts = list(self.posts)
        return [(a["labels"]["cycle"], p["status"], t) for t, p in posts for a in p["alerts"]
                if a["labels"].get("alertname") == "SoakCycle"]


SUBJECT = re.compile(r"^\[(FIRING|RESOLVED)(?::\d+)?\] SoakCycle (\d+)\b")


def mails_received(mail):
    out = []
    for record in mail.mails():
        message = email.message_from_string(record["data"], policy=email.policy.default)
        m = SUBJECT.match(str(message["Subject"]))
        if m:
            out.append((m.group(2), m.group(1).lower()))
    return out


class Levels:
    """The alert cycles: cycle k's series goes high at start + k*CYCLE + CYCLE/4 for CYCLE/2
    seconds, stays at 0 for two cycles, then disappears."""

    def __init__(self, plan, start):
        self.plan, self.start = plan, start
        self.cycles = 0  # how many cycles begin within the load
        while self.high_at(self.cycles) + plan.cycle / 2 + 5 < plan.duration:
            self.cycles += 1
        self.server = h.serve_metrics(self.render)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"

    def high_at(self, k):
        return k * self.plan.cycle + self.plan.cycle / 4

    def low_at(self, k):
        return self.high_at(k) + self.plan.cycle / 2

    def render(self):
        t = now() - self.start
        lines = ["# TYPE soak_level gauge"]
        for k in range(self.cycles):
            if self.high_at(k) <= t < self.low_at(k):
                lines.append(f'soak_level{{cycle="{k}"}} 10')
            elif self.low_at(k) <= t < self.low_at(k) + 2 * self.plan.cycle:
                lines.append(f'soak_level{{cycle="{k}"}} 0')
        return ("\n".join(lines) + "\n").encode()

    def expected(self, t, settle):
        """(cycle, status) notifications due by run time t, allowing `settle` seconds."""
        out = []
        for k in range(self.cycles):
            if self.high_at(k) + settle <= t:
                out.append((str(k), "firing"))
            if self.low_at(k) + settle <= t:
                out.append((str(k), "resolved"))
        return out


class Sender:
    """JSON events with unique ids and StatsD lines to the agent at steady rates; remembers when
    each event id was sent (checkpoints) so losses can be put in their fault window."""

    def __init__(self, udp_address, events_rate, statsd_rate, start):
        self.host, self.port, _ = h.split_udp_address(udp_address)
        self.events_rate, self.statsd_rate, self.start = events_rate, statsd_rate, start
        self.next_id = 0
        self.statsd_sent = 0
        self.send_errors = 0
        self.checkpoints_t, self.checkpoints_id = [], []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def event_line(self, n):
        return json.dumps({"type": "engagement", "user_id": f"u{n % 97}", "action": "soak",
                           "session_id": f"e{n}", "usage_time": n % 7}, separators=(",", ":"))

    def statsd_line(self, n):
        endpoint = f"/e{n % 20}"
        kind = n % 4
        if kind == 0:
            return f"soak.requests:1|c|#endpoint:{endpoint}"
        if kind == 1:
            return f"soak.latency:{n % 250}|ms|#endpoint:{endpoint}"
        if kind == 2:
            return f"soak.queue:{n % 50}|g"
        return f"soak.bytes:{n % 1000}|c|@0.5|#endpoint:{endpoint}"

    @staticmethod
    def datagrams(lines, limit=1400):
        out, current, size = [], [], 0
        for line in lines:
            if current and size + len(line) + 1 > limit:
                out.append("\n".join(current).encode())
                current, size = [], 0
            current.append(line)
            size += len(line) + 1
        if current:
            out.append("\n".join(current).encode())
        return out

    def run(self):
        tick = 0.02
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            while not self.stopping.is_set():
                elapsed = now() - self.start
                due_events = int(elapsed * self.events_rate) - self.next_id
                due_statsd = int(elapsed * self.statsd_rate) - self.statsd_sent
                if due_events > 0:
                    self.checkpoints_t.append(elapsed)
                    self.checkpoints_id.append(self.next_id)
                lines = [self.event_line(n) for n in range(self.next_id, self.next_id + max(0, due_events))]
                lines += [self.statsd_line(n) for n in range(self.statsd_sent, self.statsd_sent + max(0, due_statsd))]
                for datagram in self.datagrams(lines):
                    try:
                        s.sendto(datagram, (self.host, self.port))
                    except OSError:
                        self.send_errors += 1
                self.next_id += max(0, due_events)
                self.statsd_sent += max(0, due_statsd)
                time.sleep(tick)

    def sent_at(self, n):
        """Run time at which event n was sent."""
        i = bisect.bisect_right(self.checkpoints_id, n) - 1
        return self.checkpoints_t[max(i, 0)]


class ApiLoad:
    """API queries in turn at a steady rate; each one's latency and outcome recorded."""

    def __init__(self, base_url, start, rate=4.0):
        self.base_url, self.start, self.rate = base_url, start, rate
        self.records = []  # (run time, path name, seconds, status or error text)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def paths(self):
        end = time.time()
        rng = "/api/v1/query_range?query=" + \
            "sum%20by%20(shard)%20(rate(synthetic_requests_total%5B1m%5D))" + \
            f"&start={end - 900:.0f}&end={end:.0f}&step=15"
        return [("dashboard", "/api/monitoring/dashboard"),
                ("query", "/api/v1/query?query=sum(rate(mingus_agent_lines_total%5B1m%5D))"),
                ("query_range", rng),
                ("alerts", "/api/v1/alerts")]

    def run(self):
        i = 0
        while not self.stopping.is_set():
            name, path = self.paths()[i % 4]
            i += 1
            t0 = now()
            try:
                status = h.http_get(self.base_url + path, timeout=10).status
            except Exception as e:  # noqa: BLE001 - every failure is recorded
                status = type(e).__name__
            t1 = now()
            self.records.append((t0 - self.start, name, t1 - t0, status))
            time.sleep(max(0.0, 1 / self.rate - (t1 - t0)))


class Soak:
    def __init__(self, args, tmp):
        self.args, self.tmp = args, tmp
        self.plan = Plan(args.duration, args.quick)
        self.start = now()
        self.wall_start = time.time()
        self.fault_log = {}     # name -> details
        self.windows = []       # (name, from, to) run times
        self.collector_down = []  # (from, to) run times
        self.agent_down = []
        self.data = os.path.join(tmp, "collector-data")
        self.agent_storage = os.path.join(tmp, "agent")
        self.faketime_file = os.path.join(tmp, "faketime")
        self.mounted = False
        self.old_logs = {"agent": [], "collector": []}  # output of the processes restarted

    def t(self):
        return now() - self.start

    # ------------------------------------------------------------------ setup

    def setup(self):
        tmp = self.tmp
        os.makedirs(self.data)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0700", "tmpfs",
                        self.data], check=True)
        self.mounted = True
        h.write_file(self.faketime_file, "+0\n")
        self.collector_bin = h.write_file(os.path.join(tmp, "collector-faketime.sh"), f"""#!/bin/sh
exec env LD_PRELOAD={FAKETIME_LIB} FAKETIME_TIMESTAMP_FILE={self.faketime_file} \\
  FAKETIME_CACHE_DURATION=1 FAKETIME_DONT_FAKE_MONOTONIC=1 {os.path.abspath(self.args.collector)} "$@"
""")
        os.chmod(self.collector_bin, 0o755)

        self.agent_http, self.agent_udp_port = h.free_port(), h.free_port(socket.SOCK_DGRAM)
        self.agent_address = f"127.0.0.1:{self.agent_http}"
        self.agent_udp = f"127.0.0.1:{self.agent_udp_port}"
        self.agent_config = h.write_file(os.path.join(tmp, "agent.yaml"),
                                         "storage: {spool_max_bytes: 8589934592}\n")
        self.collector_port = h.free_port()
        self.collector_url = f"http://127.0.0.1:{self.collector_port}"

        self.synthetic = h.Process(["/usr/bin/python3", os.path.join(HERE, "synthetic_targets.py"),
                                    "2", "1000"], name="synthetic targets")
        ports = self.synthetic.wait_for_line(r"^ready ((?:\d+ ?)+)").group(1).split()
        self.levels = Levels(self.plan, self.start)
        cert, key = smtp.make_certificate(tmp)
        self.cert, self.key = cert, key
        self.mail = smtp.SmtpServer(tmp, "mail", cert, key)
        self.webhook = Webhook()
        password_file = h.write_file(os.path.join(tmp, "smtp-password"), smtp.PASSWORD + "\n")
        h.write_file(os.path.join(tmp, "rules.yml"), """groups:
  - name: soak
    interval: 1s
    rules:
      - alert: SoakCycle
        expr: soak_level > 5
        labels: {severity: warning}
        annotations: {summary: "cycle {{ $labels.cycle }} is {{ $value }}"}
      - record: soak:lines:rate1m
        expr: sum by (format) (rate(mingus_agent_lines_total[1m]))
      - record: soak:synthetic:rate1m
        expr: sum by (shard) (rate(synthetic_requests_total[1m]))
""")
        h.write_file(os.path.join(tmp, "notify.yaml"), f"""
global:
  smtp_from: soak@mingus.test
  smtp_smarthost: {self.mail.smarthost}
  smtp_auth_username: {smtp.USER}
  smtp_auth_password_file: {password_file}
route:
  receiver: soak
  group_by: [alertname, cycle]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 24h
receivers:
  - name: soak
    webhook_configs:
      - url: http://127.0.0.1:{self.webhook.port}/hook
        send_resolved: true
    email_configs:
      - to: oncall@mingus.test
        send_resolved: true
        tls_config: {{ca_file: {cert}}}
""")
        synthetic = ", ".join(f'"127.0.0.1:{p}"' for p in ports)
        self.collector_config = h.write_file(os.path.join(tmp, "collector.yaml"), f"""
global: {{scrape_interval: {SCRAPE_SECONDS}s, scrape_timeout: {SCRAPE_SECONDS}s, evaluation_interval: 1s}}
storage: {{flush_interval: {self.plan.flush_seconds}s, retention: {self.plan.retention}}}
rule_files: [rules.yml]
alerting: {{notify_config_file: notify.yaml}}
events: {{pull_interval: 1s, pull_timeout: 1s, max_backoff: 5s, batch_limit: 5000}}
scrape_configs:
  - job_name: mingus-agent
    static_configs: [{{targets: ["{self.agent_address}"]}}]
  - job_name: mingus-collector
    static_configs: [{{targets: ["127.0.0.1:{self.collector_port}"]}}]
  - job_name: synthetic
    static_configs: [{{targets: [{synthetic}]}}]
  - job_name: levels
    static_configs: [{{targets: ["{self.levels.address}"]}}]
""")
        self.agent = self.start_agent()
        self.collector = self.start_collector()

    def start_agent(self):
        return h.start_agent(self.args.agent, f"--web.listen-address={self.agent_address}",
                             f"--statsd.listen-udp={self.agent_udp}", config=self.agent_config,
                             storage_dir=self.agent_storage)

    def start_collector(self):
        return h.start_collector(self.collector_bin, f"--web.listen-address=127.0.0.1:{self.collector_port}",
                                 config=self.collector_config, storage_dir=self.data)

    def teardown(self):
        for name in ("sender", "api"):
            if hasattr(self, name):
                getattr(self, name).stopping.set()
        for name in ("collector", "agent", "synthetic"):
            process = getattr(self, name, None)
            if process is not None:
                process.__exit__(None, None, None)
        if hasattr(self, "mail"):
            self.mail.__exit__(None, None, None)
        if self.mounted:
            subprocess.run(["umount", "-l", self.data], check=False)

    # ------------------------------------------------------------------ observations

    def db(self):
        return sqlite3.connect(f"file:{os.path.join(self.data, 'business_intelligence.db')}?mode=ro",
                               uri=True, timeout=10)

    def stored_cursor(self):
        try:
            with self.db() as db:
                row = db.execute("SELECT max(cursor) FROM agents WHERE instance = ?",
                                 (self.agent_address,)).fetchone()
            return int(row[0] or 0)
        except sqlite3.Error:
            return None

    def agent_metric(self, name):
        try:
            samples, _ = self.agent.metrics()
            return h.sample_value(samples, name, default=None)
        except Exception:  # noqa: BLE001 - the agent may be restarting
            return None

    def collector_metrics(self):
        try:
            return self.collector.metrics()[0]
        except Exception:  # noqa: BLE001 - the collector may be restarting
            return {}

    def notifications(self):
        """{(integration, cycle, status): count}"""
        counts = {}
        for cycle, status, _ in self.webhook.received():
            key = ("webhook", cycle, status)
            counts[key] = counts.get(key, 0) + 1
        for cycle, status in mails_received(self.mail):
            key = ("email", cycle, status)
            counts[key] = counts.get(key, 0) + 1
        return counts

    def expected_notifications(self, t, settle):
        return {(integration, cycle, status) for cycle, status in self.levels.expected(t, settle)
                for integration in ("webhook", "email")}

    # ------------------------------------------------------------------ faults

    def window(self, name, t_from, t_to):
        self.windows.append((name, t_from, t_to))

    def fault_agent_restart(self):
        t0 = self.t()
        drops = self.agent_metric("mingus_agent_udp_kernel_drops_total")
        rc = h.stop_agent(self.agent, expect_rc=None)
        self.old_logs["agent"].append(self.agent.output())
        time.sleep(3)
        self.agent = self.start_agent()
        t1 = self.t()
        self.agent_down.append((t0, t1))
        self.window("agent restart", t0, t1)
        self.fault_log["agent restart"] = {"at": round(t0, 1), "down_seconds": round(t1 - t0, 1),
                                           "exit_code": rc, "kernel_drops_before": drops}

    def fault_collector_kill(self):
        t0 = self.t()
        wall_kill = time.time() + self.clock_offset()
        self.collector.proc.kill()
        self.collector.wait()
        self.collector.__exit__(None, None, None)
        self.old_logs["collector"].append(self.collector.output())
        time.sleep(5)
        self.collector = self.start_collector()
        t1 = self.t()
        self.collector_down.append((t0, t1))
        self.window("collector kill -9", t0, t1)
        detail = {"at": round(t0, 1), "down_seconds": round(t1 - t0, 1),
                  "flush_interval_seconds": self.plan.flush_seconds}
        self.fault_log["collector kill -9"] = detail
        # The samples of up{job="levels"} around the kill: those after the last one kept and
        # before the kill are what the crash lost.
        time.sleep(3 * SCRAPE_SECONDS + 2)
        try:
            data = h.query(self.collector, 'up{job="levels"}[5m]')
            times = sorted(float(v[0]) for v in data["result"][0]["values"])
            before = [x for x in times if x <= wall_kill]
            after = [x for x in times if x > wall_kill]
            detail["last_sample_before_kill_s"] = round(wall_kill - before[-1], 1) if before else None
            detail["first_sample_after_kill_s"] = round(after[0] - wall_kill, 1) if after else None
            detail["metric_seconds_lost"] = round(wall_kill - before[-1], 1) if before else None
            detail["metric_loss_ok"] = bool(before) and \
                wall_kill - before[-1] <= self.plan.flush_seconds + SCRAPE_SECONDS + 1
        except Exception as e:  # noqa: BLE001 - reported as the fault's result
            detail["metric_loss_error"] = f"{type(e).__name__}: {e}"
            detail["metric_loss_ok"] = False

    def fault_smtp_down(self):
        t0 = self.t()
        port = self.mail.port
        self.mail.__exit__(None, None, None)
        time.sleep(self.plan.down)
        self.mail = smtp.SmtpServer(self.tmp, "mail", self.cert, self.key, port=port)
        t1 = self.t()
        self.window("SMTP down", t0, t1)
        self.fault_log["SMTP down"] = {"at": round(t0, 1), "down_seconds": round(t1 - t0, 1)}

    def fault_webhook_down(self):
        t0 = self.t()
        self.webhook.stop()
        time.sleep(self.plan.down)
        self.webhook.start()
        t1 = self.t()
        self.window("webhook down", t0, t1)
        self.fault_log["webhook down"] = {"at": round(t0, 1), "down_seconds": round(t1 - t0, 1)}

    def fault_disk_full(self):
        t0 = self.t()
        before = self.collector_metrics()
        lines_before = len(self.collector.output().splitlines())
        st = os.statvfs(self.data)
        used = (st.f_blocks - st.f_bfree) * st.f_frsize
        subprocess.run(["mount", "-o", f"remount,size={used + MIB}", self.data], check=True)
        filler = os.path.join(self.data, "filler")
        with open(filler, "wb", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
        cursor_full = self.stored_cursor()
        time.sleep(self.plan.down)
        during = self.collector_metrics()
        cursor_end = self.stored_cursor()
        os.remove(filler)
        subprocess.run(["mount", "-o", f"remount,size={TMPFS_SIZE}", self.data], check=True)
        t1 = self.t()
        self.window("disk full", t0, t1)
        new_lines = self.collector.output().splitlines()[lines_before:]
        errors = [line for line in new_lines if re.search(r"full|space", line, re.I)]

        def delta(name):
            return h.sample_value(during, name) - h.sample_value(before, name)
        self.fault_log["disk full"] = {
            "at": round(t0, 1), "full_seconds": round(t1 - t0, 1), "tmpfs_used_mib": round(used / MIB, 1),
            "collector_alive": self.collector.running(),
            "events_stored_while_full": (cursor_end - cursor_full) if None not in (cursor_end, cursor_full) else None,
            "flush_failures": delta("mingus_collector_store_flush_failures_total"),
            "log_lines_reporting_it": len(errors),
            "first_log_lines": errors[:3]}

    def fault_clock_jump(self):
        t0 = self.t()
        h.write_file(self.faketime_file, f"+{CLOCK_STEP}\n")
        time.sleep(3)
        detail = {"at": round(t0, 1), "step_seconds": CLOCK_STEP}
        try:
            value = float(h.query(self.collector, "time()")["result"][1])
            detail["collector_clock_ahead_s"] = round(value - time.time(), 1)
        except Exception as e:  # noqa: BLE001 - reported as the fault's result
            detail["collector_clock_error"] = f"{type(e).__name__}: {e}"
        self.window("clock jump", t0, t0 + 60)
        self.fault_log["clock jump"] = detail

    def clock_offset(self):
        with open(self.faketime_file, encoding="ascii") as f:
            return float(f.read().strip())

    # ------------------------------------------------------------------ the run

    def run(self):
        self.setup()
        self.start = now()
        self.levels.start = self.start
        self.sender = Sender(self.agent_udp, self.args.events_rate, self.args.statsd_rate, self.start)
        self.api = ApiLoad(self.collector_url, self.start)
        self.sender.thread.start()
        self.api.thread.start()
        actions = {"agent restart": self.fault_agent_restart,
                   "collector kill -9": self.fault_collector_kill,
                   "SMTP down": self.fault_smtp_down, "webhook down": self.fault_webhook_down,
                   "disk full": self.fault_disk_full, "clock jump": self.fault_clock_jump}
        pending = sorted(self.plan.faults, key=lambda f: f[1])
        fault_threads = []
        out = os.path.abspath(self.args.out)
        os.makedirs(out, exist_ok=True)
        self.rows = []
        with open(os.path.join(out, "timeseries.csv"), "w", newline="", encoding="utf-8") as f:
            writer = None
            next_sample = 0.0
            api_seen = 0
            while self.t() < self.plan.duration:
                while pending and pending[0][1] <= self.t():
                    name, _ = pending.pop(0)
                    h.log(f"[{self.t():7.1f}s] fault: {name}")
                    thread = threading.Thread(target=self.guard(name, actions[name]), daemon=True)
                    thread.start()
                    fault_threads.append(thread)
                if self.t() >= next_sample:
                    row, api_seen = self.sample(api_seen)
                    self.rows.append(row)
                    if writer is None:
                        writer = csv.DictWriter(f, fieldnames=list(row))
                        writer.writeheader()
                    writer.writerow(row)
                    f.flush()
                    h.log(" ".join(f"{k}={v}" for k, v in row.items()))
                    next_sample += self.plan.sample_interval
                time.sleep(0.2)
            self.sender.stopping.set()
            self.sender.thread.join()
            for thread in fault_threads:
                thread.join()
            h.log(f"[{self.t():7.1f}s] load stopped: {self.sender.next_id} events sent; draining")
            self.drain()
            row, api_seen = self.sample(api_seen)
            self.rows.append(row)
            writer.writerow(row)
        self.api.stopping.set()
        self.api.thread.join()
        summary = self.summarise()
        for name in ("agent", "collector"):
            logs = self.old_logs[name] + [getattr(self, name).output()]
            h.write_file(os.path.join(out, f"{name}.log"), "\n--- restarted ---\n".join(logs) + "\n")
        rc_collector = self.collector.stop()
        rc_agent = h.stop_agent(self.agent, expect_rc=None)
        summary["exit_codes"] = {"collector": rc_collector, "agent": rc_agent}
        summary["ok"] = summary["ok"] and rc_collector == 0 and rc_agent == 0
        with open(os.path.join(out, "summary.json"), "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=1)
        print(self.markdown(summary))
        return summary["ok"]

    def guard(self, name, action):
        def run():
            try:
                action()
            except Exception as e:  # noqa: BLE001 - a fault that could not be injected fails the run
                self.fault_log[name] = {"error": f"{type(e).__name__}: {e}"}
                h.log(f"fault {name} failed: {type(e).__name__}: {e}")
        return run

    def sample(self, api_seen):
        t = self.t()
        records = self.api.records[api_seen:]
        latencies = [r[2] * 1000 for r in records if isinstance(r[3], int)]
        failures = [r for r in records if not isinstance(r[3], int) or r[3] >= 500]
        counts = self.notifications()
        expected = self.expected_notifications(t, 30)
        active = [name for name, a, b in self.windows if a <= t <= b]
        collector_rss = self.rss(self.collector)
        metrics = self.collector_metrics()
        sqlite_bytes = h.sample_value(metrics, "mingus_collector_sqlite_memory_bytes", default=None)
        distinct = h.sample_value(metrics, "mingus_collector_events_distinct_cache_entries",
                                  default=None)
        sqlite_mib = round(sqlite_bytes / MIB, 1) if sqlite_bytes is not None else ""
        row = {"t_s": round(t), "agent_rss_mib": self.rss(self.agent), "collector_rss_mib": collector_rss,
               "collector_anon_mib": self.rss(self.collector, "RssAnon"), "collector_sqlite_mib": sqlite_mib,
               "collector_less_sqlite_mib": round(collector_rss - sqlite_mib, 1)
               if "" not in (collector_rss, sqlite_mib) else "",
               "distinct_cache_entries": int(distinct) if distinct is not None else "",
               "api_requests": len(records), "api_failures": len(failures),
               "api_p50_ms": round(statistics.median(latencies), 1) if latencies else "",
               "api_p99_ms": round(percentile(latencies, 99), 1) if latencies else "",
               "api_max_ms": round(max(latencies), 1) if latencies else "",
               "events_sent": self.sender.next_id,
               "events_accepted": self.agent_metric("mingus_agent_spool_events"),
               "events_stored": self.stored_cursor(),
               "notifications_expected": len(expected),
               "notifications_received": sum(1 for k in expected if counts.get(k)),
               "notifications_duplicated": sum(1 for c in counts.values() if c > 1),
               "fault": "+".join(active) or "-"}
        return row, api_seen + len(records)

    @staticmethod
    def rss(process, field="VmRSS"):
        value = rss_kib(process.pid, field) if process.running() else None
        return round(value / 1024, 1) if value is not None else ""

    def drain(self):
        """Wait until the collector has stored everything the agent holds, and until every
        notification due has had time to arrive."""
        def accepted():
            value = self.agent_metric("mingus_agent_spool_events")
            return value is not None and value
        time.sleep(2)
        total = h.wait_until(accepted, what="the agent's spool count")
        try:
            h.wait_until(lambda: (self.stored_cursor() or 0) >= total, timeout=300, interval=1,
                         what=f"the collector to store the {total:g} events the agent holds")
        except TimeoutError as e:
            h.log(str(e))
        expected = self.expected_notifications(1e9, 0)
        try:
            h.wait_until(lambda: all(self.notifications().get(k) for k in expected), timeout=150,
                         interval=1, what="every notification due")
        except TimeoutError as e:
            h.log(str(e))
        time.sleep(3 * 2 + 5)  # a few group intervals more: anything sent twice shows now

    def spool_ids(self):
        """session ids of every event in the agent's spool, in cursor order."""
        ids, after = [], 0
        while True:
            response = self.agent.get(f"/api/v1/events?after={after}&limit=10000", timeout=60)
            assert response.status == 200, response.status
            lines = response.text().splitlines()
            for line in lines:
                ids.append(json.loads(line)["event"]["session_id"])
            after = int(response.headers["x-mingus-last-cursor"])
            if len(lines) < 10000:
                return ids

    def window_of(self, t):
        for name, a, b in self.windows:
            if a <= t <= b + 30:
                return name
        return "no fault"

    def summarise(self):
        sent = self.sender.next_id
        spool = self.spool_ids()
        accepted = {}
        for sid in spool:
            accepted[sid] = accepted.get(sid, 0) + 1
        with self.db() as db:
            stored = dict(db.execute("SELECT session_id, count(*) FROM events WHERE type = 'engagement' "
                                     "GROUP BY session_id").fetchall())
            rejected = db.execute("SELECT count(*) FROM rejected_events").fetchone()[0]
        by_window = {}

        def count(window, key, n=1):
            by_window.setdefault(window, {}).setdefault(key, 0)
            by_window[window][key] += n

        not_accepted_down = not_accepted_up = 0
        for n in range(sent):
            sid = f"e{n}"
            t = self.sender.sent_at(n)
            window = self.window_of(t)
            count(window, "events_sent")
            if sid not in accepted:
                if any(a - 1 <= t <= b + 1 for a, b in self.agent_down):
                    not_accepted_down += 1
                    count(window, "events_not_accepted_agent_down")
                else:
                    not_accepted_up += 1
                    count(window, "events_not_accepted_agent_up")
                continue
            count(window, "events_accepted")
            c = stored.get(sid, 0)
            if c == 0:
                count(window, "events_lost")
            elif c > 1:
                count(window, "events_duplicated")
        stray = [s for s in stored if not (s.startswith("e") and s[1:].isdigit() and int(s[1:]) < sent)]
        spool_dupes = sum(1 for c in accepted.values() if c > 1)
        lost = sum(w.get("events_lost", 0) for w in by_window.values())
        duplicated = sum(w.get("events_duplicated", 0) for w in by_window.values())

        counts = self.notifications()
        expected = self.expected_notifications(1e9, 0)
        notif = {}
        for integration, cycle, status in sorted(expected):
            window = self.window_of(self.levels.high_at(int(cycle)) if status == "firing"
                                    else self.levels.low_at(int(cycle)))
            c = counts.get((integration, cycle, status), 0)
            w = notif.setdefault(window, {"expected": 0, "once": 0, "lost": 0, "duplicated": 0})
            w["expected"] += 1
            w["once" if c == 1 else "lost" if c == 0 else "duplicated"] += 1
        unexpected = sorted(k for k in counts if k not in expected)
        missing = sorted(k for k in expected if not counts.get(k))
        twice = sorted(k for k in expected if counts.get(k, 0) > 1)
        final = self.collector_metrics()
        delivery = {name: {f"{labels.get('integration')}": value for (n, labels_set), value in final.items()
                           for labels in [dict(labels_set)] if n == metric}
                    for name, metric in (("sent", "mingus_collector_notifications_sent_total"),
                                         ("retried", "mingus_collector_notifications_retried_total"),
                                         ("failed", "mingus_collector_notifications_failed_total"))}
        n_lost = sum(w["lost"] for w in notif.values())
        n_dup = sum(w["duplicated"] for w in notif.values())

        memory = self.memory_check()
        api = self.api_summary()
        ok = (lost == 0 and duplicated == 0 and not stray and spool_dupes == 0 and n_lost == 0
              and n_dup == 0 and not unexpected and memory["flat"] and api["failures_while_up"] == 0
              and all("error" not in d for d in self.fault_log.values())
              and self.fault_log.get("collector kill -9", {}).get("metric_loss_ok", False)
              and len(self.fault_log) == len(self.plan.faults))
        return {
            "ok": ok, "duration_s": self.plan.duration, "quick": self.args.quick,
            "events_rate": self.args.events_rate, "statsd_rate": self.args.statsd_rate,
            "cycle_s": self.plan.cycle, "down_s": self.plan.down,
            "events": {"sent": sent, "accepted": len(accepted), "stored_distinct": len(stored),
                       "stored_rows": sum(stored.values()), "lost": lost, "duplicated": duplicated,
                       "stored_not_sent": len(stray), "duplicated_in_spool": spool_dupes,
                       "not_accepted_agent_down": not_accepted_down,
                       "not_accepted_agent_up": not_accepted_up, "rejected_by_collector": rejected,
                       "statsd_lines_sent": self.sender.statsd_sent,
                       "send_errors": self.sender.send_errors},
            "events_by_window": by_window,
            "notifications": {"cycles": self.levels.cycles, "expected": len(expected),
                              "lost": n_lost, "duplicated": n_dup, "unexpected": unexpected[:20],
                              "lost_keys": missing[:20], "duplicated_keys": twice[:20],
                              "collector_counters_since_restart": delivery,
                              "by_window": notif},
            "faults": self.fault_log, "memory": memory, "api": api,
            "windows": [(n, round(a, 1), round(b, 1)) for n, a, b in self.windows]}

    def distinct_cache_trimmed(self):
        """The first sample, after the collector's last restart, with fewer entries in its distinct
        cache than the one before: the cache had reached its bound. None if it never did."""
        since = max((b for _, b in self.collector_down), default=0)
        previous = None
        for r in self.rows:
            entries = r["distinct_cache_entries"]
            if r["t_s"] < since or entries == "":
                previous = None
                continue
            if previous is not None and entries < previous:
                return r["t_s"]
            previous = entries
        return None

    def memory_check(self):
        def at(column, t):
            rows = [r for r in self.rows if r[column] != ""]
            return min(rows, key=lambda r: abs(r["t_s"] - t))[column] if rows else None
        trimmed = self.distinct_cache_trimmed()
        reference = max(self.plan.memory_reference, trimmed or 0)
        out = {"reference_s": round(reference), "distinct_cache_trimmed_s": trimmed, "criterion":
               "RSS (the collector's less SQLite's heap) at the end <= at the end of the warm-up "
               "(30% of the run, or the distinct cache's first trim if later) + max(10%, 4 MiB)",
               "flat": True}
        for name, column, checked in (("agent", "agent_rss_mib", True),
                                      ("collector less SQLite", "collector_less_sqlite_mib", True),
                                      ("collector", "collector_rss_mib", False),
                                      ("collector's SQLite", "collector_sqlite_mib", False)):
            ref, end = at(column, reference), at(column, self.plan.duration)
            peak = max((r[column] for r in self.rows if r[column] != ""), default=None)
            out[name] = {"reference_mib": ref, "end_mib": end, "peak_mib": peak}
            if checked:
                flat = ref is not None and end is not None and end <= ref + max(0.10 * ref, 4)
                out[name]["flat"] = flat
                out["flat"] = out["flat"] and flat
        return out

    def api_summary(self):
        def down(t):
            return any(a - 1 <= t <= b + 2 for a, b in self.collector_down)
        up = [r for r in self.api.records if not down(r[0])]
        ok = [r for r in up if isinstance(r[3], int) and r[3] < 500]
        failures = [r for r in up if not (isinstance(r[3], int) and r[3] < 500)]
        out = {"requests": len(self.api.records), "while_down": len(self.api.records) - len(up),
               "failures_while_up": len(failures),
               "failure_examples": [(round(r[0], 1), r[1], r[3]) for r in failures[:5]], "by_path": {}}
        for name in ("dashboard", "query", "query_range", "alerts"):
            ms = [r[2] * 1000 for r in ok if r[1] == name]
            if ms:
                out["by_path"][name] = {"n": len(ms), "p50_ms": round(statistics.median(ms), 1),
                                        "p99_ms": round(percentile(ms, 99), 1), "max_ms": round(max(ms), 1)}
        return out

    def markdown(self, s):
        lines = ["", "## Soak summary", "",
                 f"{s['duration_s']} s, {s['events_rate']} JSON events/s + {s['statsd_rate']} StatsD lines/s, "
                 f"alert cycle {s['cycle_s']} s, receivers and disk down {s['down_s']} s: "
                 f"{'OK' if s['ok'] else 'FAILED'}", "",
                 "| minute | agent RSS MiB | collector RSS MiB | its SQLite MiB | distinct cache | API p50 ms "
                 "| API p99 ms | fault |",
                 "|---:|---:|---:|---:|---:|---:|---:|---|"]
        step = max(1, len(self.rows) // 13)
        for r in self.rows[::step] + ([self.rows[-1]] if (len(self.rows) - 1) % step else []):
            lines.append(f"| {r['t_s'] / 60:.1f} | {r['agent_rss_mib']} | {r['collector_rss_mib']} | "
                         f"{r['collector_sqlite_mib']} | {r['distinct_cache_entries']} | {r['api_p50_ms']} | {r['api_p99_ms']} | {r['fault']} |")
        m = s["memory"]
        lines += ["", f"Memory ({m['criterion']}): " + "; ".join(
            f"{d} {m[d]['reference_mib']} -> {m[d]['end_mib']} MiB (peak {m[d]['peak_mib']})"
            for d in ("agent", "collector less SQLite", "collector", "collector's SQLite"))
            + f": {'flat' if m['flat'] else 'GREW'} (warm-up until {m['reference_s']} s; the collector's "
            f"distinct cache first trimmed at {m['distinct_cache_trimmed_s']} s)", "",
            "| API path | n | p50 ms | p99 ms | max ms |", "|---|---:|---:|---:|---:|"]
        for name, v in s["api"]["by_path"].items():
            lines.append(f"| {name} | {v['n']} | {v['p50_ms']} | {v['p99_ms']} | {v['max_ms']} |")
        lines += ["", f"API requests {s['api']['requests']}, {s['api']['while_down']} while the collector "
                      f"was down, failures while it was up: {s['api']['failures_while_up']}", "",
                  "| window | events sent | accepted | not accepted (agent down / up) | lost | duplicated | "
                  "notifications expected | once | lost | duplicated |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        names = ["no fault"] + [n for n, _ in self.plan.faults]
        for name in names:
            e = s["events_by_window"].get(name, {})
            n = s["notifications"]["by_window"].get(name, {})
            lines.append(f"| {name} | {e.get('events_sent', 0)} | {e.get('events_accepted', 0)} | "
                         f"{e.get('events_not_accepted_agent_down', 0)} / {e.get('events_not_accepted_agent_up', 0)} | "
                         f"{e.get('events_lost', 0)} | {e.get('events_duplicated', 0)} | {n.get('expected', 0)} | "
                         f"{n.get('once', 0)} | {n.get('lost', 0)} | {n.get('duplicated', 0)} |")
        ev = s["events"]
        lines += ["", f"Events: sent {ev['sent']}, accepted {ev['accepted']}, stored {ev['stored_distinct']} "
                      f"distinct in {ev['stored_rows']} rows, lost {ev['lost']}, duplicated {ev['duplicated']}, "
                      f"stored but not sent {ev['stored_not_sent']}, rejected {ev['rejected_by_collector']}; "
                      f"notifications expected {s['notifications']['expected']}, lost {s['notifications']['lost']}, "
                      f"duplicated {s['notifications']['duplicated']}, unexpected {len(s['notifications']['unexpected'])}",
                  "", "Faults: " + json.dumps(s["faults"])]
        return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agent", required=True)
    parser.add_argument("--collector", required=True)
    parser.add_argument("--duration", type=int, default=3600, help="seconds of load (default 3600)")
    parser.add_argument("--quick", action="store_true", help="300 s with the same faults, compressed")
    parser.add_argument("--events-rate", type=int, default=500)
    parser.add_argument("--statsd-rate", type=int, default=2000)
    parser.add_argument("--out", default=None, help="results folder (default /tmp/mingus-soak-TIME)")
    args = parser.parse_args()
    if args.quick and args.duration == 3600:
        args.duration = 300
    if args.out is None:
        args.out = "/tmp/mingus-soak-" + datetime.datetime.utcnow().strftime("%Y%m%dT%H%M%S")
    if os.geteuid() != 0:
        sys.exit("soak.py mounts a tmpfs for the collector's data directory: run it as root")
    if not os.path.exists(FAKETIME_LIB):
        sys.exit(f"{FAKETIME_LIB} is missing: run packaging/install-deps.sh (Debian's faketime)")
    h.log(f"results in {args.out}")
    with tempfile.TemporaryDirectory(prefix="mingus-soak-") as tmp:
        soak = Soak(args, tmp)
        try:
            ok = soak.run()
        finally:
            soak.teardown()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
