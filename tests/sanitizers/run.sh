#!/usr/bin/env bash
# Runs a test command with the sanitizers' options and fails it on any sanitizer report, from
# the test itself or from any process it started (an integration test's daemons, which may be
# killed, or report at exit, without the test noticing). Every instrumented process stops at its
# first report (halt_on_error, and UBSan is built with -fno-sanitize-recover) and writes the
# report into a scratch directory, which is checked once the command ends.
# usage: tests/sanitizers/run.sh COMMAND [ARG...]
set -uo pipefail
reports=$(mktemp -d)
trap 'rm -rf "$reports"' EXIT
common="halt_on_error=1:log_path=$reports/report:log_exe_name=1"
export ASAN_OPTIONS="$common:detect_leaks=1:detect_stack_use_after_return=1:strict_init_order=1"
export UBSAN_OPTIONS="$common:print_stacktrace=1"
export TSAN_OPTIONS="$common:second_deadlock_stack=1:suppressions=$(dirname "$0")/tsan.supp"
"$@"
status=$?
found=0
for report in "$reports"/report*; do
  [ -e "$report" ] || continue
  # The symbolizer's warning about names longer than its buffer (Beast's) goes to the same
  # file, also while matching a suppression: a file with nothing else in it is no report.
  grep -qv 'WARNING: Symbolizer buffer too small' "$report" || continue
  echo "==== sanitizer report ${report#"$reports/"}"
  cat "$report"
  found=1
done
[ "$found" = 0 ] || exit 1
exit "$status"
