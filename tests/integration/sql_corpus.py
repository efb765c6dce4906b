"""The SQL fingerprint corpus (tests/fixtures/sql/*.sql) and its allowlist of deliberate
differences from pt-fingerprint (tests/fixtures/sql/pt-fingerprint-differences.tsv), read for
tests/integration/fingerprint_test.py and tests/bench/fingerprint_vs_pt.py."""

import glob
import os
import re

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS_DIR = os.path.join(REPO, "tests", "fixtures", "sql")
DIFFERENCES = os.path.join(CORPUS_DIR, "pt-fingerprint-differences.tsv")
PT_FINGERPRINT = "/usr/bin/pt-fingerprint"

_NAME = re.compile(r"^-- name: (\S+)\s*$")


class Query:
    def __init__(self, dialect, name, text, line):
        self.dialect = dialect
        self.name = name
        self.text = text
        self.line = line

    @property
    def id(self):
        return f"{self.dialect}/{self.name}"


def read_file(path):
    """The queries of one corpus file: each starts at a line "-- name: ID" and runs to the next
    such line or the end of the file, blank lines at its end left out."""
    dialect = os.path.splitext(os.path.basename(path))[0]
    queries, name, lines, start = [], None, [], 0
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            m = _NAME.match(line)
            if m:
                if name is not None:
                    queries.append(Query(dialect, name, "".join(lines).rstrip(), start))
                name, lines, start = m.group(1), [], number + 1
            elif name is not None:
                lines.append(line)
    if name is not None:
        queries.append(Query(dialect, name, "".join(lines).rstrip(), start))
    return queries


def read_corpus():
    """Every query of every tests/fixtures/sql/*.sql file, in file order."""
    queries = []
    for path in sorted(glob.glob(os.path.join(CORPUS_DIR, "*.sql"))):
        queries += read_file(path)
    return queries


def pt_file_text(queries, repeat=1):
    """The queries in pt-fingerprint's file format: each followed by ";\\n"."""
    return "".join(q.text + ";\n" for q in queries) * repeat


def read_differences():
    """(reasons, entries): reason -> its explanation, from the '# reason NAME: text' lines (an
    explanation may go on over following '#   ' lines); query id -> (reasons, fingerprint, line)."""
    reasons, entries, last = {}, {}, None
    with open(DIFFERENCES, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n")
            m = re.match(r"^# reason ([\w-]+): (.*)$", line)
            if m:
                last = m.group(1)
                reasons[last] = m.group(2)
            elif last and re.match(r"^#\s{3,}\S", line):
                reasons[last] += " " + line.lstrip("# ")
            elif line.startswith("#") or not line.strip():
                last = None
            else:
                last = None
                fields = line.split("\t")
                if len(fields) != 3:
                    raise ValueError(f"{DIFFERENCES}:{number}: want 3 tab-separated fields, got {len(fields)}")
                entries[fields[0]] = (fields[1].split(","), fields[2], number)
    return reasons, entries
