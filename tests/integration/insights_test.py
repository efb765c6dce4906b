#!/usr/bin/python3
"""The insights report against independent computations (issue 8, acceptance 1).

A generated history (tests/integration/insights_data.py, fixed seed: 70 days of users who
register and come back, engagement, features, feedback with comments, scores with predictions,
data sources, a burst of events on one day) goes through a real agent into a real collector.
Then every figure of GET /api/monitoring/insights?days=30 is computed again from the raw
`events` table, with plain SQL run by the sqlite3 tool and Python over rows it returns
(Debian's scipy.stats for the anomalies' means and standard deviations), following the
definitions of docs/insights.md (the sentiment lexicon is read from there). The same report
from `mingus-collector report insights` (json and markdown), and bad `days` refused with a
message by both.

Usage: /usr/bin/python3 tests/integration/insights_test.py --agent PATH --collector PATH
"""

import datetime
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import insights_data  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DAYS = 30
SEED = 8
DAY_MS = 86_400_000
DAY_SQL = "date(time_ms / 1000, 'unixepoch')"


def sql(db, query):
    """The rows of `query` as the sqlite3 tool prints them with -json ([] for none)."""
    out = subprocess.run(["sqlite3", "-readonly", "-json", db, query], check=True,
                         capture_output=True, text=True, timeout=60).stdout
    return json.loads(out) if out.strip() else []


def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def assert_close(what, got, want):
    assert close(got, want), f"{what}: report {got}, computed {want}"


def day_ms(date):
    return int(datetime.datetime.strptime(date, "%Y-%m-%d").replace(
        tzinfo=datetime.timezone.utc).timestamp()) * 1000


def shift(date, days):
    return (datetime.date.fromisoformat(date) + datetime.timedelta(days=days)).isoformat()


def lexicon():
    """positive, negative and negators as docs/insights.md lists them."""
    text = open(os.path.join(ROOT, "docs/insights.md")).read()
    lists = dict(re.findall(r"^(positive|negative|negators): (.+)$", text, re.M))
    assert set(lists) == {"positive", "negative", "negators"}, lists.keys()
    return {name: set(words.split()) for name, words in lists.items()}


def sentiment(comment, words):
    score, negated = 0, False
    for token in re.findall(r"[A-Za-z']+", comment):
        word = token.lower().strip("'")
        if not word:
            continue
        sign = -1 if negated else 1
        score += sign * ((word in words["positive"]) - (word in words["negative"]))
        negated = word in words["negators"]
    return score


class Store:
    """What the raw events say, read once with the sqlite3 tool."""

    def __init__(self, db, report):
        self.db = db
        self.start, self.end = day_ms(report["from"]), day_ms(report["to"]) + DAY_MS
        self.previous_start = self.start - (self.end - self.start)
        self.days = [shift(report["from"], i) for i in range(report["days"])]
        self.active = {}  # day -> users with an event on it
        for row in sql(db, f"SELECT DISTINCT user_id AS u, {DAY_SQL} AS d FROM events "
                           "WHERE user_id IS NOT NULL"):
            self.active.setdefault(row["d"], set()).add(row["u"])
        self.registered = {row["u"]: row["d"] for row in sql(
            db, "SELECT user_id AS u, date(min(time_ms) / 1000, 'unixepoch') AS d FROM events "
                "WHERE user_id IS NOT NULL GROUP BY user_id")}

    def users_between(self, first, last):
        users = set()
        for day, active in self.active.items():
            if first <= day <= last:
                users |= active
        return users

    def period(self, type_):
        return f"type = '{type_}' AND time_ms >= {self.start} AND time_ms < {self.end}"


