#!/usr/bin/python3
"""The shipped rule files and the rule unit-test corpus, through promtool (and our collector).

PASS iff
- `promtool check rules` passes on every configs/rules/*.yml, and refuses a broken file;
- `promtool test rules` passes on every tests/rules/*.test.yml;
- `promtool test rules` fails (non-zero exit) on every tests/rules/failing/*.test.yml, and
  its output names the alert that the file's `# expect-failure: NAME` comment names;
- the corpus holds at least MIN_CASES cases (alert_rule_test and promql_expr_test entries),
  and every shipped alerting rule has a case where it fires and one where it does not.

With --collector PATH, `PATH check-rules FILE...` and `PATH test-rules FILE...` are held to
the same expectations as promtool.

Usage: /usr/bin/python3 tests/integration/rules_test.py [--collector build/collector/mingus-collector]
"""

import argparse
import glob
import os
import re
import subprocess
import tempfile

import harness as h

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RULE_FILES = sorted(glob.glob(os.path.join(REPO, "configs", "rules", "*.yml")))
TEST_FILES = sorted(glob.glob(os.path.join(REPO, "tests", "rules", "*.test.yml")))
FAILING_FILES = sorted(glob.glob(os.path.join(REPO, "tests", "rules", "failing", "*.test.yml")))
MIN_CASES = 30
TOOL_TIMEOUT = 120  # seconds per run; the week-long business series take ~10 s in promtool

# A rule file promtool refuses: the expression does not parse.
BROKEN_RULE_FILE = """groups:
  - name: broken
    rules:
      - alert: Broken
        expr: rate(mingus_api_requests_total[5m] > 1
        labels: {severity: low, category: performance}
        annotations: {summary: broken}
"""


class Tool:
    """A rule checker with promtool's semantics: check_argv + FILES checks rule files,
    test_argv + FILES runs rule unit tests."""

    def __init__(self, name, check_argv, test_argv):
        self.name = name
        self.check_argv = check_argv
        self.test_argv = test_argv


