#!/usr/bin/python3
"""Rule evaluation: mingus-collector beside Prometheus on the same rules over the same data.

TARGETS synthetic targets of SERIES series each (tests/bench/synthetic_targets.py, one process,
on core 0), in CLUSTERS static_configs groups labelled cluster="cN", scraped every INTERVAL by
each system in turn (alternating which goes first, so they never compete for the CPU; the
system pinned, every thread, to core 1). Each system scrapes alone for BASELINE seconds, then
is reloaded (SIGHUP) with the generated rule file (tests/bench/rule_corpus.py: GROUPS groups
of RULES rules, evaluated every INTERVAL), the same file for both. After WARMUP seconds more
(so that the rules' 5m ranges hold most of their data) ROUNDS samples are taken one INTERVAL
apart.

Figures per system, medians of --runs runs:
  evaluation time per round: the sum over groups of each group's last evaluation duration, from
    its own /metrics (prometheus_rule_group_last_duration_seconds,
    mingus_collector_rule_group_last_duration_seconds), the median of the ROUNDS samples. Wall
    time: Prometheus evaluates its groups concurrently, and groups that overlap on the one core
    lengthen each other's durations; the collector evaluates them one after the other;
  rule CPU per round: CPU seconds (utime+stime of /proc/PID/stat) over the sampling window
    less what scraping alone cost over as long (the baseline window's rate), divided by the
    rounds evaluated in the window (group evaluations done / GROUPS), so that a system that
    skips turns because it cannot keep up is charged for the rounds it did;
  CPU seconds over the window (scraping, storage and rules together) and over the baseline;
  resident memory (VmRSS) at the end; head series at the end;
  evaluations done over the window, rules whose last evaluation failed (/api/v1/rules health),
    series each recording rule wrote and alerts per alerting rule at the end (instant
    queries), compared rule by rule between the two;
  per-rule evaluationTime from /api/v1/rules at the end, summed by the expression's form.

Prints the figures as JSON, then a markdown table for BENCHMARKS.md and the command that made
it. --smoke: a small, short run that checks only that both systems evaluated every rule and
that the figures are sane (no speed threshold).

Usage: /usr/bin/python3 tests/bench/rules_vs_prometheus.py --collector C [--targets 100]
           [--series 1000] [--clusters 10] [--groups 10] [--rules 100] [--interval 10]
           [--baseline 60] [--warmup 120] [--rounds 6] [--runs 3]
           [--systems prometheus,collector] [--smoke]
"""

import argparse
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness as h  # noqa: E402
import collector_vs_prometheus as cvp  # noqa: E402  (rss_bytes)
import rule_corpus  # noqa: E402

TARGETS_CPU, SERVER_CPU = 0, 1
SYSTEMS = ("prometheus", "collector")
# Each system's own names for the same figures.
OWN_METRICS = {
    "prometheus": {"duration": "prometheus_rule_group_last_duration_seconds",
                   "evaluations": "prometheus_rule_group_iterations_total",
                   "missed": "prometheus_rule_group_iterations_missed_total",
                   "failures": "prometheus_rule_evaluation_failures_total",
                   "head_series": "prometheus_tsdb_head_series"},
    "collector": {"duration": "mingus_collector_rule_group_last_duration_seconds",
                  "evaluations": "mingus_collector_rule_group_evaluations_total",
                  "missed": None,
                  "failures": "mingus_collector_rule_evaluation_failures_total",
                  "head_series": "mingus_collector_head_series"},
}


