"""Timing API requests, database queries and score calculations (the seed's
performance_monitor), and the collector's performance summaries."""

import functools
import math

from . import _collector_api


class _Timer:
    """A block or a function call timed on the monitor's clock; one event when it ends.
    Use it as `with monitor.api_timer(...) as t:` (one timing) or as a decorator (one timing
    per call). Attributes set inside the block (t.status, t.rows, ...) go into the event."""

    __slots__ = ("_monitor", "_start", "duration_ms")

    def __enter__(self):
        self._start = self._monitor._clock.monotonic()
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            self.duration_ms = (self._monitor._clock.monotonic() - self._start) * 1000.0
            self._finish(exc_type)
        except Exception:  # noqa: BLE001 - timing must never break the timed code
            self._monitor._client.count_drop("internal_error")
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            with self._copy():
                return fn(*args, **kwargs)
        return timed

    def _copy(self):
        raise NotImplementedError

    def _finish(self, exc_type):
        raise NotImplementedError


class ApiTimer(_Timer):
    """status: the answer's HTTP status; 500 when the block raised, 200 otherwise, unless set."""
    __slots__ = ("endpoint", "method", "user_id", "status", "request_id")

    def __init__(self, monitor, endpoint, method, user_id, status, request_id):
        self._monitor = monitor
        self.endpoint, self.method, self.user_id = endpoint, method, user_id
        self.status, self.request_id = status, request_id
        self.duration_ms = None

    def _copy(self):
        return ApiTimer(self._monitor, self.endpoint, self.method, self.user_id, self.status,
                        self.request_id)

    def _finish(self, exc_type):
        status = self.status if self.status is not None else (500 if exc_type else 200)
        self._monitor._client.event("api", {
            "endpoint": self.endpoint, "method": self.method, "status": status,
            "duration_ms": self.duration_ms, "user_id": self.user_id,
            "request_id": self.request_id})


class DbTimer(_Timer):
    """rows: rows returned or changed, when known (settable inside the block)."""
    __slots__ = ("query", "rows", "user_id", "request_id")

    def __init__(self, monitor, query, rows, user_id, request_id):
        self._monitor = monitor
        self.query, self.rows, self.user_id, self.request_id = query, rows, user_id, request_id
        self.duration_ms = None

    def _copy(self):
        return DbTimer(self._monitor, self.query, self.rows, self.user_id, self.request_id)

    def _finish(self, exc_type):
        self._monitor.record_db_query(self.query, self.duration_ms, self.rows, self.user_id,
                                      self.request_id)


class ScoreTimer(_Timer):
    """cached: whether the score came from a cache (settable inside the block)."""
    __slots__ = ("name", "input_size", "user_id", "cached")

    def __init__(self, monitor, name, input_size, user_id, cached):
        self._monitor = monitor
        self.name, self.input_size, self.user_id, self.cached = name, input_size, user_id, cached
        self.duration_ms = None

    def _copy(self):
        return ScoreTimer(self._monitor, self.name, self.input_size, self.user_id, self.cached)

    def _finish(self, exc_type):
        self._monitor.record_score(self.name, self.duration_ms, self.input_size, self.cached,
                                   self.user_id)


class PerformanceMonitor:
    """The seed's performance_monitor. Events go to the agent as `api`, `db` and `score`
    JSON events (mingus_api_*, mingus_db_*, mingus_score_* on the agent's /metrics)."""

    def __init__(self, client, clock=None, collector_url=None):
        self._client = client
        self._clock = clock or client.clock
        self.collector_url = collector_url

    # ------------------------------------------------------------------ timers

    def api_timer(self, endpoint, method="GET", user_id=None, status=None, request_id=None):
        """Times an API request. `endpoint` should be the route template
        ("/users/<int:user_id>"), not the raw path; the agent folds numeric and id-like path
        segments of raw paths into ":id" anyway."""
        return ApiTimer(self, endpoint, method, user_id, status, request_id)

    def db_timer(self, query, rows=None, user_id=None, request_id=None):
        """Times a database query; the agent fingerprints `query` (literals become ?)."""
        return DbTimer(self, query, rows, user_id, request_id)

    def score_timer(self, name, input_size=None, user_id=None, cached=None):
        """Times a score calculation."""
        return ScoreTimer(self, name, input_size, user_id, cached)

    # ------------------------------------------------------------------ explicit records

    def record_api_request(self, endpoint, method, status, duration_ms, user_id=None,
                           request_id=None):
        self._client.event("api", {"endpoint": endpoint, "method": method, "status": status,
                                   "duration_ms": duration_ms, "user_id": user_id,
                                   "request_id": request_id})

    def record_db_query(self, query, duration_ms, rows=None, user_id=None, request_id=None):
        self._client.event("db", {"query": query, "duration_ms": duration_ms, "rows": rows,
                                  "user_id": user_id, "request_id": request_id})

    def record_score(self, name, duration_ms, input_size=None, cached=None, user_id=None,
                     predicted=None, actual=None):
        self._client.event("score", {"name": name, "duration_ms": duration_ms,
                                     "input_size": input_size, "cached": cached,
                                     "user_id": user_id, "predicted": predicted,
                                     "actual": actual})

    # ------------------------------------------------------------------ summaries

    def _performance(self, hours, part, timeout):
        try:
            hours = float(hours)
        except (TypeError, ValueError):
            return _collector_api.error(f"hours must be a number, not {hours!r}")
        if not math.isfinite(hours) or hours <= 0:
            return _collector_api.error(f"hours must be positive, not {hours!r}")
        document = _collector_api.get_json(self.collector_url, "/api/monitoring/performance",
                                           {"hours": f"{hours:g}"}, timeout)
        if document.get("status") == "error":
            return document
        summary = dict(document.get(part) or {})
        summary.update(timestamp=document.get("timestamp"), hours=document.get("hours", hours),
                       window_seconds=document.get("window_seconds"))
        return summary

    def get_api_performance_summary(self, hours=24, timeout=_collector_api.DEFAULT_TIMEOUT):
        """The collector's API summary over the last `hours`: total_requests,
        requests_per_second, avg/p50/p95/p99_response_time (seconds), error_rate, status and
        per-endpoint figures (docs/dashboard-api.md, /api/monitoring/performance). On failure
        {"status": "error", "error": ...}."""
        return self._performance(hours, "api", timeout)

    def get_database_performance_summary(self, hours=24, timeout=_collector_api.DEFAULT_TIMEOUT):
        """The collector's database summary over the last `hours`: total_queries,
        avg/p50/p95/p99_execution_time, slow_queries, operations and slowest_queries."""
        return self._performance(hours, "database", timeout)