def check_active_users(report, store):
    assert [d["date"] for d in report["per_day"]] == store.days
    for d in report["per_day"]:
        day = d["date"]
        want = {
            "registrations": sum(1 for r in store.registered.values() if r == day),
            "dau": len(store.active.get(day, ())),
            "wau": len(store.users_between(shift(day, -6), day)),
            "mau": len(store.users_between(shift(day, -29), day)),
        }
        for field, value in want.items():
            assert d[field] == value, (day, field, d[field], value)
        assert_close(f"{day} stickiness", d["stickiness"], d["dau"] / d["mau"] if d["mau"] else 0)
    registrations = sql(store.db, f"SELECT count(*) AS n FROM (SELECT min(time_ms) AS first FROM events "
                                  f"WHERE user_id IS NOT NULL GROUP BY user_id) "
                                  f"WHERE first >= {store.start} AND first < {store.end}")[0]["n"]
    assert report["registrations"] == registrations, (report["registrations"], registrations)
    active = report["active_users"]
    average = statistics.mean(len(store.active.get(day, ())) for day in store.days)
    assert_close("average_dau", active["average_dau"], average)
    last = report["per_day"][-1]
    assert (active["wau"], active["mau"]) == (last["wau"], last["mau"]), active
    assert_close("stickiness", active["stickiness"], average / last["mau"])
    in_period = sql(store.db, f"SELECT count(DISTINCT user_id) AS n FROM events "
                              f"WHERE time_ms >= {store.start} AND time_ms < {store.end}")[0]["n"]
    assert active["in_period"] == in_period, (active["in_period"], in_period)


def check_retention(report, store):
    first = datetime.date.fromisoformat(report["from"])
    monday = first - datetime.timedelta(days=first.weekday())
    weeks = []
    while monday.isoformat() <= report["to"]:
        weeks.append(monday.isoformat())
        monday += datetime.timedelta(days=7)
    assert [c["week"] for c in report["retention"]] == weeks, report["retention"]
    retained_any = 0
    for cohort in report["retention"]:
        members = [u for u, d in store.registered.items() if report["from"] <= d <= report["to"]
                   and cohort["week"] <= d <= shift(cohort["week"], 6)]
        assert cohort["users"] == len(members), (cohort["week"], cohort["users"], len(members))
        for n in (1, 7, 30):
            eligible = [u for u in members if shift(store.registered[u], n) <= report["to"]]
            retained = [u for u in eligible if u in store.active.get(shift(store.registered[u], n), ())]
            got = cohort[f"day_{n}"]
            assert (got["eligible"], got["retained"]) == (len(eligible), len(retained)), (
                cohort["week"], n, got, len(eligible), len(retained))
            assert_close(f"{cohort['week']} day {n}", got["rate"],
                         len(retained) / len(eligible) if eligible else None)
            retained_any += len(retained)
    assert retained_any > 0, "the data set retains nobody: nothing was checked"


def check_engagement(report, store):
    want = sql(store.db, f"SELECT action, count(*) AS events, count(DISTINCT user_id) AS users, "
                         f"count(DISTINCT session_id) AS sessions, "
                         f"coalesce(sum(usage_time), 0) AS usage_time, "
                         f"sum(usage_time) * 1.0 / count(usage_time) AS average_usage_time "
                         f"FROM events WHERE {store.period('engagement')} GROUP BY action")
    want.sort(key=lambda r: (-r["events"], r["action"]))
    got = report["engagement"]
    assert [r["action"] for r in got] == [r["action"] for r in want], (got, want)
    for g, w in zip(got, want):
        for field in w:
            assert close(g[field], w[field]) if isinstance(w[field], float) or w[field] is None \
                else g[field] == w[field], (g, w, field)


