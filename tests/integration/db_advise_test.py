#!/usr/bin/python3
"""db-advise's verified index suggestions held to sqlite3's .expert (issue 9, acceptance 2).

The schema of tests/fixtures/sql/workload/schema.sql is filled from a fixed seed (about 310 000
rows over seven tables); each query of queries.sql goes through the sqlite3 tool's .expert and,
all together, through `mingus-collector db-advise --queries queries.sql --sqlite DB --format json`.

PASS iff
- the workload has at least MIN_SHAPES queries, each with a fingerprint of its own, and the
  database at least MIN_ROWS rows over seven tables;
- at least MIN_COVERAGE of all the indexes .expert recommends are found among our verified
  suggestions for the same query: same table, and our index begins with .expert's columns, our
  equality columns compared as a set (an index serves `a = ? AND b = ?` in either order) and the
  rest in order, COLLATE and DESC left out. An index of ours with more columns after those counts
  as including .expert's: it serves every search and ordering that .expert's serves (as
  pt-duplicate-key-checker calls an index redundant when another begins with its columns), and
  our verification holds it to its own plan and speed-up. How many are found with exactly
  .expert's columns is printed too, and why each miss is one, with the effect of .expert's own
  indexes for the query (created together on a copy, the query timed before and after as
  db-advise times a sample: the least CPU time of up to 5 runs after an untimed one);
- every verified suggestion shows the plan change (a full scan or a temporary B-tree before, the
  index used by name after) and a speed-up (time after below the one before);
- the app's database is unchanged (db-advise works on a copy).

Usage: /usr/bin/python3 tests/integration/db_advise_test.py --agent A --collector build/collector/mingus-collector
"""

import hashlib
import json
import math
import os
import shutil
import random
import re
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

WORKLOAD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "sql",
                        "workload")
SQLITE3 = "/usr/bin/sqlite3"
SEED = 20261129
MIN_SHAPES = 30
MIN_ROWS = 300_000
MIN_COVERAGE = 0.90
RUNS, MAX_TIMING_MS = 5, 2000   # as db-advise times a sample (AppDatabaseOptions)
TOOL_TIMEOUT = 60
ADVISE_TIMEOUT = 240

DAY = 86400
START = 1767225600            # 2026-01-01T00:00:00Z
END = START + 332 * DAY       # 2026-11-29T00:00:00Z


def stamp(t):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))


def fill(db, seed):
    """The rows of a Flask app a year old: 20 000 users and what they did, from `seed`."""
    r = random.Random(seed)

    def when():
        return r.randrange(START, END)

    def user():
        return r.randint(1, 20_000)

    users = []
    for i in range(1, 20_001):
        created = when()
        users.append((i, f"user{i}@example.com", f"User {i}",
                      r.choices(("free", "budget", "mid_tier", "professional"), (50, 25, 15, 10))[0],
                      r.choices(("active", "suspended", "deleted"), (90, 5, 5))[0],
                      r.choice(("US", "US", "US", "GB", "NG", "GH", "KE", "ZA", "CA", "JM")),
                      f"REF-{i:06X}" if r.random() < 0.3 else None, stamp(created),
                      stamp(r.randrange(created, END)) if r.random() < 0.9 else None))
    db.executemany("INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", users)
    sessions = []
    for i in range(1, 60_001):
        start, seconds = when(), r.randrange(10, 3600)
        sessions.append((i, user(), f"tok-{r.getrandbits(32):08x}",
                         r.choice(("ios", "android", "web")),
                         f"10.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(256)}",
                         stamp(start), stamp(start + seconds) if r.random() < 0.95 else None,
                         seconds))
    db.executemany("INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?)", sessions)
    types = ("page_view", "click", "scroll", "form_submit", "search", "login", "logout",
             "upgrade_click", "purchase", "error", "share", "download")
    weights = (50, 20, 10, 5, 4, 3, 3, 1, 1, 1, 1, 1)
    pages = [f"/{a}/{b}" for a in ("budget", "goals", "score", "learn", "settings", "checkout")
             for b in ("overview", "edit", "detail", "list", "confirm")]
    events = []
    for i in range(1, 120_001):
        session = sessions[r.randrange(len(sessions))]
        events.append((i, session[1], session[0], r.choices(types, weights)[0], r.choice(pages),
                       '{"v": 1}', stamp(when())))
    db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)", events)
    features = ("budget_planner", "goal_tracker", "score_insights", "bill_reminders",
                "spending_report", "savings_challenge", "learn_modules", "net_worth",
                "debt_payoff", "export_csv")
    usage = []
    for i in range(1, 40_001):
        t = when()
        usage.append((i, user(), r.choice(features), stamp(t)[:10], r.randint(1, 20), stamp(t)))
    db.executemany("INSERT INTO feature_usage VALUES (?, ?, ?, ?, ?, ?)", usage)
    db.executemany("INSERT INTO feedback VALUES (?, ?, ?, ?, ?, ?, ?)", [
        (i, user(), r.choice(("billing", "bug", "feature", "ux", "content")),
         r.choices((1, 2, 3, 4, 5), (10, 10, 20, 30, 30))[0], "some words",
         r.choices(("open", "triaged", "closed"), (20, 20, 60))[0], stamp(when()))
        for i in range(1, 10_001)])
    db.executemany("INSERT INTO scores VALUES (?, ?, ?, ?, ?)", [
        (i, user(), r.choice(("wellness", "credit", "budget")), round(r.uniform(300, 850), 1),
         stamp(when())) for i in range(1, 30_001)])
    notifications = []
    for i in range(1, 30_001):
        t, read = when(), int(r.random() < 0.7)
        notifications.append((i, user(), r.choice(("email", "push", "sms")),
                              r.choice(("bill_due", "goal_reached", "score_changed", "tip")),
                              read, stamp(t), stamp(t + 3600) if read else None))
    db.executemany("INSERT INTO notifications VALUES (?, ?, ?, ?, ?, ?, ?)", notifications)


