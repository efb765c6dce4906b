#!/usr/bin/python3
"""`promtool check metrics` on the agent's /metrics, judged against node_exporter's.

PASS iff every lint finding on the agent's exposition is also, word for word, a finding
on node_exporter's (same collectors) for the same metric name -- i.e. we inherit
node_exporter's naming (CamelCase meminfo names) and add no problem of our own -- and no
finding at all concerns a mingus_* or process_* name. Also checks gzip: a request with
`Accept-Encoding: gzip` gets `Content-Encoding: gzip` and a body that decompresses to a
valid exposition with the same series.

Usage: /usr/bin/python3 tests/integration/agent_promtool_test.py --agent build/agent/mingus-agent
"""

import gzip
import re

import harness as h

OWN_PREFIXES = ("mingus_", "process_")


def finding_name(line):
    """promtool prints 'metric_name message'; a line without a metric name (e.g.
    'error while linting: ...') returns None."""
    if line.startswith("error while linting"):
        return None
    first = line.split(None, 1)[0]
    return first if re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", first) else None


def check_lint(checks, ours_text, ne_text):
    ours, theirs = h.promtool_check_metrics(ours_text), h.promtool_check_metrics(ne_text)
    h.log(f"promtool findings: mingus-agent {len(ours)}, node_exporter {len(theirs)}")
    theirs_set = set(theirs)
    unnamed = [f for f in ours if finding_name(f) is None]
    own = [f for f in ours if (finding_name(f) or "").startswith(OWN_PREFIXES)]
    new = [f for f in ours if f not in theirs_set]
    checks.check("promtool: no unattributable finding (parse error) on ours", not unnamed,
                 "\n  " + "\n  ".join(unnamed))
    checks.check("promtool: no finding on mingus_*/process_* names", not own,
                 "\n  " + "\n  ".join(own))
    checks.check("promtool: every finding on ours is also node_exporter's", not new,
                 "\n  " + "\n  ".join(new))


def check_gzip(checks, agent, plain_text):
    resp = agent.get("/metrics", headers={"Accept-Encoding": "gzip"})
    checks.check("gzip: HTTP 200", resp.status == 200, f"got {resp.status}")
    encoding = resp.headers.get("content-encoding", "")
    if not checks.check("gzip: Content-Encoding: gzip", encoding == "gzip", f"got {encoding!r}"):
        return
    try:
        text = gzip.decompress(resp.body).decode("utf-8")
        samples, _ = h.parse_exposition(text)
    except Exception as e:  # noqa: BLE001
        checks.check("gzip: body decompresses to a valid exposition", False, repr(e))
        return
    plain, _ = h.parse_exposition(plain_text)
    checks.check("gzip: body decompresses to a valid exposition",
                 "node_cpu_seconds_total" in h.names_in(samples),
                 "no node_cpu_seconds_total in the decompressed body")
    missing = set(plain) - set(samples)
    checks.check("gzip: same series as the uncompressed response", not missing,
                 f"{len(missing)} missing, e.g. {[h.format_series(k) for k in list(missing)[:5]]}")
    checks.check("gzip: decompressed body passes the same lint",
                 set(h.promtool_check_metrics(text)) <= set(h.promtool_check_metrics(plain_text)))
    plain_resp = agent.get("/metrics")
    checks.check("no gzip unless asked for", "content-encoding" not in plain_resp.headers
                 or plain_resp.headers["content-encoding"] == "identity",
                 f"got {plain_resp.headers.get('content-encoding')!r}")


def main():
    args = h.agent_arg_parser(__doc__.splitlines()[0]).parse_args()
    checks = h.Checks()
    agent = h.start_agent(args.agent)
    with agent, h.start_node_exporter(*h.NODE_EXPORTER_SAME_COLLECTORS) as ne:
        ours_text, ne_text = agent.metrics_text(), ne.metrics_text()
        check_lint(checks, ours_text, ne_text)
        check_gzip(checks, agent, ours_text)
        ne.stop()
        checks.run("agent exits 0 on SIGTERM", lambda: h.stop_agent(agent))
    checks.exit()


if __name__ == "__main__":
    main()
