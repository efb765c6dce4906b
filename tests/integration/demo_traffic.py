#!/usr/bin/python3
"""Demo traffic for the agent's UDP intake: what a busy Mingus app would send.

Standard library only. JSON events (one per line, many lines per datagram) of every type in
../shared/DESIGN.md, and a few plain StatsD / DogStatsD lines:

- `api`: a handful of endpoints (some with ids in the path, which the agent folds to `:id`),
  GET/POST/PUT/DELETE, mostly 2xx, some 4xx, a few % 5xx (--error-ratio), a log-normal
  latency per endpoint with an occasional slow request (--slow-ratio, 1-4 s).
- `db`: selects, inserts, updates and deletes on a few tables, some slow (over 1 s).
- `score` (cached or computed), `engagement`, `feature`, `feedback` (NPS and CSAT ratings with
  comments), `user_metric`, `interaction` along a page funnel (pricing -> signup -> onboarding
  -> dashboard, fewer users at each step), `experiment` exposures and conversions (variant B
  converts clearly better than A), `cache` hits and misses, `data_source` cost and value.
- StatsD: a counter, a gauge, a tagged timer and a set.

The stream of lines is a pure function of --seed; only how many go into each datagram depends
on timing.

Usage:
  demo_traffic.py --statsd 127.0.0.1:8125 [--rate 200] [--duration 60] [--seed 1]
                  [--error-ratio 0.03] [--slow-ratio 0.01]
(no --duration: until Ctrl-C). Only loopback addresses are accepted.

From Python (tests):
  import demo_traffic
  demo_traffic.run("127.0.0.1:8125", rate=200, duration=5, seed=1)   # blocks; returns Stats
  traffic = demo_traffic.start_in_background("127.0.0.1:8125", rate=200, seed=1)
  ...; traffic.stop()                                               # traffic.stats
  lines = demo_traffic.generate_lines(1000, seed=1)                 # the first 1000 lines
"""

import argparse
import ipaddress
import json
import math
import random
import signal
import socket
import sys
import threading
import time

DEFAULT_RATE = 200.0        # events per second
DEFAULT_SEED = 1
DEFAULT_ERROR_RATIO = 0.03  # share of API requests answered 5xx
DEFAULT_SLOW_RATIO = 0.01   # share of API requests and DB queries that are slow (1-4 s)
MAX_DATAGRAM = 1400         # bytes; lines are packed up to this size
TICK = 0.05                 # seconds between sends

# (method, path template, median latency in ms, weight, success status). {id} becomes a number.
ENDPOINTS = [
    ("GET", "/api/dashboard", 45, 20, 200),
    ("GET", "/api/users/{id}", 12, 15, 200),
    ("PUT", "/api/users/{id}/settings", 30, 3, 200),
    ("GET", "/api/expenses", 35, 15, 200),
    ("POST", "/api/expenses", 60, 8, 201),
    ("GET", "/api/expenses/{id}", 15, 8, 200),
    ("DELETE", "/api/expenses/{id}", 25, 2, 204),
    ("POST", "/api/score", 120, 6, 200),
    ("GET", "/api/reports/monthly", 250, 3, 200),
    ("POST", "/api/login", 80, 5, 200),
    ("GET", "/health", 2, 15, 200),
]
CLIENT_ERRORS = {"GET": (404,), "POST": (400, 422), "PUT": (400, 404), "DELETE": (404,)}
SERVER_ERRORS = (500, 502, 503)

# (SQL with %d/%s placeholders, median ms, weight, rows range)
QUERIES = [
    ("SELECT id, email, name FROM users WHERE id = %d", 2, 20, (1, 1)),
    ("SELECT * FROM expenses WHERE user_id = %d ORDER BY created_at DESC LIMIT 50", 8, 18, (0, 50)),
    ("SELECT category, SUM(amount) FROM expenses WHERE user_id = %d GROUP BY category", 25, 6, (1, 12)),
    ("SELECT * FROM budgets WHERE user_id = %d", 4, 8, (0, 5)),
    ("SELECT * FROM goals WHERE user_id = %d AND status = 'active'", 5, 5, (0, 3)),
    ("INSERT INTO expenses (user_id, amount, category) VALUES (%d, %s, 'food')", 6, 8, (1, 1)),
    ("INSERT INTO events (user_id, kind) VALUES (%d, 'login')", 3, 5, (1, 1)),
    ("UPDATE users SET last_seen = NOW() WHERE id = %d", 4, 6, (1, 1)),
    ("UPDATE budgets SET spent = spent + %s WHERE user_id = %d", 5, 4, (1, 1)),
    ("DELETE FROM sessions WHERE expires_at < %d", 30, 1, (0, 40)),
]