def pin_all_threads(pid, cpu):
    """Pin every thread of pid to cpu (sched_setaffinity on the PID alone moves only the main
    thread of a process that has already started its threads, such as Prometheus)."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setaffinity(int(tid), {cpu})
        except ProcessLookupError:
            pass  # the thread ended meanwhile


def config_text(ports, clusters, interval, rule_file):
    """One YAML both read: Prometheus' keys only, targets grouped by cluster label; no rules
    when rule_file is None."""
    groups = []
    for c in range(clusters):
        targets = ", ".join(f'"127.0.0.1:{p}"' for i, p in enumerate(ports) if i % clusters == c)
        if targets:
            groups.append(f'      - targets: [{targets}]\n        labels: {{cluster: "c{c}"}}\n')
    return (f"global: {{scrape_interval: {interval}s, scrape_timeout: {min(interval, 10)}s, "
            f"evaluation_interval: {interval}s}}\n"
            + (f"rule_files: [{json.dumps(rule_file)}]\n" if rule_file else "") +
            "scrape_configs:\n  - job_name: synthetic\n    static_configs:\n" + "".join(groups))


def by_group(samples, name):
    """{rule_group: value} of the series `name` in one /metrics scrape."""
    out = {}
    for (metric, labels), value in samples.items():
        if metric == name:
            out[dict(labels).get("rule_group", "")] = value
    return out


def own_total(samples, name):
    return sum(v for (metric, _), v in samples.items() if metric == name)


def evaluations(samples, names):
    """{rule_group: evaluations done} (Prometheus counts missed iterations as iterations)."""
    done = by_group(samples, names["evaluations"])
    if names["missed"]:
        missed = by_group(samples, names["missed"])
        done = {g: v - missed.get(g, 0) for g, v in done.items()}
    return done


def rules_status(server):
    """(rules loaded, [(group, rule name, lastError)] of unhealthy rules,
    {rule name: evaluationTime seconds}) from /api/v1/rules."""
    response = server.get("/api/v1/rules", timeout=60)
    body = json.loads(response.text())
    if response.status != 200 or body.get("status") != "success":
        raise AssertionError(f"/api/v1/rules: HTTP {response.status}: {str(body)[:500]}")
    loaded, unhealthy, times = 0, [], {}
    for group in body["data"]["groups"]:
        for rule in group["rules"]:
            loaded += 1
            if rule.get("health") != "ok":
                unhealthy.append((group["name"], rule["name"], rule.get("lastError", rule.get("health"))))
            times[rule["name"]] = float(rule.get("evaluationTime", 0))
    return loaded, unhealthy, times


def counts_by(server, promql, label):
    """{value of label: count} from an instant query returning one series per label value."""
    data = h.query(server, promql)
    return {s["metric"].get(label, ""): float(s["value"][1]) for s in data["result"]}


def run_one(kind, args, ports, rule_file, tmp):
    names = OWN_METRICS[kind]
    data_dir = os.path.join(tmp, f"{kind}-data")
    os.makedirs(data_dir, exist_ok=True)
    config_path = os.path.join(tmp, f"{kind}.yml")
    h.write_file(config_path, config_text(ports, args.clusters, args.interval, None))
    if kind == "prometheus":
        server = h.start_prometheus(config_path, data_dir)
    else:
        server = h.start_collector(args.collector, config=config_path, storage_dir=data_dir, cpu=SERVER_CPU)
    with server:
        pin_all_threads(server.pid, SERVER_CPU)
        # Scraping alone first: what it costs is taken off the figure with rules.
        time.sleep(2 * args.interval)
        cpu_before, began = h.cpu_seconds(server.pid), time.monotonic()
        time.sleep(args.baseline)
        baseline_cpu_per_s = (h.cpu_seconds(server.pid) - cpu_before) / (time.monotonic() - began)
        h.write_file(config_path, config_text(ports, args.clusters, args.interval, rule_file))
        server.signal(signal.SIGHUP)
        h.wait_until(lambda: len(evaluations(server.metrics()[0], names)) == args.groups,
                     timeout=max(60, 3 * args.interval), what=f"{kind} to evaluate the rule groups")
        pin_all_threads(server.pid, SERVER_CPU)  # threads started for the rules
        time.sleep(args.warmup)
        samples, _ = server.metrics()
        done_before = evaluations(samples, names)
        cpu_before, began = h.cpu_seconds(server.pid), time.monotonic()
        rounds, per_group = [], {}
        for _ in range(args.rounds):
            time.sleep(args.interval)
            durations = by_group(server.metrics()[0], names["duration"])
            rounds.append(sum(durations.values()))
            for group, seconds in durations.items():
                per_group.setdefault(group, []).append(seconds)
        cpu, window = h.cpu_seconds(server.pid) - cpu_before, time.monotonic() - began
        samples, _ = server.metrics()
        done_after = evaluations(samples, names)
        rss = cvp.rss_bytes(server.pid)
        loaded, unhealthy, rule_times = rules_status(server)
        recorded = counts_by(server, 'count by (__name__) ({__name__=~"bench_.+"})', "__name__")
        alerts = counts_by(server, 'count by (alertname) (ALERTS{category="bench"})', "alertname")
        firing = sum(counts_by(server, 'count(ALERTS{category="bench",alertstate="firing"})', "").values())
        rc = server.stop(timeout=60)
        if rc != 0:
            raise RuntimeError(f"{kind} exited with {rc}:\n{server.output()[-2000:]}")
    groups = len(done_after)
    done = sum(done_after.get(g, 0) - done_before.get(g, 0) for g in done_after)
    return {
        "eval_seconds_per_round": statistics.median(rounds) if rounds else float("nan"),
        "slowest_group_seconds": max((statistics.median(v) for v in per_group.values()), default=float("nan")),
        # Per round evaluated: a system that cannot keep up evaluates fewer rounds than the
        # window holds, and its CPU per INTERVAL would understate the work of one.
        "rule_cpu_seconds_per_round": (cpu - baseline_cpu_per_s * window) * groups / max(done, 1),
        "cpu_seconds": cpu,
        "baseline_cpu_seconds": baseline_cpu_per_s * window,
        "rss_mib": rss / 2**20,
        "head_series": own_total(samples, names["head_series"]),
        "groups": groups,
        "rules_loaded": loaded,
        "evaluations": done,
        "evaluations_expected": groups * args.rounds,
        "evaluation_failures_total": own_total(samples, names["failures"]),
        "rules_unhealthy": len(unhealthy),
        "unhealthy_examples": unhealthy[:5],
        "recorded_series": sum(recorded.values()),
        "recorded_by_rule": recorded,
        "alerts": sum(alerts.values()),
        "alerts_firing": firing,
        "alerts_by_rule": alerts,
        "rule_seconds": rule_times,
    }


def check_rule_file(path, collector):
    """promtool check rules (and the collector's check-rules, when it has one) must pass."""
    tools = [[h.PROMTOOL, "check", "rules", path]]
    if collector:
        tools.append([os.path.abspath(collector), "check-rules", path])
    for argv in tools:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")


def compare(results, rules):
    """Rule-by-rule differences between the systems' last runs: recording rules that wrote a
    different number of series, alerting rules with a different number of alerts."""
    if len(results) < 2:
        return {}
    p, c = results["prometheus"][-1], results["collector"][-1]
    records = [r["name"] for r in rules if r["kind"] == "record"]
    alerts = [r["name"] for r in rules if r["kind"] == "alert"]
    return {
        "recording_rules_differing": [(n, p["recorded_by_rule"].get(n, 0), c["recorded_by_rule"].get(n, 0))
                                      for n in records
                                      if p["recorded_by_rule"].get(n, 0) != c["recorded_by_rule"].get(n, 0)],
        "alerting_rules_differing": [(n, p["alerts_by_rule"].get(n, 0), c["alerts_by_rule"].get(n, 0))
                                     for n in alerts
                                     if p["alerts_by_rule"].get(n, 0) != c["alerts_by_rule"].get(n, 0)],
    }


def by_shape(rule_seconds, rules):
    out = {}
    for rule in rules:
        out[rule["shape"]] = out.get(rule["shape"], 0.0) + rule_seconds.get(rule["name"], 0.0)
    return out


def summarize(results, rules):
    numeric = ("eval_seconds_per_round", "slowest_group_seconds", "rule_cpu_seconds_per_round", "cpu_seconds",
               "baseline_cpu_seconds", "rss_mib", "head_series",
               "rules_loaded", "evaluations", "evaluations_expected", "rules_unhealthy",
               "recorded_series", "alerts", "alerts_firing")
    summary = {}
    for kind, runs in results.items():
        summary[kind] = {key: statistics.median(r[key] for r in runs) for key in numeric}
        shapes = [by_shape(r["rule_seconds"], rules) for r in runs]
        summary[kind]["seconds_by_shape"] = {s: statistics.median(x[s] for x in shapes) for s in shapes[0]}
    return summary


def ratio(a, b):
    return a / b if b else float("nan")


def markdown(summary, args):
    if len(summary) < 2:
        return ""
    c, p = summary["collector"], summary["prometheus"]
    rows = [
        (f"evaluation time per round, all {args.groups} groups (s)", "eval_seconds_per_round", "{:.3f}"),
        ("slowest group's evaluation (s)", "slowest_group_seconds", "{:.3f}"),
        ("CPU seconds per round for the rules (with rules minus scraping alone)",
         "rule_cpu_seconds_per_round", "{:.2f}"),
        (f"CPU seconds over the {args.rounds * args.interval} s window (scraping, storage, rules)",
         "cpu_seconds", "{:.2f}"),
        ("CPU seconds over as long scraping alone, before the rules", "baseline_cpu_seconds", "{:.2f}"),
        ("resident memory at the end (MiB)", "rss_mib", "{:.0f}"),
        ("head series at the end", "head_series", "{:,.0f}"),
        (f"group evaluations done in the window (of {args.groups * args.rounds} due)", "evaluations",
         "{:,.0f}"),
        ("series written by the recording rules", "recorded_series", "{:,.0f}"),
        ("alerts pending or firing at the end", "alerts", "{:,.0f}"),
    ]
    out = ["| figure | collector | Prometheus | ours / Prometheus |", "|---|---:|---:|---:|"]
    for label, key, fmt in rows:
        out.append(f"| {label} | {fmt.format(c[key]).replace(',', ' ')} | {fmt.format(p[key]).replace(',', ' ')} "
                   f"| {ratio(c[key], p[key]):.2f} |")
    out.append("")
    out.append("| rule form (per-rule evaluationTime, summed) | collector (ms) | Prometheus (ms) | ours / Prometheus |")
    out.append("|---|---:|---:|---:|")
    for shape in p["seconds_by_shape"]:
        cs, ps = c["seconds_by_shape"].get(shape, 0.0), p["seconds_by_shape"][shape]
        out.append(f"| `{shape}` | {cs * 1000:.1f} | {ps * 1000:.1f} | {ratio(cs, ps):.2f} |")
    return "\n".join(out)


def command_line(args):
    flags = ["--collector", args.collector or "build/collector/mingus-collector"]
    for name in ("targets", "series", "clusters", "groups", "rules", "interval", "baseline", "warmup", "rounds",
                 "runs"):
        flags += [f"--{name}", str(getattr(args, name))]
    return "/usr/bin/python3 tests/bench/rules_vs_prometheus.py " + " ".join(flags)


def sane(kind, r, args):
    """The smoke run's checks on one system's figures: it evaluated every rule, and the
    numbers are numbers of the right size. Never a speed threshold."""
    problems = []
    rules = args.groups * args.rules
    if r["rules_loaded"] != rules:
        problems.append(f"{r['rules_loaded']} rules loaded, not {rules}")
    if r["groups"] != args.groups:
        problems.append(f"{r['groups']} groups evaluated, not {args.groups}")
    if not (math.isfinite(r["eval_seconds_per_round"]) and 0 < r["eval_seconds_per_round"] < 60):
        problems.append(f"evaluation time per round {r['eval_seconds_per_round']}")
    if r["evaluations"] < 1:
        problems.append("no evaluation during the window")
    if r["cpu_seconds"] <= 0 or r["rss_mib"] <= 0:
        problems.append(f"CPU {r['cpu_seconds']} s, RSS {r['rss_mib']} MiB")
    if r["recorded_series"] <= 0:
        problems.append("the recording rules wrote nothing")
    return [f"{kind}: {p}" for p in problems]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agent", help="ignored (accepted like the other benchmarks)")
    parser.add_argument("--collector", help="path to the mingus-collector binary")
    parser.add_argument("--targets", type=int, default=100)
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--clusters", type=int, default=10)
    parser.add_argument("--groups", type=int, default=10)
    parser.add_argument("--rules", type=int, default=100, help="rules per group")
    parser.add_argument("--interval", type=int, default=10, help="scrape and evaluation interval (s)")
    parser.add_argument("--baseline", type=int, default=60, help="seconds of scraping alone, before the rules")
    parser.add_argument("--warmup", type=int, default=120, help="seconds of rules before sampling")
    parser.add_argument("--rounds", type=int, default=6, help="samples, one interval apart")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--json-out")
    args = parser.parse_args()
    if args.smoke:
        (args.targets, args.series, args.clusters, args.groups, args.rules, args.interval, args.baseline,
         args.warmup, args.rounds, args.runs) = 5, 100, 5, 2, 20, 1, 2, 4, 3, 1
    systems = [s for s in args.systems.split(",") if s]
    if any(s not in SYSTEMS for s in systems):
        parser.error(f"--systems: one or more of {','.join(SYSTEMS)}")
    if "collector" in systems and not args.collector:
        parser.error("--collector is required unless --systems=prometheus")
    rules = rule_corpus.all_rules(args.groups, args.rules, args.clusters, args.series)
    results = {s: [] for s in systems}
    with h.temp_dir(prefix="mingus-bench-rules-") as tmp:
        rule_file = h.write_file(os.path.join(tmp, "bench_rules.yml"),
                                 rule_corpus.render(args.groups, args.rules, args.clusters, args.series))
        check_rule_file(rule_file, args.collector if "collector" in systems else None)
        with h.Process([sys.executable, os.path.join(HERE, "synthetic_targets.py"), str(args.targets),
                        str(args.series)], name="synthetic_targets", cpu=TARGETS_CPU) as targets:
            ports = [int(p) for p in targets.wait_for_line(r"^ready (.*)$", timeout=120).group(1).split()]
            for run in range(args.runs):
                order = systems if run % 2 == 0 else systems[::-1]
                for kind in order:
                    run_dir = os.path.join(tmp, f"run{run}")
                    os.makedirs(run_dir, exist_ok=True)
                    result = run_one(kind, args, ports, rule_file, run_dir)
                    brief = {k: v for k, v in result.items()
                             if k not in ("recorded_by_rule", "alerts_by_rule", "rule_seconds")}
                    h.log(f"run {run + 1} {kind}: {json.dumps(brief)}")
                    results[kind].append(result)
    summary = summarize(results, rules)
    differences = compare(results, rules)
    report = {"bench": "rules_vs_prometheus", "targets": args.targets, "series_per_target": args.series,
              "clusters": args.clusters, "groups": args.groups, "rules_per_group": args.rules,
              "interval_s": args.interval, "warmup_s": args.warmup, "rounds": args.rounds, "runs": args.runs,
              "summary": summary, "differences_last_run": differences}
    if len(summary) == 2:
        report["ratio_collector_to_prometheus"] = {
            key: ratio(summary["collector"][key], summary["prometheus"][key])
            for key in ("eval_seconds_per_round", "slowest_group_seconds", "rule_cpu_seconds_per_round",
                        "cpu_seconds", "rss_mib")}
    print(json.dumps(report, indent=1))
    if args.json_out:
        h.write_file(args.json_out, json.dumps(report, indent=1))
    table = markdown(summary, args)
    if table:
        print("\n" + table + "\n\n```sh\n" + command_line(args) + "\n```")
    if differences:
        for what, rows in differences.items():
            h.log(f"{len(rows)} {what.replace('_', ' ')} (name, Prometheus, collector): {rows[:10]}")
    if args.smoke:
        problems = [p for kind in systems for p in sane(kind, results[kind][-1], args)]
        for p in problems:
            h.log("FAIL: " + p)
        if not problems:
            h.log(f"OK: {' and '.join(systems)} evaluated all {args.groups * args.rules} rules")
        sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
