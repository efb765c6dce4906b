#!/usr/bin/python3
"""Our SQL fingerprint against percona-toolkit's pt-fingerprint over the corpus in
tests/fixtures/sql (issue 9).

PASS iff
- the corpus holds at least MIN_QUERIES queries, at least MIN_PER_DIALECT in each of the MySQL,
  PostgreSQL and SQLite files, with unique names, and shows each of the SHAPES;
- `mingus-collector fingerprint FILE`, given the whole corpus in pt-fingerprint's file format,
  prints for every query the fingerprint that `pt-fingerprint --query` prints for it, or the one
  `pt-fingerprint --match-embedded-numbers --query` prints (pt's mode for names with digits in
  them, which we keep in any case), or, for a query listed in
  tests/fixtures/sql/pt-fingerprint-differences.tsv, the fingerprint listed there;
- every listed query is in the corpus, its reasons are explained in that file, and pt's
  fingerprints differ from the listed one (a listing that no longer differs must go);
- `mingus-collector fingerprint --query Q` prints what the file mode printed for Q;
- each fingerprint is its own fingerprint (agents and the collector may fingerprint twice).

Usage: /usr/bin/python3 tests/integration/fingerprint_test.py --collector build/collector/mingus-collector
"""

import argparse
import collections
import os
import re
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor

import harness as h
import sql_corpus as corpus

MIN_QUERIES = 200
MIN_PER_DIALECT = 50
DIALECTS = ("mysql", "postgresql", "sqlite")
TOOL_TIMEOUT = 60
# Shapes the corpus must show (issue 9): name, pattern over a query's text.
SHAPES = {
    "ORM-quoted names (backticks)": r"`\w+`\.`\w+`",
    "ORM-quoted names (double quotes)": r'"\w+"\."\w+"',
    "IN list of numbers": r"(?i)\bIN \(\d+, ?\d+",
    "IN list of strings": r"(?i)\bIN \('[^']*', ?'",
    "multi-row INSERT ... VALUES": r"(?is)^INSERT.*VALUES\s*\(.*\),\s*\(",
    "-- comment": r"--",
    "# comment": r"(?m)^#|\s#\s",
    "/* */ comment": r"/\*[^!+]",
    "/*! */ version comment": r"/\*!\d",
    "escaped quote": r"\\'|''\w",
    "hex literal": r"0x[0-9A-Fa-f]|[Xx]'[0-9A-Fa-f]",
    "bit literal": r"[bB]'[01]+'",
    "negative number": r"[=<>(,]\s*-\d",
    "? placeholder": r"= \?",
    "$1 placeholder": r"\$1",
    "%s placeholder": r"%s|%\(\w+\)s",
    ":name placeholder": r"[= (]:\w+",
    "LIMIT x OFFSET y": r"(?i)LIMIT \S+ OFFSET \S+",
    "LIMIT x, y": r"(?i)LIMIT \d+, ?\d+",
    "CTE": r"(?i)^WITH\b",
    "subquery": r"(?i)\(\s*SELECT\b",
    "CALL": r"(?i)^CALL\b",
    "ORDER BY": r"(?i)ORDER BY",
    "UNION": r"(?i)\bUNION\b",
    "ON DUPLICATE KEY UPDATE": r"(?i)ON DUPLICATE KEY UPDATE",
    "ON CONFLICT": r"(?i)ON CONFLICT",
    "RETURNING": r"(?i)\bRETURNING\b",
    "::cast": r"::\w+",
}


def run(argv, exit_codes=(0,)):
    done = subprocess.run(argv, capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False)
    if done.returncode not in exit_codes or done.stderr:
        raise RuntimeError(f"{' '.join(argv[:2])} exited {done.returncode}: {done.stderr.strip()}")
    return done.stdout


def pt_fingerprint(query, embedded_numbers=False):
    """pt-fingerprint --query's fingerprint (one process per query: its file mode would drop
    lines starting with '#' and skip queries not starting with a word character). It exits 1
    after printing (its main returns what print did)."""
    flags = ["--match-embedded-numbers"] if embedded_numbers else []
    out = run([corpus.PT_FINGERPRINT, *flags, "--query", query.text], exit_codes=(0, 1))
    return out[:-1] if out.endswith("\n") else out


