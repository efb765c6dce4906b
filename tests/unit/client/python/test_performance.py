"""Timers on a fake clock, the business, UX and alerting calls, and the collector's reports
(from a stub HTTP server on loopback)."""

import http.server
import json
import threading
import unittest

from support import FakeClock, make_client

from mingus_monitor import (AlertingSystem, BusinessIntelligence, PerformanceMonitor,
                            UXOptimizer)
from mingus_monitor.alerting import metric_name


class TimerTest(unittest.TestCase):
    def setUp(self):
        self.clock = FakeClock()
        self.client = make_client(self.clock)
        self.monitor = PerformanceMonitor(self.client, self.clock, "http://127.0.0.1:9")

    def events(self):
        self.client.flush()
        return self.client.transport.events()

    def test_api_timer(self):
        with self.monitor.api_timer("/users/<int:user_id>", "GET", user_id=42) as t:
            self.clock.advance(0.125)
            t.status = 404
        self.assertEqual(t.duration_ms, 125.0)
        self.assertEqual(self.events(), [{"type": "api", "endpoint": "/users/<int:user_id>",
                                          "method": "GET", "status": 404,
                                          "duration_ms": 125.0, "user_id": 42}])

    def test_an_exception_is_a_500_and_passes_through(self):
        with self.assertRaises(KeyError):
            with self.monitor.api_timer("/pay", "POST"):
                self.clock.advance(0.002)
                raise KeyError("card")
        self.assertEqual(self.events()[0]["status"], 500)

    def test_timers_as_decorators_time_each_call(self):
        @self.monitor.db_timer("SELECT * FROM budgets WHERE user_id = ?", rows=3)
        def load(n):
            self.clock.advance(n)
            return n

        @self.monitor.score_timer("credit", input_size=10)
        def score():
            self.clock.advance(0.5)

        @self.monitor.api_timer("/x", "PUT", status=201)
        def view():
            pass

        load(0.01)
        load(0.02)
        score()
        view()
        events = self.events()
        self.assertEqual([(e["type"], e["duration_ms"]) for e in events],
                         [("db", 10.0), ("db", 20.0), ("score", 500.0), ("api", 0.0)])
        self.assertEqual(events[0]["rows"], 3)
        self.assertEqual(events[2]["input_size"], 10)
        self.assertEqual(events[3]["status"], 201)

    def test_rows_and_cached_settable_inside(self):
        with self.monitor.db_timer("UPDATE users SET x = 1") as q:
            q.rows = 7
        with self.monitor.score_timer("s") as s:
            s.cached = True
        events = self.events()
        self.assertEqual(events[0]["rows"], 7)
        self.assertIs(events[1]["cached"], True)

    def test_a_clock_going_wrong_never_breaks_the_timed_code(self):
        class BrokenClock(FakeClock):
            calls = 0

            def monotonic(self):
                self.calls += 1
                if self.calls > 1:
                    return float("nan")
                return 0.0

        monitor = PerformanceMonitor(self.client, BrokenClock(), "http://127.0.0.1:9")
        with monitor.api_timer("/x"):
            pass
        self.client.flush()
        self.assertEqual(self.client.stats()["dropped"], {"not_finite": 1})


class EventsTest(unittest.TestCase):
    def test_business_ux_and_alerting(self):
        client = make_client()
        bi = BusinessIntelligence(client, "http://127.0.0.1:9")
        bi.track_user_engagement(1, "login", session_id="s1", usage_time=30)
        bi.track_feature_usage("u2", "budget_planner", usage_time=12.5)
        bi.track_user_feedback(3, "nps", 9, "great")
        bi.track_user_metric(4, "savings_rate", 0.12)
        bi.track_data_source("plaid", 0.05, 1.2)
        UXOptimizer(client).track_user_interaction(5, "click", "save-btn", "/budget/42")
        alerting = AlertingSystem(client)
        alerting.update_metric("api.error-rate", 0.02)
        alerting.update_metric("mingus_queue_depth", 3, {"queue": "emails"})
        client.flush()
        self.assertEqual([e["type"] for e in client.transport.events()],
                         ["engagement", "feature", "feedback", "user_metric", "data_source",
                          "interaction"])
        self.assertEqual(client.transport.events()[2],
                         {"type": "feedback", "user_id": 3, "kind": "nps", "rating": 9,
                          "comment": "great"})
        self.assertEqual(client.transport.statsd(),
                         ["mingus_api_error_rate:0.02|g", "mingus_queue_depth:3|g|#queue:emails"])

    def test_metric_names(self):
        self.assertEqual(metric_name("cpu usage %"), "mingus_cpu_usage")
        self.assertEqual(metric_name("mingus_x"), "mingus_x")
        self.assertEqual(metric_name("%%"), "mingus_unnamed")


