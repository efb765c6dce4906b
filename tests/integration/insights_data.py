"""A generated app history for the insights report: users who register over the last `days`
days and come back on some later days, with engagement, feature use, feedback with comments,
scores with predictions, data source costs and a burst of events on one day. Deterministic for
a seed and a `now`; event times are `ts` (Unix seconds), spread over each UTC day.

Used by tests/integration/insights_test.py (whose figures are checked against the store, not
against this generator) and by the insights benchmark.
"""

import random

DAY = 86400
ACTIONS = ["login", "view_budget", "edit_goal", "export"]
FEATURES = ["budget", "goals", "reports", "insights"]
# Comments built from the lexicon of docs/insights.md, and neutral ones.
COMMENTS = [
    "great app, love the budget view", "not good, the sync is slow", "meh", "never slow",
    "awful crash on export", "useful and simple", "don't like the new goals page",
    "terrible, broken and slow since the update", "thanks! works as expected",
    "confusing settings", "it's fine I guess", "best finance app, would recommend",
]
SOURCES = [("plaid", 0.25, 0.9), ("yodlee", 0.4, 0.5), ("open-data", 0.0, 0.2)]


def _ts(rng, day_start, now):
    """A time on the day starting at day_start, never later than a minute before now."""
    latest = min(day_start + DAY, now - 60) - day_start
    return round(day_start + rng.uniform(0, max(latest, 1)), 3)


def generate(seed, now, users=300, days=70, burst_day=4, burst_events=600):
    """Yield event dicts. `burst_day` days ago gets `burst_events` extra cache events (a day
    the anomaly rule flags)."""
    rng = random.Random(seed)
    today = int(now // DAY) * DAY
    for user in range(users):
        uid = f"user{user}"
        first = rng.randint(0, days - 1)  # days ago
        chance = rng.uniform(0.05, 0.7)
        # "insights" is a new feature: used only in the last 10 days.
        features = FEATURES if first < 10 else FEATURES[:3]
        for ago in range(first, -1, -1):
            if ago != first and rng.random() > chance:
                continue
            start = today - ago * DAY
            session = f"s{user}-{ago}-{rng.randint(0, 1)}"
            for _ in range(rng.randint(1, 3)):
                event = {"type": "engagement", "user_id": uid, "action": rng.choice(ACTIONS),
                         "session_id": session, "ts": _ts(rng, start, now)}
                if rng.random() < 0.7:
                    event["usage_time"] = rng.randint(1, 600)
                yield event
            if rng.random() < 0.5:
                event = {"type": "feature", "user_id": uid,
                         "feature": rng.choice(features[:3] if ago >= 10 else features),
                         "ts": _ts(rng, start, now)}
                if rng.random() < 0.8:
                    event["session_id"] = session
                if rng.random() < 0.8:
                    event["usage_time"] = round(rng.uniform(0, 300), 1)
                yield event
            if rng.random() < 0.15:
                kind = rng.choice(["nps", "nps", "csat", "app"])
                rating = {"nps": rng.randint(0, 10), "csat": rng.randint(1, 5),
                          "app": rng.randint(0, 20) / 2}[kind]
                event = {"type": "feedback", "user_id": uid, "kind": kind, "rating": rating,
                         "ts": _ts(rng, start, now)}
                if rng.random() < 0.6:
                    event["comment"] = rng.choice(COMMENTS)
                yield event
            if rng.random() < 0.2:
                actual = rng.choice([0, round(rng.uniform(300, 850), 1)])
                event = {"type": "score", "name": rng.choice(["credit", "risk"]),
                         "duration_ms": rng.randint(1, 50), "user_id": uid,
                         "ts": _ts(rng, start, now)}
                if rng.random() < 0.9:
                    event["predicted"] = round(actual * rng.uniform(0.8, 1.2), 1)
                    event["actual"] = actual
                yield event
    for ago in range(days):
        start = today - ago * DAY
        for _ in range(rng.randint(5, 15)):
            source, cost, value = rng.choice(SOURCES)
            yield {"type": "data_source", "source": source, "cost": cost,
                   "value": round(value * rng.uniform(0.5, 1.5), 3), "ts": _ts(rng, start, now)}
        extra = burst_events if ago == burst_day else rng.randint(20, 40)
        for _ in range(extra):
            yield {"type": "cache", "cache": "scores", "result": rng.choice(["hit", "miss"]),
                   "ts": _ts(rng, start, now)}
