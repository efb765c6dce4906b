#!/usr/bin/python3
"""The agent's UDP intake end to end: datagrams from a test client and from a stock StatsD
client (Debian's python3-statsd) become the expected series on /metrics, every malformed
line is counted by reason without costing the good lines beside it, promtool finds nothing
to lint on the mingus_* families, the event spool returns the JSON events in order, the
cardinality cap holds, mappings apply, and IPv6 works.

Usage: /usr/bin/python3 tests/integration/agent_intake_test.py --agent build/agent/mingus-agent
"""

import json
import os
import socket

import harness as h

try:
    import statsd  # python3-statsd
except ImportError:  # reported as a failed check, not a crash
    statsd = None

GOOD_STATSD = [
    "orders.placed:1|c",
    "orders.placed:1|c|@0.5",             # sampled: counts 2
    "queue.depth:10|g",
    "queue.depth:-3|g",                   # a delta: 7
    "checkout.latency:250|ms|#step:pay",  # 0.25 s
    "checkout.latency:50|ms|#step:pay",
    "visitors:ada|s",
    "visitors:bob|s",
    "visitors:ada|s",
]
GOOD_JSON = [
    {"type": "api", "endpoint": "/users/42", "method": "GET", "status": 200, "duration_ms": 12, "user_id": "u1"},
    {"type": "api", "endpoint": "/users/7", "method": "GET", "status": 503, "duration_ms": 900, "user_id": "u2"},
    {"type": "db", "query": "SELECT * FROM users WHERE id = 42", "duration_ms": 30, "rows": 1},
    {"type": "feature", "user_id": "u1", "feature": "budget", "usage_time": 20},
    {"type": "experiment", "experiment": "cta", "variant": "B", "user_id": "u1", "event": "conversion"},
    {"type": "cache", "cache": "scores", "result": "hit"},
]
# One line of each malformed class, with the reason it must be counted under.
BAD = [
    (b"", "empty_line"),
    (b"no.type:1", "missing_type"),
    (b"bad.number:abc|c", "bad_value"),
    (b"nan.gauge:NaN|g", "not_finite"),
    (b"odd.type:1|x", "unknown_type"),
    (b"bad.rate:1|c|@2", "bad_sample_rate"),
    (b"big.tag:1|c|#k:" + b"v" * 300, "oversized_tag"),
    (b'{"type":"api",', "json_syntax"),
    (b'{"type":"api","endpoint":"/","method":"GET","status":200}', "missing_field"),
    (b'{"type":"cache","cache":1,"result":"hit"}', "wrong_field_type"),
    (b"bin\xff\xfe:1|c", "not_utf8"),
]


def send(address, payload, family=socket.AF_INET):
    host, port = address.rsplit(":", 1)
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.sendto(payload, (host.strip("[]"), int(port)))


def counter(samples, name, **labels):
    return h.find_sample(samples, name, **labels) or 0


def wait_for_datagrams(agent, count):
    def reached():
        samples, _ = h.parse_exposition(h.fetch_metrics(agent.base_url))
        return samples if counter(samples, "mingus_agent_udp_datagrams_total") >= count else None
    return h.wait_until(reached, what=f"{count} datagrams counted")