SCORES = [("credit", 90, 0.6), ("budget_health", 40, 0.4), ("savings_forecast", 300, 0.2)]  # name, ms, cached share
ENGAGEMENT_ACTIONS = ["login", "view_dashboard", "add_expense", "set_goal", "export", "logout"]
FEATURES = ["budget", "goals", "reports", "export", "score", "alerts"]
FEEDBACK_COMMENTS = ["", "", "", "love the budget view", "export is slow", "more charts please",
                     "the score helped me", "confusing onboarding", "great app"]
# The page funnel: (page, element, share of the previous step's users who reach this one).
FUNNEL = [
    ("/pricing", "cta_signup", 1.0),
    ("/signup", "submit_signup", 0.55),
    ("/onboarding", "finish_onboarding", 0.7),
    ("/dashboard", "add_first_expense", 0.8),
]
EXPERIMENTS = {  # experiment -> {variant: conversion probability}
    "checkout_cta": {"A": 0.10, "B": 0.18},
    "onboarding_tips": {"control": 0.30, "tips": 0.34},
}
CACHES = {"scores": 0.82, "sessions": 0.95, "reports": 0.55}  # cache -> hit ratio
DATA_SOURCES = [("plaid", 0.25, 1.2), ("experian", 1.50, 4.0), ("yodlee", 0.40, 0.3)]  # cost, mean value
USER_METRICS = [("savings", 120.0), ("monthly_spend", 1800.0)]

# Relative weight of each event type (an interaction walks the funnel: several lines).
# API and DB dominate, as in a real app.
EVENT_MIX = [
    ("api", 0.40), ("db", 0.22), ("score", 0.04), ("engagement", 0.06), ("feature", 0.05),
    ("feedback", 0.01), ("user_metric", 0.01), ("interaction", 0.025), ("experiment", 0.04),
    ("cache", 0.06), ("data_source", 0.02), ("statsd", 0.02),
]
USERS = 300


