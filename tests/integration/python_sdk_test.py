#!/usr/bin/python3
"""The Python SDK (client/python) against a real mingus-agent: every kind of call the SDK
makes arrives as the expected series on the agent's /metrics (which still passes promtool)
and as events in its spool (/api/v1/events); bad input is dropped and counted by the SDK and
never reaches the agent as a parse error; with the agent away, calls stay cheap and the
drops are counted.

Usage: /usr/bin/python3 tests/integration/python_sdk_test.py --agent PATH [unittest options]
"""

import json
import math
import os
import socket
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "client", "python"))
import harness as h  # noqa: E402
import mingus_monitor as mm  # noqa: E402

AGENT = None  # from --agent


def spool(agent, after=0):
    """The events in the agent's spool after cursor `after`, in order, and the last cursor."""
    events = []
    while True:
        response = agent.get(f"/api/v1/events?after={after}&limit=10000")
        assert response.status == 200, response.status
        lines = response.text().splitlines()
        events += [json.loads(line)["event"] for line in lines]
        after = int(response.headers["x-mingus-last-cursor"])
        if len(lines) < 10000:
            return events, after


class SdkToAgentTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = h.start_agent(AGENT)
        cls.client = mm.configure(agent_addr=cls.agent.udp_address,
                                  collector_url="http://127.0.0.1:9", flush_interval=0.01)

    @classmethod
    def tearDownClass(cls):
        mm.configure(environ={})
        h.stop_agent(cls.agent)
        cls.agent.__exit__(None, None, None)

    def test_every_call_reaches_the_agent(self):
        _, first_cursor = spool(self.agent)
        pm = mm.performance_monitor
        for user in (1, 2, 3):
            with pm.api_timer("/users/<int:user_id>", "GET", user_id=user) as t:
                t.status = 200
        try:
            with pm.api_timer("/api/pay", "POST"):
                raise ValueError("card declined")
        except ValueError:
            pass
        for _ in range(2):
            with pm.db_timer("SELECT * FROM users WHERE id = 5", rows=1):
                pass
        with pm.db_timer("INSERT INTO budgets (user_id, amount) VALUES (1, 20)") as q:
            q.rows = 1

        @mm.optimize_score_calculation(name="credit_score")
        def credit(profile):
            return profile["income"] / 1000

        credit({"income": 1000})
        credit({"income": 1000})  # memoised
        credit({"income": 2000})

        @mm.parallel_score_calculation(max_workers=2, name="risk")
        def risk(x):
            if x < 0:
                raise ValueError("negative")
            return x * 2

        batch = risk([1, -1, 2, -2, 3])
        self.assertEqual(set(batch.errors), {1, 3})

        @mm.cache_api_response(ttl=60)
        def dashboard(user_id):
            return {"user": user_id}

        dashboard(9)
        dashboard(9)

        bi = mm.business_intelligence
        bi.track_user_engagement(1, "login", session_id="s1", usage_time=30)
        bi.track_feature_usage(1, "budget_planner", usage_time=12)
        bi.track_user_feedback(2, "nps", 9, "clear and useful")
        bi.track_user_metric(3, "savings_rate", 0.2)
        bi.track_data_source("plaid", 0.05, 1.5)
        mm.ux_optimizer.track_user_interaction(1, "click", "save-btn", "/budget/42")
        variant = mm.experiments.expose("checkout_cta", "user339563", [("A", 1), ("B", 1)])
        mm.experiments.convert("checkout_cta", "user339563", variants=[("A", 1), ("B", 1)])
        self.assertEqual(variant, "B")
        mm.alerting_system.update_metric("queue_depth", 12)
        mm.alerting_system.update_metric("balance_delta", -7.5)

        # Bad input: dropped and counted by the SDK, never sent.
        pm.record_api_request("/x", "GET", 200, math.nan)
        pm.record_api_request("/x", "GET", 200, 1, user_id=object())
        bi.track_user_feedback(1, "csat", 4, "é" * 100_000)  # cut, still sent
        self.assertTrue(self.client.flush(timeout=10))

        stats = self.client.stats()
        self.assertEqual(stats["dropped"], {"not_finite": 1, "wrong_field_type": 1})
        self.assertGreaterEqual(stats["truncated"], 1)

        metrics = "mingus_experiment_conversions_total"
        h.wait_for_sample(self.agent, metrics, 1, experiment="checkout_cta", variant="B")
        h.wait_for_sample(self.agent, "mingus_sdk_dropped_total", 1, reason="not_finite",
                          sdk="python")
        text = self.agent.metrics_text()
        # promtool finds nothing on the families the SDK feeds (node_memory_* keep their
        # CamelCase, as node_exporter's: agent_promtool_test judges those).
        self.assertEqual([f for f in h.promtool_check_metrics(text) if f.startswith("mingus_")], [])
        samples = h.parse_exposition(text)[0]

        def value(name, **labels):
            return h.sample_value(samples, name, default=None, **labels)

        api = dict(endpoint="/users/<int:user_id>", method="GET", status="200")
        self.assertEqual(value("mingus_api_requests_total", **api), 3)
        self.assertEqual(value("mingus_api_request_duration_seconds_count", **api), 3)
        self.assertEqual(value("mingus_api_requests_total", endpoint="/api/pay", method="POST",
                               status="500"), 1)
        self.assertEqual(value("mingus_api_errors_total", endpoint="/api/pay", method="POST"), 1)
        self.assertEqual(value("mingus_db_query_duration_seconds_count", operation="select",
                               table="users"), 2)
        self.assertEqual(value("mingus_db_query_rows_total", operation="insert",
                               table="budgets"), 1)
        self.assertEqual(value("mingus_score_calculations_total", cached="false",
                               score="credit_score"), 2)
        self.assertEqual(value("mingus_score_calculations_total", cached="true",
                               score="credit_score"), 1)
        self.assertEqual(value("mingus_score_duration_seconds_count", score="risk.batch"), 1)
        self.assertEqual(value("mingus_score_errors_total", score="risk"), 2)
        self.assertEqual(value("mingus_cache_requests_total", cache="api_response",
                               result="miss"), 1)
        self.assertEqual(value("mingus_cache_requests_total", cache="api_response",
                               result="hit"), 1)
        self.assertEqual(value("mingus_cache_requests_total", cache="score", result="hit"), 1)
        self.assertEqual(value("mingus_engagement_actions_total", action="login"), 1)
        self.assertEqual(value("mingus_engagement_usage_seconds_total", action="login"), 30)
        self.assertEqual(value("mingus_feature_usage_total", feature="budget_planner"), 1)
        self.assertEqual(value("mingus_feedback_rating_count", kind="nps"), 1)
        self.assertEqual(value("mingus_feedback_rating_count", kind="csat"), 1)
        self.assertEqual(value("mingus_user_metric_value_count", metric="savings_rate"), 1)
        self.assertEqual(value("mingus_data_source_cost_total", source="plaid"), 0.05)
        self.assertEqual(value("mingus_ux_interactions_total", element="save-btn",
                               event_type="click", page="/budget/:id"), 1)
        self.assertEqual(value("mingus_experiment_exposures_total", experiment="checkout_cta",
                               variant="B"), 1)
        self.assertEqual(value("mingus_queue_depth"), 12)
        self.assertEqual(value("mingus_balance_delta"), -7.5)
        self.assertEqual(value("mingus_sdk_dropped_total", reason="wrong_field_type",
                               sdk="python"), 1)
        self.assertEqual(value("mingus_sdk_truncated_total", sdk="python"), stats["truncated"])
        # Nothing the SDK sent was refused by the agent.
        refused = {dict(labels).get("reason"): v for (name, labels), v in samples.items()
                   if name == "mingus_agent_parse_errors_total" and v > 0}
        self.assertEqual(refused, {})

        # The spool holds every event, as sent.
        events, _ = spool(self.agent, first_cursor)
        by_type = {}
        for event in events:
            by_type.setdefault(event["type"], []).append(event)
        self.assertEqual({t: len(v) for t, v in by_type.items()}, {
            "api": 4, "db": 3, "score": 4, "cache": 5, "engagement": 1, "feature": 1,
            "feedback": 2, "user_metric": 1, "data_source": 1, "interaction": 1,
            "experiment": 2})
        self.assertEqual(by_type["api"][0]["endpoint"], "/users/<int:user_id>")
        self.assertEqual(by_type["api"][0]["user_id"], 1)
        self.assertEqual([e["event"] for e in by_type["experiment"]], ["exposure", "conversion"])
        self.assertEqual(by_type["feedback"][0]["comment"], "clear and useful")
        self.assertTrue(by_type["feedback"][1]["comment"].startswith("ééé"))
        self.assertEqual(sum(1 for e in by_type["cache"] if e["result"] == "hit"), 2)

    def test_many_events_arrive_packed(self):
        before = self.client.stats()
        for i in range(2000):
            mm.performance_monitor.record_api_request("/bulk/<int:n>", "GET", 200, i % 50)
        self.assertTrue(self.client.flush(timeout=10))
        after = self.client.stats()
        sent = after["sent_lines"] - before["sent_lines"]
        datagrams = after["sent_datagrams"] - before["sent_datagrams"]
        self.assertEqual(sent, 2000)
        self.assertLess(datagrams, 2000 / 10)  # about 16 lines a datagram
        h.wait_for_sample(self.agent, "mingus_api_requests_total", 2000,
                          endpoint="/bulk/<int:n>", method="GET", status="200")


