#!/usr/bin/python3
"""The agent's UDP intake end to end.

- Datagrams of many lines from a plain socket (StatsD counters with sample rates, gauges
  with +/- deltas, DogStatsD-tagged timers, histograms, distributions, sets, and a JSON
  event of every type) with one line of every malformed class in between, and datagrams
  from a stock StatsD client (Debian's python3-statsd), become exactly the expected series
  on /metrics once mingus_agent_udp_datagrams_total has counted them all.
- Each malformed line is counted under its reason exactly as often as it was sent (every
  other reason stays 0), and the good lines sharing a datagram with it are all applied.
- `promtool check metrics` finds nothing to lint on the mingus_* families.
- The event spool returns the valid JSON events in order.
- The cardinality cap (max_series_per_metric: 5) keeps 5 series of 20 and counts 15 dropped.
- Mapping rules from the config file: a glob whose captures become labels, and a drop rule.
- IPv6: --statsd.listen-udp=[::1]:0 logs [::1]:PORT and receives there.

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

# ---------------------------------------------------------------------------- what is sent

# StatsD lines that must all be applied, in the order sent (gauge deltas depend on it).
GOOD_STATSD = [
    "orders.placed:1|c",
    "orders.placed:1|c|@0.5",                         # sampled: counts 2
    "orders.placed:2|c|@0.25",                        # counts 8
    "http.hits:1|c|#route:home,code:200",             # tags become labels
    "http.hits:4|c|#code:200,route:home|c:abc123",    # same series; container id ignored
    "api-v2.calls:1|c|T1700000000",                   # '-' sanitised; client timestamp ignored
    "tagged.partial:1|c|#good:1,bad",                 # applied with its good tag; 1 malformed_tag
    "queue.depth:10|g",
    "queue.depth:-3|g",                               # a delta: 7
    "queue.depth:+5|g",                               # a delta: 12
    "temperature:21.5|g",
    "temperature:19|g",                               # a plain value replaces: 19
    "checkout.latency:250|ms|#step:pay",              # 0.25 s
    "checkout.latency:50|ms|#step:pay",               # 0.05 s
    "checkout.latency:100|ms|@0.5|#step:pay",         # 0.1 s, weight 2
    "checkout.latency:1500|ms|#step:ship",            # 1.5 s
    "upload.size:0.2|h",                              # histograms are not scaled
    "render.seconds:3|d",
    "visitors:ada|s",
    "visitors:bob|s",
    "visitors:ada|s",                                 # a set counts distinct members: 2
    "visitors:carol|s|#page:home",
]

# JSON events of every type; all must be applied and spooled.
GOOD_JSON = [
    {"type": "api", "endpoint": "/users/42", "method": "GET", "status": 200, "duration_ms": 12, "user_id": "u1"},
    {"type": "api", "endpoint": "/users/7", "method": "GET", "status": 503, "duration_ms": 900, "user_id": "u2",
     "ts": 1700000000, "extra": {"ignored": [1, 2]}},  # ts accepted, unknown fields ignored
    {"type": "db", "query": "SELECT * FROM users WHERE id = 42", "duration_ms": 30, "rows": 1},
    {"type": "score", "name": "credit", "input_size": 10, "duration_ms": 40, "cached": True},
    {"type": "engagement", "user_id": "u3", "session_id": "s1", "action": "login", "usage_time": 30},
    {"type": "feature", "user_id": "u1", "feature": "budget", "usage_time": 20},
    {"type": "feedback", "user_id": "u2", "kind": "nps", "rating": 9, "comment": "great"},
    {"type": "user_metric", "user_id": 42, "metric": "savings", "value": 125.5},  # integer user id
    {"type": "interaction", "user_id": "u1", "session_id": "s1", "event_type": "click",
     "element_id": "signup", "page_url": "/pricing"},
    {"type": "experiment", "experiment": "cta", "variant": "B", "user_id": "u1", "event": "exposure"},
    {"type": "experiment", "experiment": "cta", "variant": "B", "user_id": "u1", "event": "conversion"},
    {"type": "cache", "cache": "scores", "result": "hit"},
    {"type": "cache", "cache": "scores", "result": "miss"},
    {"type": "data_source", "source": "plaid", "cost": 0.25, "value": 2},
]
DISTINCT_USERS = 4  # u1, u2, u3 and 42

# One line of every malformed class and the reason it is counted under. The brief's classes
# first, then the other reasons the agent knows.
BAD = [
    (b"", "empty_line"),                                              # between two lines
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
    (b'{"type":"cache","cache":"\xff","result":"hit"}', "not_utf8"),
    (b'{"cache":"scores","result":"hit"}', "unknown_event_type"),      # JSON without a type
    (b'{"type":"bogus"}', "unknown_event_type"),
    (b'{"type":"experiment","experiment":"cta","variant":"B","user_id":"u1","event":"click"}',
     "bad_field_value"),
    (b"neg.counter:-1|c", "negative_counter"),
    (b"neg.timer:-5|ms", "negative_timer"),
    (b"no.value:|c", "missing_value"),
    (b":1|c", "empty_name"),
    (b"odd.section:1|c|zz", "unknown_section"),
    (b"queue.depth:5|ms", "type_conflict"),                          # queue_depth is a gauge
]
# Reasons counted for lines that are otherwise applied (see GOOD_STATSD).
SIDE_REASONS = {"malformed_tag": 1}

LINES_PER_DATAGRAM = 8


def interleave(first, second):
    """first[0], second[0], first[1], second[1], ... then the rest of the longer one."""
    out = []
    for i in range(max(len(first), len(second))):
        out += first[i:i + 1] + second[i:i + 1]
    return out


def build_datagrams():
    """StatsD and JSON lines alternating (each kind keeps its order: gauge deltas and the
    spool depend on it), a bad line after each of the first good lines, cut into datagrams of
    LINES_PER_DATAGRAM lines. So every bad line shares its datagram with good ones, and the
    empty line (the first bad one) sits in the middle of the first datagram. The type_conflict
    line comes after the queue.depth gauges that make queue_depth a gauge."""
    good = interleave([line.encode() for line in GOOD_STATSD], [json.dumps(e).encode() for e in GOOD_JSON])
    assert len(good) >= len(BAD)
    lines = interleave(good, [line for line, _ in BAD])
    return [b"\n".join(lines[i:i + LINES_PER_DATAGRAM]) + b"\n"
            for i in range(0, len(lines), LINES_PER_DATAGRAM)]


def count_lines(datagrams):
    """{'statsd': n, 'json': n} as the agent counts lines: one trailing newline ends a
    datagram, a line starting with '{' is JSON."""
    counts = {"statsd": 0, "json": 0}
    for datagram in datagrams:
        for line in datagram.removesuffix(b"\n").split(b"\n"):
            counts["json" if line.startswith(b"{") else "statsd"] += 1
    return counts


def send_with_stock_client(address):
    """The same kinds of metric through python3-statsd, one datagram per call except the
    pipeline (one datagram of several lines) and a negative gauge (which the client itself
    sends as '0|g' then '-5|g' in one datagram). Returns (datagrams, lines) sent."""
    host, port, family = h.split_udp_address(address)
    client = statsd.StatsClient(host, port, prefix="stock", ipv6=family == socket.AF_INET6)
    client.incr("client.hits", 3)             # stock.client.hits:3|c
    client.incr("client.hits", 2, rate=1)     # rate 1: never sampled away
    client.decr("client.hits")                # -1|c: refused, a counter cannot go down
    client.timing("client.time", 120)         # 120.000000|ms
    client.gauge("client.level", 5)
    client.gauge("client.level", 2, delta=True)   # +2|g
    client.gauge("client.temp", -5)           # 0|g and -5|g in one datagram
    client.set("client.users", "ada")
    with client.pipeline() as pipe:           # one datagram of three lines
        pipe.incr("client.batch")
        pipe.incr("client.batch")
        pipe.timing("client.time", 80)
    client.close()
    return 9, 12


# ---------------------------------------------------------------------------- expectations

def series(name, **labels):
    return (name, frozenset(labels.items()))


def histogram(name, bounds_counts, total, sum_, **labels):
    """The _bucket, _count and _sum series of one histogram; bounds_counts maps an upper
    bound as exposed ('0.25', '+Inf') to its cumulative count, for the bounds worth checking."""
    out = {series(name + "_count", **labels): total, series(name + "_sum", **labels): sum_}
    for le, count in bounds_counts.items():
        out[series(name + "_bucket", le=le, **labels)] = count
    return out


def expected_series(lines_sent, with_stock_client):
    e = {
        series("orders_placed_total"): 11,
        series("http_hits_total", code="200", route="home"): 5,
        series("api_v2_calls_total"): 1,
        series("tagged_partial_total", good="1"): 1,
        series("queue_depth"): 12,
        series("temperature"): 19,
        series("visitors"): 2,
        series("visitors", page="home"): 1,
        **histogram("checkout_latency", {"0.025": 0, "0.05": 1, "0.1": 3, "0.25": 4, "+Inf": 4},
                    4, 0.5, step="pay"),
        **histogram("checkout_latency", {"1": 0, "2.5": 1, "+Inf": 1}, 1, 1.5, step="ship"),
        **histogram("upload_size", {"0.1": 0, "0.25": 1}, 1, 0.2),
        **histogram("render_seconds", {"2.5": 0, "5": 1}, 1, 3),
        # JSON events
        series("mingus_api_requests_total", endpoint="/users/:id", method="GET", status="200"): 1,
        series("mingus_api_requests_total", endpoint="/users/:id", method="GET", status="503"): 1,
        series("mingus_api_errors_total", endpoint="/users/:id", method="GET"): 1,
        **histogram("mingus_api_request_duration_seconds", {"0.01": 0, "0.025": 1, "+Inf": 1}, 1, 0.012,
                    endpoint="/users/:id", method="GET", status="200"),
        **histogram("mingus_api_request_duration_seconds", {"0.5": 0, "1": 1}, 1, 0.9,
                    endpoint="/users/:id", method="GET", status="503"),
        **histogram("mingus_db_query_duration_seconds", {"0.025": 0, "0.05": 1}, 1, 0.03,
                    operation="select", table="users"),
        series("mingus_db_query_rows_total", operation="select", table="users"): 1,
        series("mingus_db_fingerprint_calls_total", fingerprint="select * from users where id = ?"): 1,
        series("mingus_db_fingerprint_seconds_total", fingerprint="select * from users where id = ?"): 0.03,
        **histogram("mingus_score_duration_seconds", {"0.025": 0, "0.05": 1}, 1, 0.04, score="credit"),
        series("mingus_score_calculations_total", cached="true", score="credit"): 1,
        series("mingus_engagement_actions_total", action="login"): 1,
        series("mingus_engagement_usage_seconds_total", action="login"): 30,
        series("mingus_feature_usage_total", feature="budget"): 1,
        series("mingus_feature_usage_seconds_total", feature="budget"): 20,
        series("mingus_feature_users", feature="budget"): 1,
        **histogram("mingus_feedback_rating", {"8": 0, "9": 1, "10": 1}, 1, 9, kind="nps"),
        series("mingus_user_metric_value_count", metric="savings"): 1,
        series("mingus_user_metric_value_sum", metric="savings"): 125.5,
        series("mingus_user_metric_value", metric="savings", quantile="0.5"): 125.5,
        series("mingus_ux_interactions_total", element="signup", event_type="click", page="/pricing"): 1,
        series("mingus_experiment_exposures_total", experiment="cta", variant="B"): 1,
        series("mingus_experiment_conversions_total", experiment="cta", variant="B"): 1,
        series("mingus_cache_requests_total", cache="scores", result="hit"): 1,
        series("mingus_cache_requests_total", cache="scores", result="miss"): 1,
        series("mingus_data_source_cost_total", source="plaid"): 0.25,
        series("mingus_data_source_value_total", source="plaid"): 2,
        series("mingus_active_users", window="day"): DISTINCT_USERS,
        # self metrics
        series("mingus_agent_lines_total", format="statsd"): lines_sent["statsd"],
        series("mingus_agent_lines_total", format="json"): lines_sent["json"],
        series("mingus_agent_udp_kernel_drops_total"): 0,
    }
    if with_stock_client:
        e.update({
            series("stock_client_hits_total"): 5,
            series("stock_client_level"): 7,
            series("stock_client_temp"): -5,
            series("stock_client_users"): 1,
            series("stock_client_batch_total"): 2,
            **histogram("stock_client_time", {"0.05": 0, "0.1": 1, "0.25": 2}, 2, 0.2),
        })
    return e


def expected_reasons(with_stock_client):
    reasons = dict(SIDE_REASONS)
    for _, reason in BAD:
        reasons[reason] = reasons.get(reason, 0) + 1
    if with_stock_client:
        reasons["negative_counter"] += 1  # its decr
    return reasons


def check_values(checks, samples, expected):
    for key, want in expected.items():
        got = samples.get(key)
        checks.check(f"{h.format_series(key)} == {want:g}",
                     got is not None and abs(got - want) <= 1e-9 * max(1, abs(want)), f"got {got}")


# ---------------------------------------------------------------------------- the checks

def check_main_flow(checks, agent_path):
    with h.start_agent(agent_path) as agent:
        datagrams = build_datagrams()
        sent = h.send_udp(agent.udp_address, datagrams)
        lines = count_lines(datagrams)
        has_client = checks.check("python3-statsd is installed (import statsd)", statsd is not None)
        if has_client:
            client_datagrams, client_lines = send_with_stock_client(agent.udp_address)
            sent += client_datagrams
            lines["statsd"] += client_lines
        samples, _ = h.wait_for_sample(agent, "mingus_agent_udp_datagrams_total", sent)
        text = agent.metrics_text()
        samples, _ = h.parse_exposition(text)  # one scrape for values and promtool

        checks.check(f"mingus_agent_udp_datagrams_total == {sent} (exactly what was sent)",
                     h.sample_value(samples, "mingus_agent_udp_datagrams_total") == sent,
                     str(h.sample_value(samples, "mingus_agent_udp_datagrams_total")))
        check_values(checks, samples, expected_series(lines, has_client))

        want = expected_reasons(has_client)
        counted = {dict(labels)["reason"]: value for (name, labels), value in samples.items()
                   if name == "mingus_agent_parse_errors_total"}
        for reason in sorted(set(want) | set(counted)):
            checks.check(f"parse errors reason={reason} == {want.get(reason, 0)}",
                         counted.get(reason) == want.get(reason, 0), f"got {counted.get(reason)}")
        statsd_names = {name for name, _ in samples if not name.startswith(("mingus_", "node_", "process_"))}
        want_names = {name for name, _ in expected_series(lines, has_client) if not name.startswith("mingus_")}
        checks.check("no other StatsD series (bad lines added nothing)", statsd_names == want_names,
                     f"unexpected {sorted(statsd_names - want_names)}, missing {sorted(want_names - statsd_names)}")

        findings = [f for f in h.promtool_check_metrics(text) if f.startswith("mingus_")]
        checks.check("promtool check metrics: nothing on the mingus_* families", not findings,
                     "\n  " + "\n  ".join(findings))

        check_spool(checks, agent)
        h.stop_agent(agent)


def check_spool(checks, agent):
    spooled = agent.get("/api/v1/events?after=0&limit=100")
    records = [json.loads(line) for line in spooled.text().splitlines()]
    checks.check("spool: every valid JSON event, in order, with cursors 1..N",
                 [r["event"] for r in records] == GOOD_JSON
                 and [r["cursor"] for r in records] == list(range(1, len(GOOD_JSON) + 1)),
                 spooled.text()[:500])
    checks.check("spool: X-Mingus-Last-Cursor", spooled.headers.get("x-mingus-last-cursor") == str(len(GOOD_JSON)),
                 str(spooled.headers))
    rest = agent.get(f"/api/v1/events?after={len(GOOD_JSON) - 2}")
    checks.check("spool: reading after a cursor", len(rest.text().splitlines()) == 2, rest.text())
    bad = agent.get("/api/v1/events?after=x")
    checks.check("spool: a bad cursor is a 400 with a JSON reason", bad.status == 400 and "after" in bad.text(),
                 bad.text())


def check_cardinality_cap(checks, agent_path, tmp):
    config = h.write_file(os.path.join(tmp, "cap.yaml"), "statsd: {max_series_per_metric: 5}\n")
    with h.start_agent(agent_path, config=config) as agent:
        payload = b"\n".join(b"users.seen:1|c|#user:u%d" % i for i in range(20)) + b"\n"
        h.send_udp(agent.udp_address, [payload])
        samples, _ = h.wait_for_sample(agent, "mingus_agent_udp_datagrams_total", 1)
        kept = sorted(dict(labels)["user"] for name, labels in samples if name == "users_seen_total")
        checks.check("cardinality cap: 5 of 20 series kept", len(kept) == 5, str(kept))
        checks.check("cardinality cap: each kept series counted once",
                     all(v == 1 for (name, _), v in samples.items() if name == "users_seen_total"))
        dropped = h.sample_value(samples, "mingus_agent_series_dropped_total", metric="users_seen_total")
        checks.check('mingus_agent_series_dropped_total{metric="users_seen_total"} == 15', dropped == 15,
                     f"got {dropped}")
        h.stop_agent(agent)


def check_mapping(checks, agent_path, tmp):
    config = h.write_file(os.path.join(tmp, "mapping.yaml"), """
