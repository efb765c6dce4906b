#!/usr/bin/python3
"""A small Flask app instrumented with mingus_monitor: every request timed by its route
template, a cached database lookup, a memoised score, a parallel batch of scores, an A/B
test and feedback, all sent to the mingus-agent over UDP.

    pip install client/python          # or: export PYTHONPATH=client/python
    MINGUS_AGENT_ADDR=127.0.0.1:8125 /usr/bin/python3 client/python/examples/flask_app.py
    curl localhost:5000/users/1; curl localhost:5000/users/1/score
    curl -X POST -H 'Content-Type: application/json' -d '{"user_ids": [1, 2, 9]}' \
        localhost:5000/scores
    curl 'localhost:5000/checkout?user=alice'; curl -X POST 'localhost:5000/checkout?user=alice'

Then the agent's /metrics has mingus_api_requests_total{endpoint="/users/<int:user_id>",...}.
"""

import argparse
import sqlite3
import threading

from flask import Flask, abort, jsonify, request

import mingus_monitor as mm

CHECKOUT = mm.experiments.experiment("checkout_cta", [("blue_button", 1), ("green_button", 1)])


class Database:
    """An in-memory SQLite database of users, one connection per thread."""

    def __init__(self):
        self._local = threading.local()

    def connection(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = sqlite3.connect(":memory:")
            conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, income REAL)")
            conn.executemany("INSERT INTO users VALUES (?, ?, ?)",
                             [(1, "alice", 52000), (2, "bob", 38000), (3, "carol", 91000)])
        return conn


def create_app(database=None):
    app = Flask(__name__)
    db = database or Database()
    # Every request timed by route, method and status; /healthz left out; the user's id
    # from a header the auth proxy sets.
    mm.instrument_flask(app, exclude=("/healthz",),
                        user_id=lambda environ: environ.get("HTTP_X_USER_ID"))

    @mm.cache_database_query(ttl=60)
    def load_user(user_id):
        query = "SELECT id, name, income FROM users WHERE id = ?"
        with mm.performance_monitor.db_timer(query) as timer:
            row = db.connection().execute(query, (user_id,)).fetchone()
            timer.rows = 0 if row is None else 1
        return None if row is None else {"id": row[0], "name": row[1], "income": row[2]}

    @mm.optimize_score_calculation(name="credit_score")
    def credit_score(user):
        return round(min(850, 300 + user["income"] / 200), 1)

    @mm.parallel_score_calculation(max_workers=4, name="credit_score")
    def score_one(user_id):
        user = load_user(user_id)
        if user is None:
            raise LookupError(f"no user {user_id}")
        return credit_score(user)

    @app.get("/users/<int:user_id>")
    def get_user(user_id):
        user = load_user(user_id)
        if user is None:
            abort(404)
        mm.business_intelligence.track_feature_usage(user_id, "profile")
        return jsonify(user)

    @app.get("/users/<int:user_id>/score")
    def get_score(user_id):
        user = load_user(user_id)
        if user is None:
            abort(404)
        return {"user_id": user_id, "score": credit_score(user)}

    @app.post("/scores")
    def post_scores():
        user_ids = (request.get_json(silent=True) or {}).get("user_ids", [])
        batch = score_one(user_ids)
        return {"scores": list(batch),
                "errors": {str(i): str(e) for i, e in batch.errors.items()}}

    @app.get("/checkout")
    def checkout_page():
        user = request.args.get("user", "anonymous")
        return {"variant": CHECKOUT.expose(user)}

    @app.post("/checkout")
    def checkout():
        user = request.args.get("user", "anonymous")
        mm.business_intelligence.track_user_engagement(user, "checkout")
        return {"variant": CHECKOUT.convert(user)}

    @app.post("/feedback")
    def feedback():
        body = request.get_json(silent=True) or {}
        mm.business_intelligence.track_user_feedback(body.get("user_id", "anonymous"), "csat",
                                                     body.get("rating", 5), body.get("comment"))
        return "", 204

    @app.get("/healthz")
    def healthz():
        return "ok"

    return app


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    create_app().run(host=args.host, port=args.port, threaded=True)


if __name__ == "__main__":
    main()