class Generator:
    """The deterministic event stream: next_line() returns one line (bytes, no newline)."""

    def __init__(self, seed=DEFAULT_SEED, error_ratio=DEFAULT_ERROR_RATIO,
                 slow_ratio=DEFAULT_SLOW_RATIO):
        self.rng = random.Random(seed)
        self.error_ratio = error_ratio
        self.slow_ratio = slow_ratio
        self._types = [t for t, _ in EVENT_MIX]
        self._type_weights = [w for _, w in EVENT_MIX]
        self._endpoint_weights = [e[3] for e in ENDPOINTS]
        self._query_weights = [q[2] for q in QUERIES]
        self._pending = []  # lines queued by multi-line events (funnel walks, conversions)
        self._session = 0
        self._queue_depth = 20

    # -- helpers
    def _user(self):
        # A few heavy users and a long tail, like real traffic.
        return "u%d" % int(USERS * self.rng.random() ** 2)

    def _latency_ms(self, median, slow_ratio):
        if self.rng.random() < slow_ratio:
            return round(self.rng.uniform(1000, 4000), 1)
        return round(median * math.exp(self.rng.gauss(0, 0.6)), 3)

    @staticmethod
    def _json(event):
        return json.dumps(event, separators=(",", ":")).encode()

    # -- one event of each type
    def api(self):
        method, template, median, _, ok = self.rng.choices(ENDPOINTS, self._endpoint_weights)[0]
        path = template.replace("{id}", str(self.rng.randint(1, 5000)))
        roll = self.rng.random()
        if roll < self.error_ratio:
            status = self.rng.choice(SERVER_ERRORS)
            median *= 4  # failures are slower: timeouts, retries
        elif roll < self.error_ratio + 0.04 and template != "/health":
            status = self.rng.choice(CLIENT_ERRORS[method])
            median /= 2
        else:
            status = ok
        return {"type": "api", "endpoint": path, "method": method, "status": status,
                "duration_ms": self._latency_ms(median, self.slow_ratio), "user_id": self._user()}

    def db(self):
        sql, median, _, (lo, hi) = self.rng.choices(QUERIES, self._query_weights)[0]
        args = []
        for i in range(sql.count("%")):
            spec = sql.split("%")[i + 1][0]
            args.append(self.rng.randint(1, 5000) if spec == "d" else "%.2f" % self.rng.uniform(1, 200))
        return {"type": "db", "query": sql % tuple(args),
                "duration_ms": self._latency_ms(median, self.slow_ratio * 2),
                "rows": self.rng.randint(lo, hi)}

    def score(self):
        name, median, cached_share = self.rng.choice(SCORES)
        cached = self.rng.random() < cached_share
        return {"type": "score", "name": name, "input_size": self.rng.randint(5, 500),
                "duration_ms": self._latency_ms(median / 20 if cached else median, 0.0),
                "cached": cached, "user_id": self._user()}

    def engagement(self):
        self._session += 1
        return {"type": "engagement", "user_id": self._user(), "session_id": "s%d" % (self._session // 5),
                "action": self.rng.choice(ENGAGEMENT_ACTIONS), "usage_time": self.rng.randint(5, 900)}

    def feature(self):
        feature = self.rng.choices(FEATURES, [30, 20, 12, 5, 15, 8])[0]
        return {"type": "feature", "user_id": self._user(), "feature": feature,
                "usage_time": self.rng.randint(3, 600)}

    def feedback(self):
        if self.rng.random() < 0.6:
            kind, rating = "nps", min(10, max(0, round(self.rng.gauss(7.8, 2))))
        else:
            kind, rating = "csat", min(5, max(1, round(self.rng.gauss(4.1, 0.9))))
        return {"type": "feedback", "user_id": self._user(), "kind": kind, "rating": rating,
                "comment": self.rng.choice(FEEDBACK_COMMENTS)}

    def user_metric(self):
        metric, mean = self.rng.choice(USER_METRICS)
        return {"type": "user_metric", "user_id": self._user(), "metric": metric,
                "value": round(max(0.0, self.rng.gauss(mean, mean / 3)), 2)}

    def interaction(self):
        """A visitor walking the funnel: a view and a click per step reached."""
        user = self._user()
        self._session += 1
        session = "s%d" % self._session
        lines = []
        for page, element, share in FUNNEL:
            if self.rng.random() > share:
                break
            for event_type, elem in (("view", "page"), ("click", element)):
                lines.append({"type": "interaction", "user_id": user, "session_id": session,
                              "event_type": event_type, "element_id": elem, "page_url": page})
            if self.rng.random() < 0.2:  # some wander to the help link
                lines.append({"type": "interaction", "user_id": user, "session_id": session,
                              "event_type": "click", "element_id": "help", "page_url": page})
        return lines

    def experiment(self):
        name = self.rng.choice(sorted(EXPERIMENTS))
        variants = EXPERIMENTS[name]
        user = self._user()
        variant = sorted(variants)[int(self.rng.random() * len(variants))]
        lines = [{"type": "experiment", "experiment": name, "variant": variant, "user_id": user,
                  "event": "exposure"}]
        if self.rng.random() < variants[variant]:
            lines.append({"type": "experiment", "experiment": name, "variant": variant, "user_id": user,
                          "event": "conversion"})
        return lines

    def cache(self):
        name = self.rng.choice(sorted(CACHES))
        return {"type": "cache", "cache": name,
                "result": "hit" if self.rng.random() < CACHES[name] else "miss"}

    def data_source(self):
        source, cost, value = self.rng.choice(DATA_SOURCES)
        return {"type": "data_source", "source": source, "cost": cost,
                "value": round(max(0.0, self.rng.gauss(value, value / 2)), 3)}

    def statsd(self):
        kind = self.rng.randrange(4)
        if kind == 0:
            return "demo.jobs.processed:%d|c|#queue:%s" % (self.rng.randint(1, 5), self.rng.choice(("mail", "reports")))
        if kind == 1:
            self._queue_depth = max(0, self._queue_depth + self.rng.randint(-3, 3))
            return "demo.queue.depth:%d|g" % self._queue_depth
        if kind == 2:
            return "demo.job.duration:%d|ms|#queue:%s" % (self.rng.randint(20, 900), self.rng.choice(("mail", "reports")))
        return "demo.visitors:%s|s" % self._user()

    def next_line(self):
        if not self._pending:
            kind = self.rng.choices(self._types, self._type_weights)[0]
            made = getattr(self, kind)()
            if isinstance(made, str):
                self._pending.append(made.encode())
            else:
                for event in (made if isinstance(made, list) else [made]):
                    self._pending.append(self._json(event))
            self._pending.reverse()
        return self._pending.pop()


def generate_lines(count, seed=DEFAULT_SEED, **options):
    """The first `count` lines of the stream for seed (bytes, without newlines)."""
    gen = Generator(seed, **options)
    return [gen.next_line() for _ in range(count)]


def pack(lines, max_bytes=MAX_DATAGRAM):
    """Lines -> datagrams of whole lines, each newline-terminated and at most max_bytes (a
    longer line goes alone)."""
    datagrams, current = [], b""
    for line in lines:
        if current and len(current) + len(line) + 1 > max_bytes:
            datagrams.append(current)
            current = b""
        current += line + b"\n"
    if current:
        datagrams.append(current)
    return datagrams


def _split_address(address):
    host, _, port = address.rpartition(":")
    host = host[1:-1] if host.startswith("[") else host
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"refusing non-loopback address {address}")
    return host, int(port), socket.AF_INET6 if ":" in host else socket.AF_INET


