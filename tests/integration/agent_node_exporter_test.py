#!/usr/bin/python3
"""The agent's host metrics against a real node_exporter 1.5 with the same collectors.

Scrapes node_exporter, then the agent, then node_exporter again (back to back), and
requires for every family of the cpu, diskstats, filesystem, loadavg, meminfo, netdev,
stat, time and uname collectors:
  - the same metric names (minus the known differences listed below, each with its
    reason: any other difference, in either direction, fails) and the same TYPE;
  - the same label names and the same series. Series are matched on their full label
    set, so the label values of cpu/mode, device and mountpoint (and all other labels)
    must agree;
  - agreeing values: counters must lie between node_exporter's two readings (they were
    read before and after ours), gauges within 5% of node_exporter's, with the
    exceptions documented in GAUGE_ABS_TOLERANCE / MONOTONIC_GAUGES.
A concise diff is printed on failure.

Usage: /usr/bin/python3 tests/integration/agent_node_exporter_test.py --agent build/agent/mingus-agent
"""

import collections
import os
import re

import harness as h

# Families node_exporter emits and the agent deliberately does not, with the reason.
# Patterns are full-match regular expressions on the metric name.
KNOWN_ONLY_IN_NODE_EXPORTER = {
    r"go_.*": "Go runtime metrics of node_exporter itself; the agent is C++",
    r"promhttp_metric_handler_.*": "client_golang's instrumentation of its /metrics handler",
    r"node_exporter_build_info": "the agent's own build info is mingus_agent_build_info",
    r"node_scrape_collector_(duration_seconds|success)":
        "the agent reports these as mingus_agent_scrape_collector_*, it does not claim "
        "node_exporter's self-metric names",
    r"node_network_receive_nohandler_total":
        "node_exporter 1.5 gets it over rtnetlink only; /proc/net/dev, which the agent "
        "reads, has no such column",
    r"node_disk_ata_.*": "node_exporter derives these from the udev database (ID_ATA_*); "
                         "the agent only reads node_disk_info's labels from udev",
    r"node_disk_device_mapper_info": "from the udev database (DM_* properties); the agent "
                                     "does not implement device-mapper info",
}
# Families only the agent emits.
KNOWN_ONLY_IN_AGENT = {
    r"mingus_.*": "the agent's self-metrics",
}
# Families both emit but that describe different things, so they are not compared.
NOT_COMPARED = {
    r"process_.*": "each server's own process metrics (linted by agent_promtool_test.py)",
}

# Relative tolerance for gauges.
GAUGE_REL_TOLERANCE = 0.05
# Gauges that legitimately differ by more than 5% between reads milliseconds apart,
# mostly because they hover near 0: an absolute tolerance applies on top of the 5%.
GAUGE_ABS_TOLERANCE = {
    # /proc/loadavg is recomputed every 5 s and is often near 0 on an idle host, where
    # 5% means nothing; a recomputation between two reads moves it by a few tenths.
    r"node_load(1|5|15)": 0.5,
    # Processes runnable / in uninterruptible I/O sleep at the instant of the read: the
    # scrapers and both servers themselves are among them, any other job on this shared
    # host too.
    r"node_procs_running": 2 * (os.cpu_count() or 1) + 4,
    r"node_procs_blocked": 4,
    # I/Os in flight at the instant of the read.
    r"node_disk_io_now": 16,
    # Other processes on this shared host allocate and free memory between the reads;
    # small fields (Dirty, Writeback, Active(file), ...) swing by megabytes. A unit or
    # field mix-up is still caught: those are off by far more than 64 MiB or 5%.
    r"node_memory_.*_bytes": 64 * 1024 * 1024,
}
# Gauges that only move forward in time: checked like counters, between the two
# node_exporter readings (node_time_seconds differs by the gap between the scrapes).
MONOTONIC_GAUGES = {r"node_time_seconds"}
# Slack for counters: node_exporter prints /proc's USER_HZ ticks as float seconds, the
# agent may round differently in the last digit.
COUNTER_ABS_SLACK = 0.01
COUNTER_REL_SLACK = 1e-12

MAX_LINES_PER_PROBLEM = 15


def matches(name, patterns):
    return next((p for p in patterns if re.fullmatch(p, name)), None)


def first_tolerance(name):
    pattern = matches(name, GAUGE_ABS_TOLERANCE)
    return GAUGE_ABS_TOLERANCE[pattern] if pattern else 0.0


