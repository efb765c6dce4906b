#!/usr/bin/python3
"""A generated Prometheus rule file for tests/bench/rules_vs_prometheus.py: GROUPS groups of
RULES rules over the series of tests/bench/synthetic_targets.py, a mix shaped like real rule
files (recording rules with rate, increase and histogram_quantile, ratios of two sums,
*_over_time, max/min/avg/count by, rules that read what an earlier rule of the group
recorded; alerting rules with comparisons, `for`, labels and templated annotations, `up == 0`,
`absent`, `predict_linear`). Only DESIGN.md's PromQL subset: no subqueries, no and/or/unless,
no topk.

The targets carry a `cluster` label (their static_configs group, c0..c{CLUSTERS-1}); every
rule of group g selects cluster c{g mod CLUSTERS} and one shard, as a team's rules select its
own service, so each rule reads a few hundred series rather than all of them. Recording
rules write names unique to the rule (bench_gGG_rRRR:...), so that the series each one wrote
can be counted on both sides.

Usage: rule_corpus.py [--groups 10] [--rules 100] [--clusters 10] [--series 1000] > rules.yml
"""

import argparse
import json
import sys

# synthetic_targets.py's shapes: SERIES per target in max(1, SERIES // 100) shards of
# SERIES // shards series; within a shard, position i is a counter (i % 3 == 0, path="/p{i}"),
# a gauge (i % 3 == 1, item="i{i}") or a histogram bucket (i % 3 == 2, n="{i}").
COUNTER = "synthetic_requests_total"
GAUGE = "synthetic_gauge"
BUCKET = "synthetic_latency_seconds_bucket"