class AgentAwayTest(unittest.TestCase):
    def test_calls_stay_cheap_and_drops_are_counted(self):
        # A UDP port nobody listens on: the kernel answers ICMP port unreachable, which the
        # SDK's connected socket reports on a later send.
        port = h.free_port(socket.SOCK_DGRAM)
        client = mm.Client(f"127.0.0.1:{port}", flush_interval=0.005, report_self=False)
        monitor = mm.PerformanceMonitor(client, collector_url="http://127.0.0.1:9")
        started = time.perf_counter()
        for round_ in range(20):
            for i in range(100):
                with monitor.api_timer("/away", "GET"):
                    pass
            time.sleep(0.01)  # let the sender thread meet the refusals
        elapsed = time.perf_counter() - started - 20 * 0.01
        client.flush(timeout=10)
        stats = client.stats()
        client.close()
        self.assertLess(elapsed / 2000, 200e-6)  # a few microseconds; generous when busy
        self.assertGreater(stats["dropped"].get("agent_unreachable", 0), 0, stats)
        self.assertEqual(stats["sent_lines"] + stats["dropped_total"], 2000)
        print(f"agent away: {elapsed / 2000 * 1e6:.1f} µs a timer in the caller; {stats}")

    def test_an_address_that_does_not_resolve(self):
        client = mm.Client("agent.does-not-exist.invalid:8125", report_self=False)
        started = time.perf_counter()
        for i in range(1000):
            client.event("feature", {"user_id": i, "feature": "f"})
        elapsed = time.perf_counter() - started
        client.flush(timeout=30)
        stats = client.stats()
        client.close()
        self.assertLess(elapsed, 1.0)
        self.assertEqual(stats["dropped"], {"address_unresolved": 1000})


def main():
    global AGENT
    parser = h.agent_arg_parser(__doc__)
    args, rest = parser.parse_known_args()
    AGENT = args.agent
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
