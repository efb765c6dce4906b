#!/usr/bin/python3
"""Everything the binaries offer is documented (issue 11, acceptance 3).

- Config keys: every key the config readers know (the snake_case literals handed to the
  readers and writers in agent/src/config.cpp, collector/src/config.cpp and
  collector/src/notify/config.cpp) appears as `key:` in the shipped file that documents it
  (configs/agent.yaml, configs/collector.yaml, configs/notify.yaml; commented out is fine)
  or in docs/reference.md.
- Flags and subcommands: every --flag in each binary's --help, and each subcommand it names,
  appears in README.md or docs/ (`--write` puts each binary's --help in docs/cli.md).
- Metrics: every metric family a real agent (fed one line of every event type and StatsD type)
  and a real collector (scraping it, with the shipped rules, notify.yaml and event pulling)
  expose on /metrics is listed in docs/metrics.md. `--write` regenerates that file from what
  the binaries expose (names, types and HELP texts), keeping families it lists that were not
  seen this time.
- HTTP endpoints: every path registered with the routers (literal paths in the sources)
  appears in README.md or docs/.

Usage: /usr/bin/python3 tests/integration/docs_coverage_test.py --agent A --collector C [--write]
"""

import glob
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
METRICS_DOC = os.path.join(ROOT, "docs/metrics.md")
CLI_DOC = os.path.join(ROOT, "docs/cli.md")
CONFIG_SOURCES = {  # source -> the shipped file that documents its keys
    "agent/src/config.cpp": "configs/agent.yaml",
    "collector/src/config.cpp": "configs/collector.yaml",
    "collector/src/events/ux_config.cpp": "configs/collector.yaml",
    "collector/src/notify/config.cpp": "configs/notify.yaml",
}
KEY_CALL = re.compile(
    r'\b(?:Read|Map|Strings|Labels|ForEachMap|Node|Field|Flag|StringList|MatcherList)\("([a-z][a-z0-9_]*)"')
ROUTE = re.compile(r'Handle(?:Prefix)?\("(?:GET|POST|PUT|DELETE)",\s*"(/[^"]*)"')

# One line of every StatsD type and every JSON event type of DESIGN.md.
EVENT_LINES = [
    "docs.hits:1|c", "docs.depth:3|g", "docs.latency:12|ms|#endpoint:/x", "docs.size:5|h",
    "docs.dist:7|d", "docs.users:alice|s",
    '{"type":"api","endpoint":"/users/1","method":"GET","status":500,"duration_ms":12,"user_id":"u1"}',
    '{"type":"db","query":"SELECT * FROM t WHERE id = 1","duration_ms":3,"rows":1}',
    '{"type":"score","name":"credit","duration_ms":40,"input_size":3,"cached":false,"user_id":"u1"}',
    '{"type":"engagement","user_id":"u1","action":"login","session_id":"s","usage_time":3}',
    '{"type":"feature","user_id":"u1","feature":"budget","usage_time":30}',
    '{"type":"feedback","user_id":"u1","kind":"nps","rating":9,"comment":"great"}',
    '{"type":"user_metric","user_id":"u1","metric":"savings","value":3}',
    '{"type":"interaction","user_id":"u1","event_type":"click","element_id":"buy","page_url":"/cart"}',
    '{"type":"experiment","experiment":"cta","variant":"B","user_id":"u1","event":"exposure"}',
    '{"type":"experiment","experiment":"cta","variant":"B","user_id":"u1","event":"conversion"}',
    '{"type":"cache","cache":"scores","result":"hit"}',
    '{"type":"data_source","source":"plaid","cost":0.25,"value":1.5}',
    "not a valid line",
]


def read(path):
    with open(os.path.join(ROOT, path)) as f:
        return f.read()