def check_features(report, store):
    def by_feature(start, end):
        return {r["feature"]: r for r in sql(
            store.db, f"SELECT feature, count(*) AS events, count(DISTINCT user_id) AS users, "
                      f"count(DISTINCT session_id) AS sessions, "
                      f"coalesce(sum(usage_time), 0) AS usage_time FROM events "
                      f"WHERE type = 'feature' AND time_ms >= {start} AND time_ms < {end} "
                      f"GROUP BY feature")}
    now, before = by_feature(store.start, store.end), by_feature(store.previous_start, store.start)
    active = report["active_users"]["in_period"]
    empty = {"events": 0, "users": 0, "sessions": 0, "usage_time": 0}
    names = sorted(set(now) | set(before), key=lambda f: (-now.get(f, empty)["users"], f))
    got = report["features"]
    assert [f["feature"] for f in got] == names, ([f["feature"] for f in got], names)
    new_features = 0
    for g in got:
        n, b = now.get(g["feature"], empty), before.get(g["feature"], empty)
        for field in ("events", "users", "sessions"):
            assert g[field] == n[field], (g, n, field)
        assert_close(f"{g['feature']} usage_time", g["usage_time"], n["usage_time"])
        assert_close(f"{g['feature']} adoption", g["adoption"], n["users"] / active)
        assert g["previous_users"] == b["users"], (g, b)
        assert_close(f"{g['feature']} previous usage", g["previous_usage_time"], b["usage_time"])
        assert_close(f"{g['feature']} users_change", g["users_change"],
                     (n["users"] - b["users"]) / b["users"] if b["users"] else None)
        assert_close(f"{g['feature']} usage_time_change", g["usage_time_change"],
                     (n["usage_time"] - b["usage_time"]) / b["usage_time"] if b["usage_time"] else None)
        new_features += g["users_change"] is None
    assert new_features > 0, "no feature new in the period: the null change was not checked"


def check_satisfaction(report, store):
    rows = sql(store.db, f"SELECT kind, rating, comment, time_ms FROM events "
                         f"WHERE {store.period('feedback')}")
    s = report["satisfaction"]
    assert s["responses"] == len(rows), (s["responses"], len(rows))
    kinds = sorted({r["kind"] for r in rows})
    assert [k["kind"] for k in s["kinds"]] == kinds, s["kinds"]
    for k in s["kinds"]:
        ratings = [r["rating"] for r in rows if r["kind"] == k["kind"]]
        assert k["responses"] == len(ratings)
        assert_close(f"{k['kind']} average", k["average_rating"], statistics.mean(ratings))
        want = [{"rating": v, "count": ratings.count(v)} for v in sorted(set(ratings))]
        assert [(d["rating"], d["count"]) for d in k["distribution"]] == \
            [(d["rating"], d["count"]) for d in want], (k["distribution"], want)
    csat = [r["rating"] for r in rows if r["kind"] == "csat"]
    satisfied = sum(1 for r in csat if r >= 4)
    assert (s["csat"]["responses"], s["csat"]["satisfied"]) == (len(csat), satisfied), s["csat"]
    assert_close("CSAT", s["csat"]["score"], 100 * satisfied / len(csat))
    nps = [r["rating"] for r in rows if r["kind"] == "nps"]
    promoters, detractors = sum(r >= 9 for r in nps), sum(r <= 6 for r in nps)
    assert (s["nps"]["promoters"], s["nps"]["passives"], s["nps"]["detractors"]) == (
        promoters, len(nps) - promoters - detractors, detractors), s["nps"]
    assert_close("NPS", s["nps"]["score"], 100 * (promoters - detractors) / len(nps))

    words = lexicon()
    commented = [dict(r, score=sentiment(r["comment"], words)) for r in rows if r["comment"]]
    scores = [r["score"] for r in commented]
    sent = s["sentiment"]
    assert (sent["comments"], sent["positive"], sent["neutral"], sent["negative"]) == (
        len(scores), sum(x > 0 for x in scores), scores.count(0), sum(x < 0 for x in scores)), sent
    assert_close("average sentiment", sent["average_score"], statistics.mean(scores))
    negative = sorted((r for r in commented if r["score"] < 0), key=lambda r: (r["score"], -r["time_ms"]))
    want = negative[:5]
    got = s["most_negative"]
    assert len(got) == len(want) == 5, (got, len(negative))
    assert [g["score"] for g in got] == [w["score"] for w in want], (got, want)
    for g in got:  # ties in time may list either comment; each must be one of those scores
        assert any((g["comment"], g["kind"], g["rating"], g["score"]) ==
                   (w["comment"], w["kind"], w["rating"], w["score"]) for w in negative), g


