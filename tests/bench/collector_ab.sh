#!/usr/bin/env bash
# A/B of two mingus-collector binaries on the same work at the same time, so that a shared
# machine's noise falls on both: 200 synthetic targets of 1 000 series scraped every 5 s by
# each; prints each one's CPU ticks (1/100 s) over WINDOW seconds after a 30 s warm-up, and RSS.
#   tests/bench/collector_ab.sh OLD_BINARY NEW_BINARY [WINDOW=180]
set -euo pipefail
old=$1 new=$2 window=${3:-180}
here="$(cd "$(dirname "$0")" && pwd)"
tmp=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT
/usr/bin/python3 "$here/synthetic_targets.py" 200 1000 >"$tmp/ports" &
pids+=($!)
until grep -q ready "$tmp/ports" 2>/dev/null; do sleep 0.5; done
targets=$(head -1 "$tmp/ports" | cut -d' ' -f2- | sed 's/\([0-9]*\)/"127.0.0.1:\1"/g; s/ /,/g')
printf 'global: {scrape_interval: 5s}\nscrape_configs:\n  - job_name: synthetic\n    static_configs: [{targets: [%s]}]\n' \
  "$targets" >"$tmp/collector.yaml"
for side in old new; do
  binary=${!side}
  "$binary" --config.file="$tmp/collector.yaml" --storage.path="$tmp/$side" \
    --web.listen-address=127.0.0.1:0 2>"$tmp/$side.log" &
  pids+=($!)
  eval "${side}_pid=$!"
done
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
sleep 30
old0=$(cpu "$old_pid") new0=$(cpu "$new_pid")
sleep "$window"
echo "old: $(( $(cpu "$old_pid") - old0 )) ticks, $(awk '/VmRSS/ {print $2}' /proc/$old_pid/status) kB RSS"
echo "new: $(( $(cpu "$new_pid") - new0 )) ticks, $(awk '/VmRSS/ {print $2}' /proc/$new_pid/status) kB RSS"
