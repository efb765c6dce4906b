#!/usr/bin/env bash
# `make run`: starts the agent and the collector with configs/ defaults and demo traffic into
# the agent, prints where to look, and stops everything on Ctrl-C.
set -euo pipefail
build_dir=${1:-build}
root="$(cd "$(dirname "$0")/.." && pwd)"
data_dir="$root/data/run"
mkdir -p "$data_dir"

pids=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "stopping..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "stopped"
}
trap stop INT TERM EXIT

# wait_ready NAME URL LOG: until URL/-/ready answers, or the process (the last started) dies.
wait_ready() {
  local name=$1 url=$2 log=$3 pid=${pids[-1]}
  for _ in $(seq 1 100); do
    curl -fsS "$url/-/ready" >/dev/null 2>&1 && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$name failed to start:" >&2
      cat "$log" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "$name did not become ready; see $log" >&2
  exit 1
}

"$root/$build_dir/agent/mingus-agent" --config.file="$root/configs/agent.yaml" \
  --storage.path="$data_dir/agent" 2>"$data_dir/agent.log" &
pids+=($!)
agent_url="http://127.0.0.1:9110"
wait_ready mingus-agent "$agent_url" "$data_dir/agent.log"

# Alerts go to a local webhook receiver (configs/notify.yaml's default route), which prints them;
# the shipped email and Slack receivers hold placeholders, so the demo switches them off.
/usr/bin/python3 "$root/scripts/webhook-receiver.py" 9099 "$data_dir/webhook.log" &
pids+=($!)

ALERT_EMAIL_ENABLED=false ALERT_SLACK_ENABLED=false \
  "$root/$build_dir/collector/mingus-collector" --config.file="$root/configs/collector.yaml" \
  --storage.path="$data_dir/collector" 2>"$data_dir/collector.log" &
pids+=($!)
collector_url="http://127.0.0.1:9190"
wait_ready mingus-collector "$collector_url" "$data_dir/collector.log"

# Demo traffic: what a busy app would send (tests/integration/demo_traffic.py, stdlib Python).
/usr/bin/python3 "$root/tests/integration/demo_traffic.py" --statsd 127.0.0.1:8125 &
pids+=($!)
# The C++ SDK's example program (client/cpp/examples) sends its events once.
MINGUS_AGENT_ADDR=127.0.0.1:8125 "$root/$build_dir/client/cpp/mingus_client_example" \
  >"$data_dir/cpp-example.log" 2>&1 || echo "the C++ SDK example failed; see $data_dir/cpp-example.log" >&2

cat <<MSG

  Mingus Monitor is running.
    dashboard: $collector_url/
    collector: PromQL at $collector_url/api/v1/query?query=up (or add it to Grafana
               as a Prometheus data source; dashboards/ holds ours)
    agent:     $agent_url/        (metrics: $agent_url/metrics)
    intake:    udp://127.0.0.1:8125  (try: echo "demo.hits:1|c" | nc -u -w0 127.0.0.1 8125)
    alerts:    $collector_url/api/v1/alerts; notifications are printed here as they arrive
               (webhook receiver on 127.0.0.1:9099, log $data_dir/webhook.log)
    logs:      $data_dir/agent.log, $data_dir/collector.log

  Press Ctrl-C to stop.
MSG
wait