def check_score_accuracy(report, store):
    rows = sql(store.db, f"SELECT name, predicted, actual FROM events WHERE {store.period('score')} "
                         f"AND predicted IS NOT NULL AND actual IS NOT NULL")
    names = sorted({r["name"] for r in rows})
    got = report["score_accuracy"]
    assert [g["name"] for g in got] == names, got
    for g in got:
        mine = [r for r in rows if r["name"] == g["name"]]
        errors = [abs(r["predicted"] - r["actual"]) for r in mine]
        accurate = sum(abs(r["predicted"] - r["actual"]) <= 0.1 * abs(r["actual"]) for r in mine)
        assert g["events"] == len(mine)
        assert_close(f"{g['name']} MAE", g["mae"], statistics.mean(errors))
        assert_close(f"{g['name']} accuracy", g["accuracy"], accurate / len(mine))
        assert 0 < g["accuracy"] < 1, g  # the data set has both kinds


def check_roi(report, store):
    want = sql(store.db, f"SELECT source, count(*) AS events, sum(cost) AS cost, sum(value) AS value "
                         f"FROM events WHERE {store.period('data_source')} GROUP BY source ORDER BY source")
    got = report["roi"]
    assert [g["source"] for g in got] == [w["source"] for w in want], (got, want)
    for g, w in zip(got, want):
        assert g["events"] == w["events"], (g, w)
        assert_close(f"{g['source']} cost", g["cost"], w["cost"])
        assert_close(f"{g['source']} value", g["value"], w["value"])
        assert_close(f"{g['source']} value per cost", g["value_per_cost"],
                     w["value"] / w["cost"] if w["cost"] else None)
    assert any(g["value_per_cost"] is None for g in got), "no free source: the null was not checked"


def check_anomalies(report, store):
    stats = h.scipy_stats()
    first_data = sql(store.db, f"SELECT min({DAY_SQL}) AS d FROM events")[0]["d"]
    events = {r["d"]: r["n"] for r in sql(store.db, f"SELECT {DAY_SQL} AS d, count(*) AS n FROM events GROUP BY d")}
    series = {
        "events": lambda day: events.get(day, 0),
        "dau": lambda day: len(store.active.get(day, ())),
        "registrations": lambda day: sum(1 for r in store.registered.values() if r == day),
    }
    want = []
    for day in store.days:
        for metric, value_on in series.items():
            window = [value_on(shift(day, -i)) for i in range(14, 0, -1) if shift(day, -i) >= first_data]
            if len(window) < 7:
                continue
            mean, stdev = stats.tmean(window), stats.tstd(window)  # tstd: divisor n - 1
            if stdev > 0 and abs((value_on(day) - mean) / stdev) > 3:
                want.append((day, metric, value_on(day), mean, stdev))
    got = report["anomalies"]
    assert [(g["date"], g["metric"]) for g in got] == [(w[0], w[1]) for w in want], (got, want)
    for g, (_, _, value, mean, stdev) in zip(got, want):
        assert g["value"] == value, (g, value)
        assert_close("mean", g["mean"], mean)
        assert_close("stddev", g["stddev"], stdev)
        assert_close("z", g["z"], (value - mean) / stdev)
    burst = shift(report["to"], -4)
    assert (burst, "events") in [(g["date"], g["metric"]) for g in got], (burst, got)


def report_command(collector, storage, *args):
    return subprocess.run([collector, "report", "insights", f"--storage.path={storage}", *args],
                          capture_output=True, text=True, timeout=60)


