#!/usr/bin/env bash
# `make run`: starts the agent with configs/ defaults (the collector and the demo traffic
# generator join here as they are built), prints where to look, and stops everything on Ctrl-C.
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

"$root/$build_dir/agent/mingus-agent" --config.file="$root/configs/agent.yaml" \
  --storage.path="$data_dir/agent" 2>"$data_dir/agent.log" &
pids+=($!)

agent_url="http://127.0.0.1:9110"
for _ in $(seq 1 50); do
  curl -fsS "$agent_url/-/ready" >/dev/null 2>&1 && break
  if ! kill -0 "${pids[0]}" 2>/dev/null; then
    echo "mingus-agent failed to start:" >&2
    cat "$data_dir/agent.log" >&2
    exit 1
  fi
  sleep 0.1
done

cat <<MSG

  Mingus Monitor is running.
    agent:   $agent_url/        (metrics: $agent_url/metrics)
    intake:  udp://127.0.0.1:8125  (try: echo "demo.hits:1|c" | nc -u -w0 127.0.0.1 8125)
    logs:    $data_dir/agent.log

  Press Ctrl-C to stop.
MSG
wait
