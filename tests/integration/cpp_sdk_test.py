#!/usr/bin/python3
"""The C++ SDK end to end: a small program using it (tests/support/cpp_sdk_main.cpp) sends to a
real agent found through MINGUS_AGENT_ADDR, and

- every call shows up as its series on the agent's /metrics (API requests by status, the
  database query by operation and table, computed and cached scores, the cache and score-cache
  lookups, features, feedback, the experiment's variant as Python's FNV-1a of docs/experiments.md
  assigns it, StatsD counters with tags, and gauges, a negative one included), with no parse error;
- the JSON events are in the agent's spool (/api/v1/events) in the order sent, the 100 000-byte
  comment cut to 512 bytes;
- the program's own counters: every record sent, the NaN timing dropped, one line truncated;
- with the agent away (a closed port) or an address that does not resolve, the program still
  finishes at once, exit 0, and counts every record as sent or dropped.

Usage: /usr/bin/python3 tests/integration/cpp_sdk_test.py --agent PATH --sdk-client PATH
"""

import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

RECORDS = 22  # what cpp_sdk_main.cpp sends: 19 JSON events and 3 StatsD records
EVENT_TYPES = (["api"] * 4 + ["db", "cache", "score", "cache", "score", "cache", "cache",
                "engagement", "feature", "feature", "feedback", "user_metric", "interaction",
                "experiment", "experiment"])


def variant(experiment, user, variants):
    """docs/experiments.md, independently of the C++ code."""
    h_ = 0xcbf29ce484222325
    for byte in experiment.encode() + b"\0" + user.encode():
        h_ = ((h_ ^ byte) * 0x100000001b3) % 2**64
    total = sum(w for _, w in variants)
    bucket, cumulative = h_ % 10000, 0
    for name, weight in variants:
        cumulative += weight
        if bucket * total < cumulative * 10000:
            return name
    return None


def run_client(path, address):
    start = time.monotonic()
    proc = subprocess.run([path], env={**os.environ, "MINGUS_AGENT_ADDR": address},
                          capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - start
    stats = json.loads(proc.stdout) if proc.returncode == 0 else {}
    return proc, stats, elapsed


def check_with_agent(checks, agent_path, client_path):
    with h.start_agent(agent_path) as agent:
        proc, stats, _ = run_client(client_path, agent.udp_address)
        checks.check("the program exits 0", proc.returncode == 0, proc.stderr)
        checks.check(f"all {RECORDS} records sent, the NaN timing dropped, the huge comment truncated",
                     stats.get("sent_lines") == RECORDS and stats.get("dropped_invalid_value") == 1
                     and stats.get("truncated_lines") == 1
                     and all(v == 0 for k, v in stats.items()
                             if k.startswith("dropped_") and k != "dropped_invalid_value"),
                     str(stats))
        samples, _ = h.wait_for_sample(agent, "mingus_agent_udp_datagrams_total", stats.get("sent_datagrams", 1))
        samples, _ = h.wait_for_sample(agent, "mingus_experiment_conversions_total", 1,
                                       experiment="checkout_cta", variant=variant("checkout_cta", "u1", [("A", 1), ("B", 1)]))
        want = [
            ("mingus_api_requests_total", 3, dict(endpoint="/api/profile", method="GET", status="200")),
            ("mingus_api_requests_total", 1, dict(endpoint="/api/profile", method="GET", status="503")),
            ("mingus_api_errors_total", 1, dict(endpoint="/api/profile", method="GET")),
            ("mingus_api_request_duration_seconds_count", 3, dict(endpoint="/api/profile", method="GET", status="200")),
            ("mingus_db_query_duration_seconds_count", 1, dict(operation="select", table="users")),
            ("mingus_db_query_rows_total", 1, dict(operation="select", table="users")),
            ("mingus_score_calculations_total", 1, dict(cached="false", score="credit")),
            ("mingus_score_calculations_total", 1, dict(cached="true", score="credit")),
            ("mingus_cache_requests_total", 1, dict(cache="scores", result="miss")),
            ("mingus_cache_requests_total", 1, dict(cache="scores", result="hit")),
            ("mingus_cache_requests_total", 1, dict(cache="profiles", result="miss")),
            ("mingus_cache_requests_total", 1, dict(cache="profiles", result="hit")),
            ("mingus_engagement_actions_total", 1, dict(action="login")),
            ("mingus_feature_usage_total", 2, dict(feature="budget")),
            ("mingus_feature_usage_seconds_total", 20, dict(feature="budget")),
            ("mingus_feedback_rating_count", 1, dict(kind="nps")),
            ("mingus_feedback_rating_sum", 9, dict(kind="nps")),
            ("mingus_user_metric_value_sum", 125.5, dict(metric="savings")),
            ("mingus_ux_interactions_total", 1, dict(element="signup", event_type="click", page="/pricing")),
            ("mingus_experiment_exposures_total", 1,
             dict(experiment="checkout_cta", variant=variant("checkout_cta", "u1", [("A", 1), ("B", 1)]))),
            ("orders_placed_total", 2, dict(shop="paris")),
            ("queue_depth", 7, {}),
            ("balance", -3.5, {}),
        ]
        for name, value, labels in want:
            got = h.find_sample(samples, name, **labels)
            checks.check(f"{h.format_series((name, frozenset(labels.items())))} == {value:g}", got == value, f"got {got}")
        errors = {dict(labels)["reason"]: v for (name, labels), v in samples.items()
                  if name == "mingus_agent_parse_errors_total" and v}
        checks.check("no line refused by the agent", not errors, str(errors))

        records = [json.loads(line)["event"] for line in agent.get("/api/v1/events?after=0&limit=100").text().splitlines()]
        checks.check("spool: every JSON event, in order", [r["type"] for r in records] == EVENT_TYPES,
                     str([r["type"] for r in records]))
        feedback = [r for r in records if r["type"] == "feedback"]
        checks.check("spool: the huge comment cut to 512 bytes",
                     len(feedback) == 1 and feedback[0]["comment"] == "x" * 512)
        h.stop_agent(agent)


def check_without_agent(checks, client_path):
    for what, address in (("agent away (closed port)", f"127.0.0.1:{h.free_port(socket.SOCK_DGRAM)}"),
                          ("address that does not resolve", "no-such-host.invalid:8125")):
        proc, stats, elapsed = run_client(client_path, address)
        accounted = (stats.get("sent_lines", 0) + stats.get("dropped_send_failed", 0)
                     + stats.get("dropped_unresolved", 0))
        checks.check(f"{what}: exit 0 within 5 s, every record sent or counted as dropped",
                     proc.returncode == 0 and elapsed < 5 and accounted == RECORDS,
                     f"rc={proc.returncode} elapsed={elapsed:.2f}s stats={stats} stderr={proc.stderr}")
    checks.check("unresolvable: every record counted as unresolved", stats.get("dropped_unresolved") == RECORDS,
                 str(stats))


def main():
    parser = h.agent_arg_parser(__doc__)
    parser.add_argument("--sdk-client", required=True, help="path to the cpp_sdk_client program")
    args = parser.parse_args()
    checks = h.Checks()
    check_with_agent(checks, args.agent, args.sdk_client)
    check_without_agent(checks, args.sdk_client)
    checks.exit()


if __name__ == "__main__":
    main()