def docs_text():
    return "\n".join(read(p) for p in ["README.md"] + sorted(
        os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs/*.md"))))


def check_config_keys(checks):
    reference = read("docs/reference.md")
    for source, shipped in CONFIG_SOURCES.items():
        keys = sorted(set(KEY_CALL.findall(read(source))))
        text = read(shipped)
        missing = [k for k in keys
                   if not re.search(rf"(^|[\s#{{,-]){re.escape(k)}:", text, re.M) and f"`{k}`" not in reference]
        checks.check(f"{len(keys)} keys of {source} documented in {shipped} or docs/reference.md",
                     not missing, f"undocumented: {', '.join(missing)}")


def check_cli(checks, binaries):
    text = docs_text()
    for binary in binaries:
        help_text = subprocess.run([binary, "--help"], capture_output=True, text=True).stdout
        flags = sorted(set(re.findall(r"--(?:\[no-\])?([a-z][a-z0-9.-]*[a-z0-9])", help_text)))
        subcommands = sorted(set(re.findall(r"\b(?:mingus-collector|mingus-agent) ([a-z][a-z-]+) ", help_text)))
        missing = [f"--{f}" for f in flags if f"--{f}" not in text and f"--[no-]{f}" not in text]
        missing += [c for c in subcommands if c not in text]
        checks.check(f"{os.path.basename(binary)}: {len(flags)} flags and {len(subcommands)} subcommands "
                     "documented", not missing, f"undocumented: {', '.join(missing)}")


def check_routes(checks):
    text = docs_text()
    sources = glob.glob(os.path.join(ROOT, "agent/src/**/*.cpp"), recursive=True) + \
        glob.glob(os.path.join(ROOT, "collector/src/**/*.cpp"), recursive=True) + \
        glob.glob(os.path.join(ROOT, "shared/src/**/*.cpp"), recursive=True)
    routes = sorted({r for path in sources for r in ROUTE.findall(open(path).read()) if r != "/"})
    missing = [r for r in routes if r not in text]
    checks.check(f"{len(routes)} HTTP endpoints documented", not missing, f"undocumented: {', '.join(missing)}")


# The StatsD lines above create families of the application's own naming: not ours to document.
APP_DEFINED = "docs_"


def exposed_families(text):
    """{name: (type, help)} from an exposition, but for the application-defined families."""
    families = {}
    for line in text.splitlines():
        match = re.match(r"# (HELP|TYPE) (\S+) ?(.*)", line)
        if match and not match.group(2).startswith(APP_DEFINED):
            kind, name, rest = match.groups()
            entry = families.setdefault(name, ["untyped", ""])
            entry[0 if kind == "TYPE" else 1] = rest
    return families


def collect_metrics(agent_binary, collector_binary):
    families = {}
    with h.temp_dir("mingus-docs-") as tmp:
        with h.start_agent(agent_binary) as agent:
            h.send_udp(agent.udp_address, ["\n".join(EVENT_LINES).encode()])
            config = h.write_file(os.path.join(tmp, "collector.yaml"), json.dumps({
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "scrape_configs": [{"job_name": "mingus-agent", "static_configs": [{"targets": [agent.base_url.removeprefix("http://")]}]}],
                "rule_files": [os.path.join(ROOT, "configs/rules/*.yml")],
                "alerting": {"notify_config_file": os.path.join(ROOT, "configs/notify.yaml")},
                "events": {"jobs": ["mingus-agent"], "pull_interval": "1s"},
            }))
            with h.start_collector(collector_binary, config=config) as collector:
                h.wait_for_sample(collector, "mingus_collector_events_stored_total", 1, type="cache")
                time.sleep(2)  # a few rule evaluations and scrapes
                families.update(exposed_families(collector.get("/metrics").text()))
            families.update(exposed_families(agent.get("/metrics").text()))
    return families


def write_metrics_doc(families):
    documented = documented_families()
    for name, entry in documented.items():
        families.setdefault(name, entry)
    lines = ["# Metrics", "",
             "Every metric family the agent and the collector expose on `/metrics`, with its type and",
             "HELP text. Written by `tests/integration/docs_coverage_test.py --write` from the real",
             "binaries; the test fails when a binary exposes a family missing here.", ""]
    for title, prefix in (("Host metrics (agent, node_exporter's names)", ("node_",)),
                          ("The application's metrics (agent)", ("mingus_",)),
                          ("The agent's own metrics", ("mingus_agent_",)),
                          ("The collector's own metrics", ("mingus_collector_",)),
                          ("Business figures (collector, from the event store)", ("mingus_bi_",)),
                          ("UX figures (collector, from the event store)", ("mingus_ux_report_",)),
                          ("Process and other metrics", ("",))):
        rows = sorted(n for n in families if n.startswith(prefix) and not _claimed(n, prefix))
        if not rows:
            continue
        lines += [f"## {title}", "", "| metric | type | help |", "|---|---|---|"]
        lines += [f"| `{n}` | {families[n][0]} | {families[n][1].replace('|', '/')} |" for n in rows]
        lines.append("")
    with open(METRICS_DOC, "w") as f:
        f.write("\n".join(lines))


def write_cli_doc(binaries):
    lines = ["# Command line", "",
             "Each binary's `--help`, as it prints it. A flag wins over the same setting in the",
             "config file (configs/ documents every key). Written by",
             "`tests/integration/docs_coverage_test.py --write`.", ""]
    for binary in binaries:
        help_text = subprocess.run([binary, "--help"], capture_output=True, text=True).stdout
        lines += [f"## {os.path.basename(binary)}", "", "```", help_text.rstrip(), "```", ""]
    with open(CLI_DOC, "w") as f:
        f.write("\n".join(lines))


def _claimed(name, prefix):
    """Whether a more specific section than `prefix`'s takes `name`."""
    more_specific = {"mingus_": ("mingus_agent_", "mingus_collector_", "mingus_bi_",
                                 "mingus_ux_report_"),
                     "": ("node_", "mingus_")}
    return name.startswith(more_specific.get(prefix[0], ()))


def documented_families():
    if not os.path.exists(METRICS_DOC):
        return {}
    families = {}
    for match in re.finditer(r"^\| `([a-zA-Z_:][a-zA-Z0-9_:]*)` \| (\w+) \| (.*) \|$", read("docs/metrics.md"), re.M):
        families[match.group(1)] = [match.group(2), match.group(3)]
    return families


def main():
    parser = h.agent_arg_parser(__doc__)
    parser.add_argument("--write", action="store_true", help="regenerate docs/metrics.md")
    args = parser.parse_args()
    checks = h.Checks()
    exposed = collect_metrics(args.agent, args.collector)
    if args.write:
        write_metrics_doc(dict(exposed))
        write_cli_doc([args.agent, args.collector])
        h.log(f"wrote {METRICS_DOC} and {CLI_DOC}")
    missing = sorted(set(exposed) - set(documented_families()))
    checks.check(f"{len(exposed)} metric families exposed are listed in docs/metrics.md", not missing,
                 f"missing (run with --write): {', '.join(missing)}")
    check_config_keys(checks)
    check_cli(checks, [args.agent, args.collector])
    check_routes(checks)
    checks.exit()


if __name__ == "__main__":
    main()