def split_queries(text):
    """As db-advise reads a --queries file: each query ends with ';' at the end of a line."""
    return [q for q in (part.strip() for part in text.split(";\n")) if q]


def name_of(query):
    first = query.splitlines()[0]
    return first[2:].strip() if first.startswith("--") else first[:60]


_CREATE = re.compile(r"CREATE INDEX (\S+) ON (\S+?)\((.*)\);\s*$")


def unquote(name):
    if len(name) >= 2 and name[0] + name[-1] in ('""', "''", "[]", "``"):
        return name[1:-1]
    return name


def index_columns(text):
    """The columns of an index's column list, without COLLATE, ASC or DESC, unquoted."""
    columns = []
    for part in text.split(","):
        words = part.split()
        column = words[0]
        columns.append(unquote(column).lower())
    return columns


def expert(db_path, query):
    """The indexes sqlite3's .expert recommends for the query: [(table, columns, statement)]."""
    done = subprocess.run([SQLITE3, db_path], input=f".expert\n{query};\n", capture_output=True,
                          text=True, timeout=TOOL_TIMEOUT, check=False)
    if done.returncode != 0 or done.stderr.strip():
        raise RuntimeError(f".expert failed on {name_of(query)!r}: {done.stderr.strip()}")
    found = []
    for line in done.stdout.splitlines():
        match = _CREATE.match(line)
        if match:
            found.append((unquote(match.group(2)).lower(), index_columns(match.group(3)),
                          line.strip()))
    if not found and "(no new indexes)" not in done.stdout:
        raise RuntimeError(f".expert printed neither indexes nor '(no new indexes)': {done.stdout}")
    return found


def least_ms(db, query):
    """The query's least CPU time, each run rolled back, as db-advise measures a sample."""
    times, waited = [], 0.0
    for run in range(RUNS + 1):
        if run > 1 and waited >= MAX_TIMING_MS:
            break
        db.execute("BEGIN")
        start, cpu = time.perf_counter(), time.thread_time()
        db.execute(query).fetchall()
        took = (time.thread_time() - cpu) * 1000
        waited += (time.perf_counter() - start) * 1000
        db.execute("ROLLBACK")
        if run > 0:  # the first run fills the page cache
            times.append(took)
    return min(times)


def expert_speedup(db, query, statements):
    """How many times faster the query runs with .expert's indexes for it, created together."""
    before = least_ms(db, query)
    names = [_CREATE.match(statement).group(1) for statement in statements]
    for statement in statements:
        db.execute(statement)
    try:
        after = least_ms(db, query)
    finally:
        for name in names:
            db.execute(f"DROP INDEX {name}")
    return before / after if after > 0 else math.inf


def includes(table, columns, suggestion, exactly=False):
    """Whether our suggestion's index begins with .expert's columns (the docstring's rule)."""
    ours = suggestion["columns"]
    m = len(columns)
    k = min(suggestion["equality_columns"], m)
    return (suggestion["table"] == table and len(ours) >= m and (len(ours) == m or not exactly)
            and set(ours[:k]) == set(columns[:k]) and ours[k:m] == columns[k:])


def plan_shows_scan(plan):
    return any((line.startswith("SCAN ") and " USING " not in line)
               or line.startswith("USE TEMP B-TREE") for line in plan)