def run(argv):
    """(exit code, stdout and stderr together). Runs from the repository root."""
    try:
        done = subprocess.run(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, timeout=TOOL_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        return None, out + f"\n(timed out after {TOOL_TIMEOUT} s)"
    except OSError as e:
        return None, f"cannot run {argv[0]}: {e}"
    return done.returncode, done.stdout


def rel(path):
    return os.path.relpath(path, REPO)


def indent(text):
    return "\n    " + "\n    ".join(text.rstrip("\n").splitlines())


def expect_success(checks, tool, argv, path):
    rc, out = run(argv + [path])
    checks.check(f"{tool.name}: {' '.join(os.path.basename(a) for a in argv[1:])} {rel(path)}",
                 rc == 0, f"exit {rc}, output:{indent(out)}")


def expect_failure(checks, tool, argv, path, names):
    rc, out = run(argv + [path])
    what = f"{tool.name}: {' '.join(os.path.basename(a) for a in argv[1:])} {rel(path)}"
    if not checks.check(f"{what} fails", rc not in (0, None), f"exit {rc}, output:{indent(out)}"):
        return
    missing = [n for n in names if n not in out]
    checks.check(f"{what} names the failing rule {', '.join(names)}", not missing,
                 f"{', '.join(missing)} not in the output:{indent(out)}")


def check_tool(checks, tool):
    for path in RULE_FILES:
        expect_success(checks, tool, tool.check_argv, path)
    with tempfile.TemporaryDirectory(prefix="mingus-rules-") as tmp:
        broken = h.write_file(os.path.join(tmp, "broken.yml"), BROKEN_RULE_FILE)
        rc, out = run(tool.check_argv + [broken])
        checks.check(f"{tool.name}: refuses a rule file with a bad expression",
                     rc not in (0, None), f"exit {rc}, output:{indent(out)}")
    for path in TEST_FILES:
        expect_success(checks, tool, tool.test_argv, path)
    for path in FAILING_FILES:
        expect_failure(checks, tool, tool.test_argv, path, expected_failures(path))


# ---------------------------------------------------------------------------- corpus shape
# A line-based reading of the files, enough for their shape (Debian's python3 has no YAML
# module by default): rules are `- alert: NAME` items; a test case is an item that starts with
# one of CASE_KEYS, and ends where the next item at its indentation or shallower starts.

CASE_KEYS = ("eval_time", "alertname", "exp_alerts", "expr")
_ITEM = re.compile(r"^(\s*)-\s+(\w+)\s*:(.*)$")
_ALERT = re.compile(r"^\s*-\s+alert\s*:\s*['\"]?([A-Za-z_:][\w:]*)")


def expected_failures(path):
    with open(path, encoding="utf-8") as f:
        return re.findall(r"^#\s*expect-failure:\s*(\S+)", f.read(), re.M)


def shipped_alerts():
    names = []
    for path in RULE_FILES:
        with open(path, encoding="utf-8") as f:
            names += [m.group(1) for m in map(_ALERT.match, f) if m]
    return names


def test_cases(path):
    """Each case of a test file as a list of its lines."""
    cases, current, depth = [], None, None
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            item = _ITEM.match(line)
            width = len(line) - len(line.lstrip())
            if current is not None and width <= depth and (item or width < depth):
                cases.append(current)
                current = None
            if current is None and item and item.group(2) in CASE_KEYS:
                current, depth = [], len(item.group(1))
            if current is not None:
                current.append(line)
    if current is not None:
        cases.append(current)
    return cases


def case_alert(lines):
    """(alertname, fires) of an alert_rule_test case; (None, None) for a promql_expr_test."""
    text = "".join(lines)
    name = re.search(r"^\s*(?:-\s+)?alertname\s*:\s*['\"]?([\w:]+)", text, re.M)
    if not name:
        return None, None
    empty = re.search(r"^\s*(?:-\s+)?exp_alerts\s*:\s*(\[\s*\])?\s*$", text, re.M)
    fires = bool(empty) and not empty.group(1)
    return name.group(1), fires


def check_corpus(checks):
    checks.check("there are rule files", bool(RULE_FILES), "none in configs/rules/")
    checks.check("there are rule tests", bool(TEST_FILES), "none in tests/rules/")
    checks.check("there is a deliberately failing rule test", bool(FAILING_FILES),
                 "none in tests/rules/failing/")
    for path in FAILING_FILES:
        checks.check(f"{rel(path)} names its failing rule (# expect-failure: NAME)",
                     bool(expected_failures(path)))
    cases = [c for path in TEST_FILES for c in test_cases(path)]
    h.log("cases: " + ", ".join(f"{rel(p)} {len(test_cases(p))}" for p in TEST_FILES))
    checks.check(f"at least {MIN_CASES} test cases", len(cases) >= MIN_CASES, f"{len(cases)}")
    firing, silent = set(), set()
    for case in cases:
        name, fires = case_alert(case)
        if name:
            (firing if fires else silent).add(name)
    for name in shipped_alerts():
        checks.check(f"{name} has a test where it fires", name in firing)
        checks.check(f"{name} has a test where it does not fire", name in silent)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--promtool", default=h.PROMTOOL, help="path to promtool")
    parser.add_argument("--collector", help="path to mingus-collector; also run its "
                        "check-rules and test-rules subcommands")
    args = parser.parse_args()
    tools = [Tool("promtool", [args.promtool, "check", "rules"], [args.promtool, "test", "rules"])]
    if args.collector:
        tools.append(Tool("mingus-collector", [args.collector, "check-rules"],
                          [args.collector, "test-rules"]))
    checks = h.Checks()
    check_corpus(checks)
    for tool in tools:
        check_tool(checks, tool)
    checks.exit()


if __name__ == "__main__":
    main()
