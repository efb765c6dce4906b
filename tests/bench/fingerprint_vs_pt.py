#!/usr/bin/python3
"""SQL fingerprint throughput: `mingus-collector fingerprint FILE` against percona-toolkit's
`pt-fingerprint FILE` on the same file, the corpus of tests/fixtures/sql (293 queries of MySQL,
PostgreSQL and SQLite) repeated REPEAT times in pt-fingerprint's file format (each query followed
by ";\\n").

Each tool is one process over the whole file (pt-fingerprint's file mode, not a process per
--query), pinned to core CPU, its output to a file; RUNS runs alternate which tool goes first.
Figures per tool: wall time of the run, the process's CPU time (user + system), the queries it
fingerprinted (pt-fingerprint's file mode skips a query that does not start with a word
character, such as one opening with a comment: it fingerprints fewer), queries per second over
the wall time and over the CPU time (the fairer figure on a busy machine: wall time also counts
waiting for the core), and its start-up (a run over an empty file) -- medians over the runs. The
ratios are ours over pt's.

Prints the figures as JSON, then a markdown table for BENCHMARKS.md and the command that made it.
--smoke: REPEAT 3, one run; checks only that both tools fingerprint the file (ours: one line per
query).

Usage: /usr/bin/python3 tests/bench/fingerprint_vs_pt.py --collector C [--repeat 350] [--runs 5]
           [--cpu 1] [--smoke]
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness as h  # noqa: E402
import sql_corpus as corpus  # noqa: E402


def timed(argv, input_path, output_path, cpu):
    """(wall seconds, CPU seconds, output lines) of one run of argv + [input_path]."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(output_path, "wb") as out:
        start = time.perf_counter()
        done = subprocess.run(["taskset", "-c", str(cpu), *argv, input_path], stdout=out,
                              stderr=subprocess.PIPE, check=False)
        wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # pt-fingerprint exits 1 on success (its main returns the last print's value); a failure
    # shows on stderr.
    if done.returncode not in (0, 1) or done.stderr:
        raise RuntimeError(f"{argv[0]} exited {done.returncode}: {done.stderr.decode(errors='replace')}")
    cpu_seconds = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    with open(output_path, "rb") as f:
        lines = f.read().count(b"\n")
    return wall, cpu_seconds, lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collector", required=True, help="path to mingus-collector")
    parser.add_argument("--repeat", type=int, default=350, help="copies of the corpus in the file")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cpu", type=int, default=1, help="core both tools are pinned to")
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        args.repeat, args.runs = 3, 1

    queries = corpus.read_corpus()
    tools = {
        "mingus-collector fingerprint": [os.path.abspath(args.collector), "fingerprint"],
        "pt-fingerprint": [corpus.PT_FINGERPRINT],
    }
    figures = {name: {"wall": [], "cpu": [], "lines": [], "startup": []} for name in tools}
    with tempfile.TemporaryDirectory(prefix="mingus-fingerprint-bench-") as tmp:
        path = h.write_file(os.path.join(tmp, "corpus.sql"), corpus.pt_file_text(queries, args.repeat))
        empty = h.write_file(os.path.join(tmp, "empty.sql"), "")
        output = os.path.join(tmp, "out.txt")
        total = len(queries) * args.repeat
        h.log(f"{total} queries ({len(queries)} x {args.repeat}), {os.path.getsize(path)} bytes")
        for run in range(args.runs):
            order = list(tools) if run % 2 == 0 else list(reversed(tools))
            for name in order:
                wall, cpu, lines = timed(tools[name], path, output, args.cpu)
                startup, _, _ = timed(tools[name], empty, output, args.cpu)
                for key, value in (("wall", wall), ("cpu", cpu), ("lines", lines), ("startup", startup)):
                    figures[name][key].append(value)
                h.log(f"run {run + 1}: {name}: {wall:.3f} s wall, {cpu:.3f} s CPU, {lines} fingerprints, "
                      f"{startup * 1000:.0f} ms start-up")

    result = {"queries_in_file": total, "repeat": args.repeat, "runs": args.runs, "tools": {}}
    for name, f in figures.items():
        wall, lines = statistics.median(f["wall"]), int(statistics.median(f["lines"]))
        cpu = statistics.median(f["cpu"])
        result["tools"][name] = {
            "wall_seconds": round(wall, 4),
            "cpu_seconds": round(cpu, 4),
            "fingerprints": lines,
            "queries_per_second": round(lines / wall),
            "queries_per_cpu_second": round(lines / cpu) if cpu > 0 else None,
            "startup_ms": round(statistics.median(f["startup"]) * 1000, 1),
        }
    ours, pt = result["tools"]["mingus-collector fingerprint"], result["tools"]["pt-fingerprint"]
    result["ratio_qps"] = round(ours["queries_per_second"] / pt["queries_per_second"], 1)
    if ours["queries_per_cpu_second"] and pt["queries_per_cpu_second"]:
        result["ratio_qps_cpu"] = round(ours["queries_per_cpu_second"] / pt["queries_per_cpu_second"], 1)
    print(json.dumps(result, indent=2))

    if args.smoke:
        checks = h.Checks()
        checks.check("mingus-collector fingerprint prints one fingerprint per query",
                     ours["fingerprints"] == total, f"{ours['fingerprints']} of {total}")
        checks.check("pt-fingerprint fingerprints the file", pt["fingerprints"] > 0)
        checks.exit()

    print()
    print("| figure | mingus-collector fingerprint | pt-fingerprint | ours / pt |")
    print("|---|---:|---:|---:|")
    print(f"| queries fingerprinted | {ours['fingerprints']:,} | {pt['fingerprints']:,} | |".replace(",", " "))
    print(f"| wall time (s) | {ours['wall_seconds']:.3f} | {pt['wall_seconds']:.3f} | "
          f"{ours['wall_seconds'] / pt['wall_seconds']:.3f} |")
    print(f"| CPU time (s) | {ours['cpu_seconds']:.3f} | {pt['cpu_seconds']:.3f} | "
          f"{ours['cpu_seconds'] / pt['cpu_seconds']:.3f} |")
    print(f"| queries per second (wall) | {ours['queries_per_second']:,} | {pt['queries_per_second']:,} | "
          f"{result['ratio_qps']} |".replace(",", " "))
    print(f"| queries per CPU second | {ours['queries_per_cpu_second']:,} | {pt['queries_per_cpu_second']:,} | "
          f"{result.get('ratio_qps_cpu')} |".replace(",", " "))
    print(f"| start-up, empty file (ms) | {ours['startup_ms']} | {pt['startup_ms']} | |")
    print()
    print(f"/usr/bin/python3 tests/bench/fingerprint_vs_pt.py --collector {args.collector} "
          f"--repeat {args.repeat} --runs {args.runs} --cpu {args.cpu}")


if __name__ == "__main__":
    main()