def plan_uses(plan, name):
    return any(re.search(rf"\bUSING (COVERING )?INDEX {re.escape(name)}\b", line) for line in plan)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    args = h.agent_arg_parser(__doc__).parse_args()
    checks = h.Checks()
    with open(os.path.join(WORKLOAD, "schema.sql"), encoding="utf-8") as f:
        schema = f.read()
    queries_file = os.path.join(WORKLOAD, "queries.sql")
    with open(queries_file, encoding="utf-8") as f:
        queries = split_queries(f.read())
    with h.temp_dir("mingus-db-advise-") as tmp:
        app = os.path.join(tmp, "app.db")
        started = time.monotonic()
        with sqlite3.connect(app) as db:
            db.executescript(schema)
            fill(db, SEED)
            tables = [row[0] for row in db.execute(
                "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")]
            rows = sum(db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables)
        db.close()
        h.log(f"filled {rows} rows over {len(tables)} tables in {time.monotonic() - started:.1f} s")
        checks.check(f"the database has at least {MIN_ROWS} rows over seven tables",
                     rows >= MIN_ROWS and len(tables) == 7, f"{rows} rows, tables {tables}")

        fingerprinted = subprocess.run([args.collector, "fingerprint", queries_file],
                                       capture_output=True, text=True, timeout=TOOL_TIMEOUT,
                                       check=True).stdout.splitlines()
        checks.check(f"the workload has at least {MIN_SHAPES} queries, a fingerprint each",
                     len(queries) >= MIN_SHAPES and len(fingerprinted) == len(queries)
                     and len(set(fingerprinted)) == len(queries),
                     f"{len(queries)} queries, {len(set(fingerprinted))} fingerprints")

        digest_before = sha256(app)
        with ThreadPoolExecutor(max_workers=2) as pool:
            recommended = list(pool.map(lambda q: expert(app, q), queries))
        scratch = os.path.join(tmp, "expert.db")
        shutil.copyfile(app, scratch)
        started = time.monotonic()
        db = sqlite3.connect(scratch, isolation_level=None)
        speedups = [expert_speedup(db, q, [s for _, _, s in wanted]) if wanted else None
                    for q, wanted in zip(queries, recommended)]
        db.close()
        h.log(f".expert's indexes timed in {time.monotonic() - started:.1f} s")

        started = time.monotonic()
        advised = subprocess.run([args.collector, "db-advise", "--queries", queries_file,
                                  "--sqlite", app, "--format", "json"], capture_output=True,
                                 text=True, timeout=ADVISE_TIMEOUT, check=False)
        h.log(f"db-advise took {time.monotonic() - started:.1f} s")
        if not checks.check("db-advise exits 0", advised.returncode == 0, advised.stderr):
            checks.exit()
        report = json.loads(advised.stdout)
        checks.check("db-advise had the database", not report["sqlite"].get("error"),
                     json.dumps(report["sqlite"]))
        by_fingerprint = {entry["fingerprint"]: entry for entry in report["fingerprints"]}

        found = exact = total = 0
        missed, longer = [], []
        bad_verifications = []
        verified_count = 0
        for query, fingerprint, wanted, speedup in zip(queries, fingerprinted, recommended,
                                                       speedups):
            effect = "" if speedup is None else f" [.expert's indexes: {speedup:.2f}x]"
            total += len(wanted)
            entry = by_fingerprint.get(fingerprint)
            if entry is None:
                missed.extend((name_of(query), statement + effect, "no digest for the query")
                              for _, _, statement in wanted)
                continue
            suggestions = entry["suggestions"]
            verified = [s for s in suggestions if (s.get("verification") or {}).get("verified")]
            verified_count += len(verified)
            for s in verified:
                v = s["verification"]
                problems = []
                if not plan_shows_scan(v["plan_before"]):
                    problems.append(f"no scan before: {v['plan_before']}")
                if not plan_uses(v["plan_after"], s["name"]):
                    problems.append(f"not used after: {v['plan_after']}")
                if not (v["runs"] >= 1 and v["ms_after"] < v["ms_before"]):
                    problems.append(f"no speed-up: {v['ms_before']} -> {v['ms_after']} ms")
                if problems:
                    bad_verifications.append(f"{name_of(query)}: {s['name']}: {'; '.join(problems)}")
            for table, columns, statement in wanted:
                if any(includes(table, columns, s, exactly=True) for s in verified):
                    found += 1
                    exact += 1
                    continue
                including = [s for s in verified if includes(table, columns, s)]
                if including:
                    found += 1
                    v = including[0]["verification"]
                    longer.append((name_of(query), statement + effect,
                                   f"{including[0]['statement']}: {v['ms_before']:.3f} -> "
                                   f"{v['ms_after']:.3f} ms"))
                    continue
                near = [s for s in suggestions if includes(table, columns, s)]
                why = (f"ours not verified: {near[0]['verification']['reason']}" if near
                       else "not among our suggestions: "
                       + ", ".join(f"{s['table']}({', '.join(s['columns'])})" for s in suggestions)
                       + (f" (none: {entry['no_suggestion']})" if not suggestions else ""))
                missed.append((name_of(query), statement + effect, why))
        for name, statement, ours in longer:
            h.log(f"found in a longer index: {name}: {statement} -- ours: {ours}")
        for name, statement, why in missed:
            h.log(f"missed: {name}: {statement} -- {why}")
        coverage = found / total if total else 0
        h.log(f"coverage: {found}/{total} = {coverage:.1%} of .expert's indexes among our "
              f"{verified_count} verified suggestions ({exact} with exactly its columns)")
        checks.check(f"our verified suggestions include at least {MIN_COVERAGE:.0%} of the "
                     f"indexes .expert recommends", total >= MIN_SHAPES
                     and coverage >= MIN_COVERAGE, f"{found}/{total}")
        checks.check("every verified suggestion shows a plan change and a speed-up",
                     verified_count > 0 and not bad_verifications, "; ".join(bad_verifications))
        checks.check("the app's database is unchanged", sha256(app) == digest_before)
    checks.exit()


if __name__ == "__main__":
    main()