def shape(series):
    """(shards, paths, items) of a target of `series` series, as synthetic_targets.py makes it."""
    shards = max(1, series // 100)
    per_shard = series // shards
    paths = [f"/p{i}" for i in range(per_shard) if i % 3 == 0]
    items = [f"i{i}" for i in range(per_shard) if i % 3 == 1]
    return shards, paths, items


def _q(text):
    """A YAML double-quoted scalar (JSON's string syntax is YAML's)."""
    return json.dumps(text)


def _rule(kind, name, expr, shape, for_=None, labels=None, annotations=None):
    return {"kind": kind, "name": name, "expr": expr, "shape": shape, "for": for_,
            "labels": labels or {}, "annotations": annotations or {}}


def rules_of_group(g, count, clusters=10, series=1000):
    """The rules of group g, in order: dicts with kind (record or alert), name, expr, for,
    labels, annotations, and shape (a short description of the expression's form, shared by
    rules of the same form, for per-form timing)."""
    shards, paths, items = shape(series)
    cluster = f"c{g % clusters}"
    rules = []
    for k in range(count):
        shard = str((k // 10 + g) % shards)
        path = paths[(k * 7 + g) % len(paths)]
        item = items[(k * 5 + g) % len(items)]
        variant = (k // 10) % 4
        sel = f'cluster="{cluster}",shard="{shard}"'
        prefix = f"bench_g{g:02d}_r{k:03d}"
        labels = {"severity": ("critical", "high", "medium", "low")[k % 4], "category": "bench",
                  "team": cluster}

        def alert(what, expr, shape, for_, annotations):
            return _rule("alert", f"Synthetic{what}G{g:02d}R{k:03d}", expr, shape, for_, labels,
                         annotations)
        form = k % 10
        if k == count - 1 and count >= 10:
            rules.append(alert("TargetDown", f'up{{cluster="{cluster}"}} == 0', "up == 0", "1m",
                               {"summary": "{{ $labels.instance }} of {{ $labels.cluster }} is down"}))
        elif k == count - 2 and count >= 10:
            rules.append(alert("MetricAbsent", f'absent({COUNTER}{{{sel},path="/absent"}})',
                               "absent(counter)", "5m",
                               {"summary": "no {{ $labels.path }} requests in {{ $labels.cluster }}"}))
        elif form == 0:
            fn, rng = (("rate", "1m"), ("rate", "5m"), ("increase", "5m"), ("irate", "1m"))[variant]
            rules.append(_rule("record", f"{prefix}:synthetic_requests:{fn}{rng}",
                               f"sum by (job, cluster, shard) ({fn}({COUNTER}{{{sel}}}[{rng}]))",
                               "sum by (rate|increase|irate(counter[1m|5m]))"))
        elif form == 1:
            rules.append(_rule(
                "record", f"{prefix}:synthetic_requests:rate5m",
                f'sum by (instance, path) (rate({COUNTER}{{cluster="{cluster}",path="{path}"}}[5m]))',
                "sum by (instance, path) (rate(counter{path}[5m]))"))
        elif form == 2:
            q = ("0.5", "0.9", "0.95", "0.99")[variant]
            by = ("shard", "instance, shard", "cluster, shard", "instance")[variant]
            rules.append(_rule(
                "record", f"{prefix}:synthetic_latency_seconds:p{round(float(q) * 100)}_rate5m",
                f"histogram_quantile({q}, sum by (le, {by}) (rate({BUCKET}{{{sel}}}[5m])))",
                "histogram_quantile(sum by (le, ...) (rate(bucket[5m])))"))
        elif form == 3:
            rules.append(_rule(
                "record", f"{prefix}:synthetic_requests:ratio_rate5m",
                f'sum by (instance) (rate({COUNTER}{{{sel},path=~"/p[0-4].*"}}[5m]))\n'
                f"/\nsum by (instance) (rate({COUNTER}{{{sel}}}[5m]))",
                "sum by (rate(counter{path=~re}[5m])) / sum by (rate(counter[5m]))"))
        elif form == 4:
            fn = ("avg_over_time", "max_over_time", "min_over_time", "avg_over_time")[variant]
            agg = ("avg", "max", "min", "sum")[variant]
            rules.append(_rule("record", f"{prefix}:synthetic_gauge:{agg}_{fn}5m",
                               f"{agg} by (instance) ({fn}({GAUGE}{{{sel}}}[5m]))",
                               "avg|max|min|sum by (*_over_time(gauge[5m]))"))
        elif form == 5:
            agg = ("max", "min", "count", "avg")[variant]
            rules.append(_rule("record", f"{prefix}:synthetic_gauge:{agg}",
                               f"{agg} by (cluster, shard) ({GAUGE}{{{sel}}})",
                               "max|min|count|avg by (gauge)"))
        elif form == 6:
            # An alert on what the rule just before it recorded, as alerts on recorded
            # series are written.
            previous = rules[-1]["name"]
            rules.append(alert("GaugeOutOfRange", f"{previous} > 50", "recorded > 50 (alert)", "1m",
                               {"summary": "{{ $labels.cluster }}/{{ $labels.shard }}: "
                                           "{{ $value | humanize }}",
                                "description": "recorded by " + previous}))
        elif form == 7:
            rules.append(alert("GaugeHigh", f'avg_over_time({GAUGE}{{{sel},item="{item}"}}[5m]) > 60',
                               "avg_over_time(gauge{item}[5m]) > 60 (alert)", "2m",
                               {"summary": "{{ $labels.instance }} {{ $labels.item }} averages "
                                           "{{ $value | printf \"%.1f\" }}"}))
        elif form == 8:
            rules.append(alert("BucketRatioHigh",
                               f'sum by (instance) (rate({BUCKET}{{{sel},le="+Inf"}}[5m]))\n'
                               f"/\nsum by (instance) (rate({COUNTER}{{{sel}}}[5m])) > 0.5",
                               "sum by / sum by > 0.5 (alert)", "5m",
                               {"summary": "{{ $labels.instance }}: ratio "
                                           "{{ $value | humanizePercentage }}"}))
        elif variant % 2 == 0:
            rules.append(alert("LatencyHigh",
                               f"histogram_quantile(0.99, sum by (le, instance) "
                               f"(rate({BUCKET}{{{sel}}}[5m]))) > 0.5",
                               "histogram_quantile(...) > 0.5 (alert)", "1m",
                               {"summary": "{{ $labels.instance }} p99 {{ $value | humanizeDuration }}"}))
        else:
            rules.append(alert("GaugeTrend",
                               f"max by (instance) (predict_linear({GAUGE}{{{sel}}}[5m], 3600)) > 1000",
                               "max by (predict_linear(gauge[5m], 3600)) > 1000 (alert)", "1m",
                               {"summary": "{{ $labels.instance }} heads for {{ $value | humanize }}"}))
    return rules


def render(groups=10, rules=100, clusters=10, series=1000, interval=None):
    """The rule file's text. `interval` (seconds) sets each group's interval; None leaves it
    to the global evaluation_interval."""
    out = ["# Generated by tests/bench/rule_corpus.py for tests/bench/rules_vs_prometheus.py.",
           "groups:"]
    for g in range(groups):
        out.append(f"  - name: bench-{g:02d}")
        if interval is not None:
            out.append(f"    interval: {interval}s")
        out.append("    rules:")
        for rule in rules_of_group(g, rules, clusters, series):
            out.append(f"      - {rule['kind']}: {_q(rule['name'])}")
            out.append(f"        expr: {_q(rule['expr'])}")
            if rule["for"]:
                out.append(f"        for: {rule['for']}")
            if rule["labels"]:
                out.append("        labels: {" + ", ".join(f"{k}: {_q(v)}" for k, v in rule["labels"].items())
                           + "}")
            if rule["annotations"]:
                out.append("        annotations:")
                out.extend(f"          {k}: {_q(v)}" for k, v in rule["annotations"].items())
    return "\n".join(out) + "\n"


def all_rules(groups=10, rules=100, clusters=10, series=1000):
    """Every rule of the file, in file order (see rules_of_group)."""
    return [rule for g in range(groups) for rule in rules_of_group(g, rules, clusters, series)]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--groups", type=int, default=10)
    parser.add_argument("--rules", type=int, default=100)
    parser.add_argument("--clusters", type=int, default=10)
    parser.add_argument("--series", type=int, default=1000)
    args = parser.parse_args()
    sys.stdout.write(render(args.groups, args.rules, args.clusters, args.series))


if __name__ == "__main__":
    main()
