#!/usr/bin/python3
"""The example Flask app (client/python/examples/flask_app.py, Debian's python3-flask) with
the SDK's WSGI middleware, exercised with Flask's test client while the SDK sends to a real
mingus-agent: the agent's mingus_api_* series carry the route templates
("/users/<int:user_id>"), never the raw paths, and the app's other calls (a cached query, a
memoised score, a parallel batch, an A/B test, feedback) arrive too.

Usage: /usr/bin/python3 tests/integration/python_sdk_flask_test.py --agent PATH
"""

import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SDK = os.path.join(HERE, "..", "..", "client", "python")
sys.path.insert(0, HERE)
sys.path.insert(0, SDK)
sys.path.insert(0, os.path.join(SDK, "examples"))
import harness as h  # noqa: E402
import mingus_monitor as mm  # noqa: E402

AGENT = None  # from --agent


class FlaskAppTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = h.start_agent(AGENT)
        cls.client = mm.configure(agent_addr=cls.agent.udp_address,
                                  collector_url="http://127.0.0.1:9", flush_interval=0.01)
        import flask_app  # after configure: its module-level objects are the package's
        cls.app = flask_app.create_app()
        cls.app.logger.disabled = True

    @classmethod
    def tearDownClass(cls):
        mm.configure(environ={})
        h.stop_agent(cls.agent)
        cls.agent.__exit__(None, None, None)

    def test_requests_appear_by_route_template(self):
        http = self.app.test_client()
        for user_id in (1, 1, 2, 3):
            response = http.get(f"/users/{user_id}", headers={"X-User-Id": f"u{user_id}"})
            self.assertEqual(response.status_code, 200)
        self.assertEqual(http.get("/users/999").status_code, 404)
        self.assertEqual(http.get("/users/1/score").json, {"user_id": 1, "score": 560.0})
        self.assertEqual(http.get("/users/1/score").status_code, 200)
        batch = http.post("/scores", json={"user_ids": [1, 2, 404, 3]}).json
        self.assertEqual(batch["scores"], [560.0, 490.0, None, 755.0])
        self.assertEqual(batch["errors"], {"2": "no user 404"})
        variant = http.get("/checkout?user=alice").json["variant"]
        self.assertEqual(http.post("/checkout?user=alice").json["variant"], variant)
        self.assertEqual(http.post("/feedback", json={"user_id": 1, "rating": 4}).status_code, 204)
        self.assertEqual(http.get("/no/such/page/42").status_code, 404)
        self.assertEqual(http.delete("/users/1").status_code, 405)
        self.assertEqual(http.get("/healthz").status_code, 200)  # not timed
        self.assertTrue(self.client.flush(timeout=10))
        self.assertEqual(self.client.stats()["dropped"], {})

        series = dict(endpoint="/users/<int:user_id>", method="GET", status="200")
        h.wait_for_sample(self.agent, "mingus_api_requests_total", 4, **series)
        h.wait_for_sample(self.agent, "mingus_experiment_conversions_total", 1,
                          experiment="checkout_cta", variant=variant)
        samples = h.parse_exposition(self.agent.metrics_text())[0]
        requests = {dict(labels)["endpoint"] + " " + dict(labels)["method"] + " "
                    + dict(labels)["status"]: v
                    for (name, labels), v in samples.items() if name == "mingus_api_requests_total"}
        self.assertEqual(requests, {
            "/users/<int:user_id> GET 200": 4,
            "/users/<int:user_id> GET 404": 1,
            "/users/<int:user_id>/score GET 200": 2,
            "/scores POST 200": 1,
            "/checkout GET 200": 1,
            "/checkout POST 200": 1,
            "/feedback POST 204": 1,
            "(unmatched) GET 404": 1,
            "(unmatched) DELETE 405": 1,
        })
        self.assertEqual(h.sample_value(samples, "mingus_api_request_duration_seconds_count",
                                        **series), 4)
        # The route's other figures: the cached lookup (users 1, 2, 3 and 404 once each),
        # the memoised score, the batch with its failed item.
        self.assertEqual(h.sample_value(samples, "mingus_db_query_duration_seconds_count",
                                        operation="select", table="users"), 5)
        self.assertGreaterEqual(h.sample_value(samples, "mingus_cache_requests_total",
                                               cache="database_query", result="hit"), 4)
        self.assertEqual(h.sample_value(samples, "mingus_score_calculations_total",
                                        cached="true", score="credit_score"), 2)
        self.assertEqual(h.sample_value(samples, "mingus_score_errors_total",
                                        score="credit_score"), 1)
        self.assertEqual(h.sample_value(samples, "mingus_feature_usage_total",
                                        feature="profile"), 4)

        # The spool has the same: route templates and the user ids from the header.
        response = self.agent.get("/api/v1/events?after=0&limit=10000")
        api = [json.loads(line)["event"] for line in response.text().splitlines()]
        api = [e for e in api if e["type"] == "api"]
        self.assertEqual(len(api), 13)
        self.assertEqual([e.get("user_id") for e in api[:4]], ["u1", "u1", "u2", "u3"])
        self.assertFalse([e for e in api if "/users/1" in e["endpoint"] or "42" in e["endpoint"]])


def main():
    global AGENT
    args, rest = h.agent_arg_parser(__doc__).parse_known_args()
    AGENT = args.agent
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