def ours_file_mode(collector, texts):
    """Our fingerprints of `texts` (one line each) through the file mode, from a file."""
    with tempfile.NamedTemporaryFile("w", suffix=".sql", encoding="utf-8") as f:
        f.write("".join(t + ";\n" for t in texts))
        f.flush()
        return run([collector, "fingerprint", f.name]).split("\n")[:-1]


def check_corpus(checks, queries):
    by_dialect = collections.Counter(q.dialect for q in queries)
    h.log("corpus: " + ", ".join(f"{d} {by_dialect[d]}" for d in DIALECTS) + f", {len(queries)} in all")
    checks.check(f"at least {MIN_QUERIES} queries", len(queries) >= MIN_QUERIES, f"{len(queries)}")
    for dialect in DIALECTS:
        checks.check(f"at least {MIN_PER_DIALECT} {dialect} queries",
                     by_dialect[dialect] >= MIN_PER_DIALECT, f"{by_dialect[dialect]}")
    ids = collections.Counter(q.id for q in queries)
    checks.check("query names are unique", max(ids.values()) == 1,
                 ", ".join(i for i, n in ids.items() if n > 1))
    bad = [q.id for q in queries if not q.text or ";\n" in q.text]
    checks.check("no query is empty or holds ';' at the end of a line", not bad, ", ".join(bad))
    for shape, pattern in SHAPES.items():
        checks.check(f"the corpus shows: {shape}", any(re.search(pattern, q.text) for q in queries))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collector", required=True, help="path to mingus-collector")
    args = parser.parse_args()
    checks = h.Checks()
    queries = corpus.read_corpus()
    check_corpus(checks, queries)
    reasons, differences = corpus.read_differences()

    with ThreadPoolExecutor(max_workers=4) as pool:
        pt = list(pool.map(pt_fingerprint, queries))
        pt_embedded = list(pool.map(lambda q: pt_fingerprint(q, True), queries))
        single = list(pool.map(lambda q: run([args.collector, "fingerprint", "--query", q.text])[:-1],
                               queries))
    ours = ours_file_mode(args.collector, [q.text for q in queries])
    checks.check("the file mode prints one fingerprint per query", len(ours) == len(queries),
                 f"{len(ours)} lines for {len(queries)} queries")
    if len(ours) != len(queries):
        checks.exit()

    agree, agree_embedded, deliberate = 0, 0, collections.Counter()
    for query, mine, theirs, theirs_embedded in zip(queries, ours, pt, pt_embedded):
        listed = differences.get(query.id)
        if listed is None:
            if mine == theirs:
                agree += 1
            elif mine == theirs_embedded:
                agree_embedded += 1
            else:
                checks.check(f"{query.id} (line {query.line}) agrees with pt-fingerprint", False,
                             f"\n    query: {query.text}\n    pt:    {theirs}\n    pt --match-embedded-numbers:"
                             f" {theirs_embedded}\n    ours:  {mine}")
            continue
        query_reasons, expected, line = listed
        unknown = [r for r in query_reasons if r not in reasons]
        checks.check(f"{query.id}: its reasons are explained", not unknown, ", ".join(unknown))
        checks.check(f"{query.id}: the listed fingerprint, for {', '.join(query_reasons)}",
                     mine == expected, f"\n    query:  {query.text}\n    listed: {expected}\n    ours:   {mine}")
        checks.check(f"{query.id}: still differs from pt-fingerprint (listed at line {line})",
                     expected not in (theirs, theirs_embedded),
                     f"pt gives {theirs!r} now; take it off the list")
        deliberate.update(query_reasons)
    known = {q.id for q in queries}
    stray = [i for i in differences if i not in known]
    checks.check("every listed difference names a query of the corpus", not stray, ", ".join(stray))
    h.log(f"pt-fingerprint agreement: {agree} as it is, {agree_embedded} as with "
          f"--match-embedded-numbers, {len(queries) - agree - agree_embedded} listed as deliberate "
          f"({', '.join(f'{r} {n}' for r, n in deliberate.most_common())}), of {len(queries)}")

    mismatched = [q.id for q, a, b in zip(queries, ours, single) if a != b]
    checks.check("--query prints what the file mode printed", not mismatched, ", ".join(mismatched))
    again = ours_file_mode(args.collector, ours)
    moved = [f"{q.id}: {a!r} -> {b!r}" for q, a, b in zip(queries, ours, again) if a != b]
    checks.check("each fingerprint is its own fingerprint", len(again) == len(ours) and not moved,
                 "; ".join(moved))
    checks.exit()


if __name__ == "__main__":
    main()