def main():
    args = h.agent_arg_parser(__doc__).parse_args()
    checks = h.Checks()
    with h.temp_dir() as tmp, h.start_agent(args.agent) as agent:
        storage = os.path.join(tmp, "collector")
        db = os.path.join(storage, "business_intelligence.db")
        config = h.write_file(os.path.join(tmp, "collector.yaml"), f"""
global: {{scrape_interval: 1s, scrape_timeout: 1s}}
scrape_configs:
  - job_name: mingus-agent
    static_configs: [{{targets: ["{agent.base_url.removeprefix('http://')}"]}}]
events: {{pull_interval: 200ms, max_backoff: 1s}}
""")
        events = [json.dumps(e) for e in insights_data.generate(SEED, time.time())]
        with h.start_collector(args.collector, config=config, storage_dir=storage) as collector:
            h.send_lines(agent.udp_address, events)

            def all_stored():
                stored = sql(db, "SELECT (SELECT count(*) FROM events) AS stored, "
                                 "(SELECT count(*) FROM rejected_events) AS rejected")[0]
                return stored["stored"] + stored["rejected"] == len(events)
            checks.run(f"the {len(events)} generated events are pulled into the store",
                       lambda: h.wait_until(lambda: os.path.exists(db) and all_stored(),
                                            timeout=120, interval=0.5, what="every event stored"))
            rejected = sql(db, "SELECT reason, detail FROM rejected_events LIMIT 5")
            checks.check("none of them is set aside", not rejected, str(rejected))

            response = collector.get(f"/api/monitoring/insights?days={DAYS}")
            report = json.loads(response.text())
            checks.check("GET /api/monitoring/insights?days=30 answers 200", response.status == 200,
                         response.text()[:500])
            store = Store(db, report)
            for name, check in [
                ("registrations, DAU, WAU, MAU, stickiness per day and over the period", check_active_users),
                ("retention cohorts by registration week (day 1, 7, 30)", check_retention),
                ("engagement by action", check_engagement),
                ("feature usage, adoption and change against the previous period", check_features),
                ("satisfaction: ratings by kind, CSAT, NPS, comment sentiment, most negative comments",
                 check_satisfaction),
                ("score accuracy: MAE and the share within 10 %", check_score_accuracy),
                ("ROI per data source", check_roi),
                ("anomalies: |z| > 3 against the trailing 14 days", check_anomalies),
            ]:
                checks.run(f"{name} as plain SQL and Python compute them", lambda c=check: c(report, store))

            for days, message in [(None, "days: missing"), ("0", "not a whole number from 1 to 400"),
                                  ("-2", "not a whole number"), ("x", "not a whole number"),
                                  ("401", "not a whole number from 1 to 400")]:
                path = "/api/monitoring/insights" + ("" if days is None else f"?days={days}")
                refused = collector.get(path)
                checks.check(f"GET {path} is refused with 400 and a message",
                             refused.status == 400 and message in refused.text(),
                             f"{refused.status} {refused.text()[:200]}")

            def command_prints_the_same_report():
                result = report_command(args.collector, storage, f"--days={DAYS}")
                assert result.returncode == 0, result.stderr
                again = json.loads(collector.get(f"/api/monitoring/insights?days={DAYS}").text())
                assert json.loads(result.stdout) == again, "report insights differs from the API"
                markdown = report_command(args.collector, storage, "--days=7", "--format=markdown")
                assert markdown.returncode == 0, markdown.stderr
                for heading in ("# insights report", "## per_day", "## retention", "## satisfaction",
                                "### nps", "## anomalies"):
                    assert f"\n{heading}\n" in "\n" + markdown.stdout, (heading, markdown.stdout[:2000])
            checks.run("mingus-collector report insights prints the API's report (json, markdown) "
                       "while the collector runs", command_prints_the_same_report)

            def command_refuses_bad_input():
                bad = report_command(args.collector, storage, "--days=0")
                assert bad.returncode == 2 and "not a whole number from 1 to 400" in bad.stderr, bad
                nowhere = report_command(args.collector, os.path.join(tmp, "nowhere"), "--days=7")
                assert nowhere.returncode == 1 and "no event store" in nowhere.stderr, nowhere
            checks.run("report insights: bad --days exits 2, a storage.path without a store 1",
                       command_refuses_bad_input)
    checks.exit()


if __name__ == "__main__":
    main()
