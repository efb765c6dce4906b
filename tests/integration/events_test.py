#!/usr/bin/python3
"""Analytics events end to end: a real agent receives JSON events over UDP, a real collector
pulls them into business_intelligence.db; the agent and then the collector are killed with
kill -9 and restarted between sends (the collector also in the middle of catching up on a
backlog), and every event sent is found stored exactly once, also after the agent's spool is
wiped. Impossible events are set aside
with their reason, and the collector's /metrics passes promtool with the events families.

Usage: /usr/bin/python3 tests/integration/events_test.py --agent PATH --collector PATH
"""

import json
import os
import shutil
import socket
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402


def event(n):
    """Event number n: its session_id names it, so each one can be found in the store."""
    return {"type": "engagement", "user_id": f"u{n % 37}", "action": "login",
            "session_id": f"s{n}", "usage_time": n % 10}


def send(udp_address, numbers):
    """Send the events numbered `numbers`."""
    h.send_lines(udp_address, [json.dumps(event(n)) for n in numbers])


def spooled(agent):
    """Events in the agent's spool (reading them also writes the agent's buffer to disk, so
    that they survive a kill -9)."""
    count, after = 0, 0
    while True:
        response = agent.get(f"/api/v1/events?after={after}&limit=10000")
        assert response.status == 200, response.status
        lines = response.text().splitlines()
        count += len(lines)
        after = int(response.headers["x-mingus-last-cursor"])
        if len(lines) < 10000:
            return count


def wait_spooled(agent, total):
    h.wait_until(lambda: spooled(agent) == total, what=f"{total} events in the agent's spool")


def stored_sessions(db_path):
    """session_id -> how many times it is stored, read with Python's sqlite3 (WAL: the
    collector may be writing meanwhile)."""
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10) as db:
        rows = db.execute("SELECT session_id, count(*) FROM events WHERE type = 'engagement' "
                          "GROUP BY session_id").fetchall()
    return dict(rows)


def wait_stored(db_path, total):
    h.wait_until(lambda: sum(stored_sessions(db_path).values()) >= total, timeout=60,
                 what=f"{total} events stored")


class Agent:
    """The agent on fixed ports and storage, so that a restart is the same agent to the
    collector and to the app."""

    def __init__(self, binary, storage):
        self.binary, self.storage = binary, storage
        self.http_port, self.udp_port = h.free_port(), h.free_port(socket.SOCK_DGRAM)
        self.address = f"127.0.0.1:{self.http_port}"
        self.udp = f"127.0.0.1:{self.udp_port}"
        self.server = None

    def start(self):
        self.server = h.start_agent(self.binary, f"--web.listen-address={self.address}",
                                    f"--statsd.listen-udp={self.udp}", storage_dir=self.storage)
        return self.server

    def kill(self):
        self.server.proc.kill()
        self.server.wait()
        self.server.__exit__(None, None, None)