class Diff:
    """Problems grouped by kind, printed concisely."""

    def __init__(self):
        self.problems = collections.defaultdict(list)

    def add(self, kind, line):
        self.problems[kind].append(line)

    def report(self, checks):
        kinds = ["names only in node_exporter", "names only in the agent", "TYPE differs",
                 "label names differ", "series only in node_exporter",
                 "series only in the agent", "counter outside node_exporter's readings",
                 "gauge differs"]
        for kind in kinds:
            lines = self.problems.get(kind, [])
            shown = "".join(f"\n    {line}" for line in lines[:MAX_LINES_PER_PROBLEM])
            more = len(lines) - MAX_LINES_PER_PROBLEM
            if more > 0:
                shown += f"\n    ... and {more} more"
            checks.check(f"no {kind}", not lines, f"{len(lines)}:{shown}")


def compare_names(diff, ours, ne):
    ours_names, ne_names = h.names_in(ours), h.names_in(ne)
    for name in sorted(ne_names - ours_names):
        if not matches(name, KNOWN_ONLY_IN_NODE_EXPORTER) and not matches(name, NOT_COMPARED):
            diff.add("names only in node_exporter", name)
    for name in sorted(ours_names - ne_names):
        if not matches(name, KNOWN_ONLY_IN_AGENT) and not matches(name, NOT_COMPARED):
            diff.add("names only in the agent", name)
    for pattern, reason in KNOWN_ONLY_IN_NODE_EXPORTER.items():
        both = sorted(n for n in ours_names & ne_names if re.fullmatch(pattern, n))
        if both:
            h.log(f"note: known difference /{pattern}/ ({reason}) no longer applies: "
                  f"the agent now emits {both}")
    return sorted(n for n in ours_names & ne_names if not matches(n, NOT_COMPARED))


def series_by_name(samples):
    by_name = collections.defaultdict(dict)
    for (name, labels), value in samples.items():
        by_name[name][labels] = value
    return by_name


def compare_family(diff, name, ours, ne1, ne2, ours_types, ne_types):
    if ours_types.get(name) != ne_types.get(name):
        diff.add("TYPE differs", f"{name}: agent {ours_types.get(name)}, "
                                 f"node_exporter {ne_types.get(name)}")
    ours_labels = {k for labels in ours for k, _ in labels}
    ne_labels = {k for labels in ne1 for k, _ in labels}
    if ours_labels != ne_labels:
        diff.add("label names differ", f"{name}: agent {sorted(ours_labels)}, "
                                       f"node_exporter {sorted(ne_labels)}")
    for labels in sorted(set(ne1) - set(ours), key=sorted):
        diff.add("series only in node_exporter", h.format_series((name, labels)))
    for labels in sorted(set(ours) - set(ne1), key=sorted):
        diff.add("series only in the agent", h.format_series((name, labels)))

    monotonic = ne_types.get(name) == "counter" or matches(name, MONOTONIC_GAUGES)
    compared = 0
    for labels in set(ours) & set(ne1) & set(ne2):
        mine, before, after = ours[labels], ne1[labels], ne2[labels]
        lo, hi = min(before, after), max(before, after)
        series = h.format_series((name, labels))
        if monotonic:
            slack = max(COUNTER_ABS_SLACK, COUNTER_REL_SLACK * abs(hi))
            if not lo - slack <= mine <= hi + slack:
                diff.add("counter outside node_exporter's readings",
                         f"{series}: agent {mine!r}, node_exporter before {before!r} "
                         f"after {after!r}")
        else:
            tolerance = max(first_tolerance(name),
                            GAUGE_REL_TOLERANCE * max(abs(lo), abs(hi), abs(mine)))
            if not lo - tolerance <= mine <= hi + tolerance:
                diff.add("gauge differs", f"{series}: agent {mine!r}, node_exporter "
                                          f"{before!r} / {after!r} (tolerance {tolerance:g})")
        compared += 1
    return compared


def main():
    args = h.agent_arg_parser(__doc__.splitlines()[0]).parse_args()
    checks = h.Checks()
    agent = h.start_agent(args.agent)
    with agent, h.start_node_exporter(*h.NODE_EXPORTER_SAME_COLLECTORS) as ne:
        # Warm both up once (first scrapes may initialise caches), then the measured trio.
        agent.metrics_text(), ne.metrics_text()
        ne1, ne1_types = ne.metrics()
        ours, ours_types = agent.metrics()
        ne2, _ = ne.metrics()
        ne.stop()

        diff = Diff()
        names = compare_names(diff, ours, ne1)
        ours_by, ne1_by, ne2_by = series_by_name(ours), series_by_name(ne1), series_by_name(ne2)
        compared = sum(compare_family(diff, n, ours_by[n], ne1_by[n], ne2_by[n],
                                      ours_types, ne1_types) for n in names)
        h.log(f"compared {len(names)} metric names, {compared} series "
              f"(agent {len(ours)} series, node_exporter {len(ne1)})")
        diff.report(checks)
        checks.run("agent exits 0 on SIGTERM", lambda: h.stop_agent(agent))
    checks.exit()


if __name__ == "__main__":
    main()