class Stats:
    def __init__(self):
        self.lines = 0
        self.datagrams = 0
        self.bytes = 0

    def __repr__(self):
        return f"Stats(lines={self.lines}, datagrams={self.datagrams}, bytes={self.bytes})"


def run(address, rate=DEFAULT_RATE, duration=None, seed=DEFAULT_SEED, stop=None,
        stats=None, error_ratio=DEFAULT_ERROR_RATIO, slow_ratio=DEFAULT_SLOW_RATIO):
    """Send `rate` lines per second to the loopback UDP address ('127.0.0.1:8125' or
    '[::1]:8125') for `duration` seconds (None: until `stop`, a threading.Event, is set).
    Returns the Stats (lines, datagrams, bytes sent)."""
    host, port, family = _split_address(address)
    gen = Generator(seed, error_ratio=error_ratio, slow_ratio=slow_ratio)
    stats = stats or Stats()
    stop = stop or threading.Event()
    start = time.monotonic()
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        while not stop.is_set():
            elapsed = time.monotonic() - start
            if duration is not None and elapsed >= duration:
                break
            due = int(rate * min(elapsed + TICK, duration if duration is not None else math.inf))
            lines = [gen.next_line() for _ in range(max(0, due - stats.lines))]
            for datagram in pack(lines):
                try:
                    sock.sendto(datagram, (host, port))
                except OSError:  # nobody listening yet (ECONNREFUSED from a previous send)
                    continue
                stats.datagrams += 1
                stats.bytes += len(datagram)
            stats.lines += len(lines)
            stop.wait(TICK)
    return stats


class BackgroundTraffic(threading.Thread):
    """run() in a daemon thread; stop() ends it and waits. .stats counts what was sent."""

    def __init__(self, address, rate=DEFAULT_RATE, duration=None, seed=DEFAULT_SEED, **options):
        super().__init__(daemon=True, name="demo-traffic")
        self.stats = Stats()
        self._stop_event = threading.Event()
        self._args = (address, rate, duration, seed)
        self._options = options
        self.error = None

    def run(self):
        try:
            run(*self._args, stop=self._stop_event, stats=self.stats, **self._options)
        except Exception as e:  # noqa: BLE001 - reported by stop()
            self.error = e

    def stop(self, timeout=5.0):
        self._stop_event.set()
        self.join(timeout)
        if self.error:
            raise self.error
        return self.stats

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False


def start_in_background(address, rate=DEFAULT_RATE, duration=None, seed=DEFAULT_SEED, **options):
    """Start sending in a daemon thread; returns the BackgroundTraffic (stop() it, or use it
    as a context manager)."""
    traffic = BackgroundTraffic(address, rate, duration, seed, **options)
    traffic.start()
    return traffic


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--statsd", default="127.0.0.1:8125",
                        help="the agent's UDP intake, HOST:PORT on loopback (default %(default)s)")
    parser.add_argument("--rate", type=float, default=DEFAULT_RATE, help="lines per second (default %(default)g)")
    parser.add_argument("--duration", type=float, help="seconds to run (default: until interrupted)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default %(default)s)")
    parser.add_argument("--error-ratio", type=float, default=DEFAULT_ERROR_RATIO,
                        help="share of API requests answered 5xx (default %(default)g)")
    parser.add_argument("--slow-ratio", type=float, default=DEFAULT_SLOW_RATIO,
                        help="share of slow (1-4 s) requests and queries (default %(default)g)")
    parser.add_argument("--print", type=int, metavar="N", dest="print_lines",
                        help="print the first N lines to stdout and exit (nothing is sent)")
    args = parser.parse_args(argv)
    if args.rate <= 0 or not 0 <= args.error_ratio <= 1 or not 0 <= args.slow_ratio <= 1:
        parser.error("--rate must be positive, the ratios between 0 and 1")
    options = {"error_ratio": args.error_ratio, "slow_ratio": args.slow_ratio}
    if args.print_lines is not None:
        for line in generate_lines(args.print_lines, args.seed, **options):
            print(line.decode())
        return 0
    try:
        _split_address(args.statsd)
    except ValueError as e:
        parser.error(str(e))
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(f"sending {args.rate:g} lines/s to udp://{args.statsd} (seed {args.seed})"
          + (f" for {args.duration:g}s" if args.duration else "; Ctrl-C stops"), file=sys.stderr, flush=True)
    stats = run(args.statsd, args.rate, args.duration, args.seed, stop=stop, **options)
    print(f"sent {stats.lines} lines in {stats.datagrams} datagrams ({stats.bytes} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