class StubCollector:
    """Answers GET paths from a dict {path: (status, body)}, recording the request lines."""

    def __init__(self, answers):
        self.requests = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                outer.requests.append(self.path)
                status, body = answers.get(self.path.split("?")[0], (404, {"error": "no"}))
                data = json.dumps(body).encode() if not isinstance(body, bytes) else body
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


PERFORMANCE = {"timestamp": "2025-06-22T10:30:00Z", "hours": 2, "window_seconds": 7200,
               "api": {"total_requests": 1500, "avg_response_time": 0.5, "status": "warning",
                       "endpoints": []},
               "database": {"total_queries": 3000, "slow_queries": 5, "status": "good"}}


class ReportsTest(unittest.TestCase):
    def setUp(self):
        self.collector = StubCollector({"/api/monitoring/performance": (200, PERFORMANCE),
                                        "/api/monitoring/insights": (200, {"days": 7, "dau": 3})})
        self.client = make_client()

    def tearDown(self):
        self.collector.close()

    def test_performance_summaries(self):
        monitor = PerformanceMonitor(self.client, collector_url=self.collector.url)
        api = monitor.get_api_performance_summary(2)
        self.assertEqual(api["total_requests"], 1500)
        self.assertEqual((api["hours"], api["window_seconds"], api["timestamp"]),
                         (2, 7200, "2025-06-22T10:30:00Z"))
        db = monitor.get_database_performance_summary(hours=0.5)
        self.assertEqual(db["slow_queries"], 5)
        self.assertEqual(self.collector.requests, ["/api/monitoring/performance?hours=2",
                                                   "/api/monitoring/performance?hours=0.5"])
        for bad in (0, -1, "x", float("nan"), None):
            self.assertEqual(monitor.get_api_performance_summary(bad)["status"], "error")

    def test_insights_report(self):
        bi = BusinessIntelligence(self.client, self.collector.url)
        self.assertEqual(bi.generate_insights_report(7), {"days": 7, "dau": 3})
        self.assertEqual(self.collector.requests, ["/api/monitoring/insights?days=7"])
        self.assertEqual(bi.generate_insights_report(0)["status"], "error")

    def test_errors_are_dicts(self):
        missing = StubCollector({})
        try:
            report = BusinessIntelligence(self.client, missing.url).generate_insights_report(30)
            self.assertEqual(report["status"], "error")
            self.assertEqual(report["http_status"], 404)
            self.assertIn("/api/monitoring/insights", report["error"])
        finally:
            missing.close()
        bad = StubCollector({"/api/monitoring/performance": (400, {"status": "error",
                                                                    "error": "bad hours"}),
                             "/api/monitoring/insights": (200, b"<html>")})
        try:
            monitor = PerformanceMonitor(self.client, collector_url=bad.url)
            self.assertEqual(monitor.get_api_performance_summary(1)["error"], "bad hours")
            report = BusinessIntelligence(self.client, bad.url).generate_insights_report(1)
            self.assertIn("not JSON", report["error"])
        finally:
            bad.close()
        # Nobody listening (port 9: discard, closed here), and a URL that is not one.
        down = PerformanceMonitor(self.client, collector_url="http://127.0.0.1:9")
        self.assertIn("unreachable", down.get_database_performance_summary(1)["error"])
        nonsense = PerformanceMonitor(self.client, collector_url="not a url")
        self.assertEqual(nonsense.get_api_performance_summary(1)["status"], "error")


if __name__ == "__main__":
    unittest.main()