statsd:
  mappings:
    - match: "shop.*.*.orders"
      name: "shop_orders"
      labels: {shop: "$1", channel: "${2}"}
    - match: "noise.*"
      action: drop
""")
    with h.start_agent(agent_path, config=config) as agent:
        payload = b"shop.paris.web.orders:2|c\nshop.paris.web.orders:1|c|#coupon:yes\nnoise.x:1|c\nnoise.y:3|g\n" \
                  b"shop.paris.orders:1|c\n"
        h.send_udp(agent.udp_address, [payload])
        samples, _ = h.wait_for_sample(agent, "mingus_agent_udp_datagrams_total", 1)
        checks.check("mapping: glob captures become labels",
                     h.find_sample(samples, "shop_orders_total", shop="paris", channel="web") == 2,
                     str(sorted(h.format_series(k) for k in samples if k[0].startswith("shop"))))
        checks.check("mapping: tags join the rule's labels",
                     h.find_sample(samples, "shop_orders_total", shop="paris", channel="web", coupon="yes") == 1)
        checks.check("mapping: a name the glob does not match is only sanitised",
                     h.find_sample(samples, "shop_paris_orders_total") == 1)
        checks.check("mapping: the drop rule drops",
                     not any(name.startswith("noise") for name, _ in samples))
        checks.check("mapping: dropped lines are no parse errors",
                     all(v == 0 for (name, _), v in samples.items() if name == "mingus_agent_parse_errors_total"))
        h.stop_agent(agent)


def check_ipv6(checks, agent_path):
    with h.start_agent(agent_path, "--statsd.listen-udp=[::1]:0") as agent:
        address = agent.udp_address or ""
        checks.check("IPv6: the log names udp://[::1]:PORT", address.startswith("[::1]:"),
                     f"udp_address={agent.udp_address!r}; output:\n{agent.output()}")
        if address:
            sent = h.send_udp(address, [b"six:1|c\nsix:2|c\n"])
            if statsd is not None:
                sent += send_with_stock_client(address)[0]
            samples, _ = h.wait_for_sample(agent, "mingus_agent_udp_datagrams_total", sent)
            checks.check("IPv6: datagrams arrive", h.find_sample(samples, "six_total") == 3)
            if statsd is not None:
                checks.check("IPv6: the stock client's datagrams arrive",
                             h.find_sample(samples, "stock_client_hits_total") == 5)
        h.stop_agent(agent)


def main():
    args = h.agent_arg_parser(__doc__).parse_args()
    checks = h.Checks()
    check_main_flow(checks, args.agent)
    with h.temp_dir() as tmp:
        check_cardinality_cap(checks, args.agent, tmp)
        check_mapping(checks, args.agent, tmp)
    check_ipv6(checks, args.agent)
    checks.exit()


if __name__ == "__main__":
    main()