def check_main_flow(checks, agent_path):
    with h.start_agent(agent_path) as agent:
        lines = [l.encode() for l in GOOD_STATSD] + [json.dumps(e).encode() for e in GOOD_JSON]
        # One datagram mixing everything: bad lines must not cost the good ones.
        mixed = b"\n".join(lines[:4] + [bad for bad, _ in BAD] + lines[4:]) + b"\n"
        send(agent.udp_address, mixed)
        sent = 1
        if checks.check("python3-statsd is installed", statsd is not None):
            host, port = agent.udp_address.rsplit(":", 1)
            client = statsd.StatsClient(host, int(port))
            client.incr("stock.client.hits", 3)
            client.timing("stock.client.time", 120)
            client.gauge("stock.client.level", 5)
            sent += 3
        samples = wait_for_datagrams(agent, sent)
        text = h.fetch_metrics(agent.base_url)

        expected = {
            ("orders_placed_total", ()): 3,
            ("queue_depth", ()): 7,
            ("checkout_latency_count", (("step", "pay"),)): 2,
            ("checkout_latency_sum", (("step", "pay"),)): 0.3,
            ("checkout_latency_bucket", (("step", "pay"), ("le", "0.25"))): 2,
            ("visitors", ()): 2,
            ("mingus_api_requests_total", (("endpoint", "/users/:id"), ("method", "GET"), ("status", "200"))): 1,
            ("mingus_api_errors_total", (("endpoint", "/users/:id"), ("method", "GET"))): 1,
            ("mingus_db_query_duration_seconds_count", (("operation", "select"), ("table", "users"))): 1,
            ("mingus_db_fingerprint_calls_total", (("fingerprint", "select * from users where id = ?"),)): 1,
            ("mingus_feature_usage_total", (("feature", "budget"),)): 1,
            ("mingus_feature_users", (("feature", "budget"),)): 1,
            ("mingus_active_users", (("window", "day"),)): 2,
            ("mingus_experiment_conversions_total", (("experiment", "cta"), ("variant", "B"))): 1,
            ("mingus_cache_requests_total", (("cache", "scores"), ("result", "hit"))): 1,
            ("mingus_agent_lines_total", (("format", "statsd"),)): len(GOOD_STATSD) + 8 + (3 if statsd else 0),
            ("mingus_agent_lines_total", (("format", "json"),)): len(GOOD_JSON) + 3,
        }
        if statsd is not None:
            expected[("stock_client_hits_total", ())] = 3
            expected[("stock_client_level", ())] = 5
            expected[("stock_client_time_count", ())] = 1
        for (name, labels), want in expected.items():
            got = samples.get((name, frozenset(labels)))
            checks.check(f"{h.format_series((name, frozenset(labels)))} == {want}",
                         got is not None and abs(got - want) < 1e-9, f"got {got}")
        for _, reason in BAD:
            got = counter(samples, "mingus_agent_parse_errors_total", reason=reason)
            checks.check(f"parse error reason={reason} counted once", got == 1, f"got {got}")

        findings = [f for f in h.promtool_check_metrics(text) if f.startswith("mingus_")]
        checks.check("promtool: nothing on the mingus_* families", not findings, "\n  " + "\n  ".join(findings))

        spooled = h.http_get(agent.base_url + "/api/v1/events?after=0&limit=100")
        records = [json.loads(line) for line in spooled.text().splitlines()]
        checks.check("spool: every valid JSON event, in order, with cursors 1..N",
                     [r["event"] for r in records] == GOOD_JSON and [r["cursor"] for r in records] == list(range(1, len(GOOD_JSON) + 1)),
                     spooled.text()[:500])
        checks.check("spool: X-Mingus-Last-Cursor", spooled.headers.get("x-mingus-last-cursor") == str(len(GOOD_JSON)),
                     str(spooled.headers))
        rest = h.http_get(agent.base_url + f"/api/v1/events?after={len(GOOD_JSON) - 2}")
        checks.check("spool: reading after a cursor", len(rest.text().splitlines()) == 2, rest.text())
        bad = h.http_get(agent.base_url + "/api/v1/events?after=x")
        checks.check("spool: a bad cursor is a 400 with a JSON reason", bad.status == 400 and "after" in bad.text(), bad.text())
        h.stop_agent(agent)


def check_cap_mapping_and_ipv6(checks, agent_path):
    with h.temp_dir() as tmp:
        config = os.path.join(tmp, "agent.yaml")
        h.write_file(config, """
statsd:
  max_series_per_metric: 5
  mappings:
    - match: "shop.*.orders"
      name: "shop_orders"
      labels: {shop: "$1"}
    - match: "noise.*"
      action: drop
""")
        with h.start_agent(agent_path, config=config) as agent:
            payload = b"\n".join(b"users.seen:1|c|#user:u%d" % i for i in range(20))
            payload += b"\nshop.paris.orders:2|c\nnoise.x:1|c\n"
            send(agent.udp_address, payload)
            samples = wait_for_datagrams(agent, 1)
            series = [k for k in samples if k[0] == "users_seen_total"]
            checks.check("cardinality cap: 5 series kept", len(series) == 5, str(len(series)))
            dropped = counter(samples, "mingus_agent_series_dropped_total", metric="users_seen_total")
            checks.check("cardinality cap: 15 counted as dropped", dropped == 15, str(dropped))
            checks.check("mapping: glob capture becomes a label",
                         counter(samples, "shop_orders_total", shop="paris") == 2)
            checks.check("mapping: drop rule", not any(k[0].startswith("noise") for k in samples))
            h.stop_agent(agent)

    with h.start_agent(agent_path, "--statsd.listen-udp=[::1]:0") as agent:
        checks.check("IPv6: the intake listens on [::1]", (agent.udp_address or "").startswith("[::1]:"),
                     str(agent.udp_address))
        if agent.udp_address:
            send(agent.udp_address, b"six:1|c\n", socket.AF_INET6)
            samples = wait_for_datagrams(agent, 1)
            checks.check("IPv6: a datagram arrives", counter(samples, "six_total") == 1)
        h.stop_agent(agent)


def main():
    args = h.agent_arg_parser(__doc__).parse_args()
    checks = h.Checks()
    check_main_flow(checks, args.agent)
    check_cap_mapping_and_ipv6(checks, args.agent)
    checks.exit()


if __name__ == "__main__":
    main()
