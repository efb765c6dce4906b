"""The WSGI middleware in a Flask app (Debian's python3-flask), driven by Flask's test
client, events caught by a fake transport."""

import unittest

from support import FakeClock, make_client

import flask

from mingus_monitor import MingusMiddleware, PerformanceMonitor, instrument_flask


def make_app(clock):
    app = flask.Flask("middleware_test")
    app.logger.disabled = True  # the 500 test logs a traceback otherwise

    @app.route("/users/<int:user_id>")
    def user(user_id):
        clock.advance(0.003)
        return {"id": user_id}

    @app.route("/users/<int:user_id>/budgets/<name>", methods=["GET", "PUT"])
    def budget(user_id, name):
        return "", 204

    @app.route("/boom")
    def boom():
        raise RuntimeError("boom")

    @app.route("/stream")
    def stream():
        def chunks():
            for i in range(3):
                clock.advance(0.010)
                yield f"{i}\n"
        return flask.Response(chunks(), mimetype="text/plain")

    @app.route("/healthz")
    def healthz():
        return "ok"

    return app


class MiddlewareTest(unittest.TestCase):
    def setUp(self):
        self.clock = FakeClock()
        self.client = make_client(self.clock)
        self.app = make_app(self.clock)
        monitor = PerformanceMonitor(self.client, self.clock, "http://127.0.0.1:9")
        self.middleware = instrument_flask(
            self.app, monitor=monitor, exclude=("/healthz",),
            user_id=lambda environ: environ.get("HTTP_X_USER"))
        self.http = self.app.test_client()

    def events(self):
        self.client.flush()
        return [(e["endpoint"], e["method"], e["status"]) for e in self.client.transport.events()]

    def test_requests_are_timed_by_route_template(self):
        self.assertEqual(self.http.get("/users/42").status_code, 200)
        self.http.get("/users/7")
        self.http.put("/users/7/budgets/rent")
        self.http.delete("/users/7/budgets/rent")   # 405
        self.http.get("/no/such/page/123")          # 404
        self.http.get("/healthz")                   # excluded
        self.assertEqual(self.events(), [
            ("/users/<int:user_id>", "GET", 200),
            ("/users/<int:user_id>", "GET", 200),
            ("/users/<int:user_id>/budgets/<name>", "PUT", 204),
            ("(unmatched)", "DELETE", 405),
            ("(unmatched)", "GET", 404)])
        first = self.client.transport.events()[0]
        self.assertEqual(first["duration_ms"], 3.0)

    def test_an_exception_in_a_view_is_a_500(self):
        self.app.testing = False  # Flask answers 500 itself
        self.assertEqual(self.http.get("/boom").status_code, 500)
        self.app.testing = True   # Flask lets the exception through the middleware
        with self.assertRaises(RuntimeError):
            self.http.get("/boom")
        self.assertEqual(self.events(), [("/boom", "GET", 500), ("/boom", "GET", 500)])

    def test_a_streamed_response_is_timed_to_its_end(self):
        response = self.http.get("/stream")
        self.assertEqual(response.get_data(as_text=True), "0\n1\n2\n")
        response.close()
        self.client.flush()
        [event] = self.client.transport.events()
        self.assertEqual(event["endpoint"], "/stream")
        self.assertEqual(event["duration_ms"], 30.0)

    def test_user_id_and_odd_methods(self):
        self.http.get("/users/1", headers={"X-User": "u-9"})
        self.http.open("/users/1", method="BREW")
        self.client.flush()
        events = self.client.transport.events()
        self.assertEqual(events[0]["user_id"], "u-9")
        self.assertEqual((events[1]["method"], events[1]["status"]), ("OTHER", 405))

    def test_a_broken_monitor_never_breaks_the_app(self):
        class Broken:
            _clock = None

            def record_api_request(self, *args):
                raise RuntimeError("monitor down")

        app = make_app(self.clock)
        app.wsgi_app = MingusMiddleware(app.wsgi_app, flask_app=app, monitor=Broken())
        self.assertEqual(app.test_client().get("/users/3").json, {"id": 3})


if __name__ == "__main__":
    unittest.main()