def main():
    args = h.agent_arg_parser(__doc__).parse_args()
    checks = h.Checks()
    with h.temp_dir() as tmp:
        agent = Agent(args.agent, os.path.join(tmp, "agent"))
        store = os.path.join(tmp, "collector")
        db_path = os.path.join(store, "business_intelligence.db")
        config = h.write_file(os.path.join(tmp, "collector.yaml"), f"""
global: {{scrape_interval: 1s, scrape_timeout: 1s}}
scrape_configs:
  - job_name: mingus-agent
    static_configs: [{{targets: ["{agent.address}"]}}]
events: {{pull_interval: 200ms, max_backoff: 1s, batch_limit: 10}}
""")
        sent = 0

        def send_more(count):
            nonlocal sent
            send(agent.udp, range(sent, sent + count))
            sent += count

        agent.start()
        collector = h.start_collector(args.collector, config=config, storage_dir=store)
        try:
            send_more(300)
            wait_spooled(agent.server, sent)
            checks.run("events sent to the agent are pulled and stored",
                       lambda: wait_stored(db_path, sent))

            # The agent dies (its spool written), misses pulls, comes back on the same address.
            agent.kill()
            time.sleep(1)
            agent.start()
            send_more(300)
            wait_spooled(agent.server, sent)

            def errors_counted_then_caught_up():
                wait_stored(db_path, sent)
                samples = collector.promtool_clean_metrics()
                errors = h.sample_value(samples, "mingus_collector_events_pull_errors_total",
                                        agent=agent.address)
                assert errors >= 1, errors
            checks.run("an agent killed -9 is retried and its events arrive later",
                       errors_counted_then_caught_up)

            # The collector dies; events pile up in the agent meanwhile, and the collector dies
            # again while it catches up on them (batches of 10, a transaction each).
            collector.proc.kill()
            collector.wait()
            collector.__exit__(None, None, None)
            send_more(3000)
            wait_spooled(agent.server, sent)
            collector = h.start_collector(args.collector, config=config, storage_dir=store)
            h.wait_until(lambda: sum(stored_sessions(db_path).values()) > 800, timeout=30,
                         interval=0.01, what="the collector to start catching up")
            collector.proc.kill()
            collector.wait()
            collector.__exit__(None, None, None)
            h.log(f"collector killed -9 with {sum(stored_sessions(db_path).values())} of {sent} "
                  "events stored")
            send_more(2000)
            wait_spooled(agent.server, sent)
            collector = h.start_collector(args.collector, config=config, storage_dir=store)
            # And the agent once more while the collector catches up.
            time.sleep(0.3)
            agent.kill()
            h.log(f"agent killed -9 with {sum(stored_sessions(db_path).values())} of {sent} "
                  "events stored")
            agent.start()
            send_more(300)
            wait_spooled(agent.server, sent)

            def each_event_once():
                wait_stored(db_path, sent)
                time.sleep(1)  # a few more pulls: nothing may arrive twice
                counts = stored_sessions(db_path)
                missing = [n for n in range(sent) if f"s{n}" not in counts]
                twice = {s: c for s, c in counts.items() if c != 1}
                extra = set(counts) - {f"s{n}" for n in range(sent)}
                assert not missing and not twice and not extra, (
                    f"missing {missing[:10]} ({len(missing)}), more than once {list(twice.items())[:10]}, "
                    f"not sent {list(extra)[:10]}")
                with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
                    cursor, = db.execute("SELECT cursor FROM agents WHERE instance = ?",
                                         (agent.address,)).fetchone()
                    rollup, = db.execute("SELECT sum(events) FROM daily_rollups "
                                         "WHERE type = 'engagement'").fetchone()
                assert cursor == sent, (cursor, sent)
                assert rollup == sent, (rollup, sent)
            checks.run(f"after kill -9 of agent and collector, every event sent is stored once "
                       f"(and counted once in the rollups)", each_event_once)

            def impossible_events_set_aside():
                now = time.time()
                bad = [{"type": "feedback", "user_id": "u", "kind": "nps", "rating": 11},
                       {"type": "feedback", "user_id": "u", "kind": "csat", "rating": 0},
                       {"type": "engagement", "user_id": "u", "action": "a", "ts": now + 86400},
                       {"type": "engagement", "user_id": "u", "action": "a",
                        "ts": now - 100 * 86400}]
                h.send_udp(agent.udp, ["\n".join(json.dumps(b) for b in bad).encode()])
                expected = {"rating_out_of_range": 2, "future_timestamp": 1, "too_old": 1}

                def reasons():
                    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
                        return dict(db.execute("SELECT reason, count(*) FROM rejected_events "
                                               "GROUP BY reason").fetchall())
                h.wait_until(lambda: reasons() == expected, what=f"rejected_events {expected}")
                samples = collector.promtool_clean_metrics()
                for reason, count in expected.items():
                    value = h.sample_value(samples, "mingus_collector_events_rejected_total",
                                           reason=reason)
                    assert value == count, (reason, value)
                assert h.sample_value(samples, "mingus_collector_events_cursor",
                                      agent=agent.address) == sent + len(bad)
                assert h.sample_value(samples, "mingus_collector_events_lag_seconds",
                                      agent=agent.address) < 30
            checks.run("impossible events are set aside with their reason and counted",
                       impossible_events_set_aside)

            def insights_report():
                response = collector.get("/api/monitoring/insights?days=1")
                assert response.status == 200, (response.status, response.text())
                report = json.loads(response.text())
                day = report["per_day"][0]
                with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
                    users, = db.execute("SELECT count(DISTINCT user_id) FROM events WHERE "
                                        "date(time_ms / 1000, 'unixepoch') = ?",
                                        (day["date"],)).fetchone()
                assert users == 37, users  # u0 ... u36
                assert (day["registrations"], day["dau"], day["mau"]) == (users, users, users), day
                assert report["active_users"]["stickiness"] == 1, report["active_users"]
                assert collector.get("/api/monitoring/insights?days=0").status == 400
            checks.run("GET /api/monitoring/insights: registrations, DAU and MAU as SQL counts them",
                       insights_report)

            # The agent's spool is wiped (a reinstall): its cursors start again at 1, below the
            # cursor the collector holds; the collector notices the new spool id.
            agent.server.stop()
            shutil.rmtree(os.path.join(agent.storage, "spool"))
            agent.start()
            before_wipe = sent
            send_more(200)
            wait_spooled(agent.server, sent - before_wipe)

            def new_spool_pulled_from_its_beginning():
                wait_stored(db_path, sent)
                counts = stored_sessions(db_path)
                assert all(counts.get(f"s{n}") == 1 for n in range(sent)), "not each once"
                assert len(counts) == sent, (len(counts), sent)
                with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
                    rows = db.execute("SELECT spool_id, cursor FROM agents WHERE instance = ? "
                                      "ORDER BY agent_id", (agent.address,)).fetchall()
                assert len(rows) == 2 and rows[0][0] != rows[1][0], rows
                assert rows[1][1] == sent - before_wipe, rows
                samples = collector.promtool_clean_metrics()
                assert h.sample_value(samples, "mingus_collector_events_spool_resets_total") == 1
            checks.run("an agent whose spool was wiped is pulled from its new beginning, "
                       "every event still stored once", new_spool_pulled_from_its_beginning)
        finally:
            collector.__exit__(None, None, None)
            if agent.server:
                agent.server.__exit__(None, None, None)
    checks.exit()


if __name__ == "__main__":
    main()
