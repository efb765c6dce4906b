#!/usr/bin/env bash
# `make run`: starts two agents (two "hosts" of the app) and a collector with configs/ defaults,
# mingus-demo traffic into each agent, and a webhook receiver that prints the alerts; prints
# where to look, and stops everything on Ctrl-C.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build_dir=${1:-build}
[[ $build_dir == /* ]] || build_dir="$root/$build_dir"
data_dir="${DEMO_DATA_DIR:-$root/data/run}"
mkdir -p "$data_dir"
# Ports (tests set free ones): two agents' HTTP and UDP, the collector, the webhook receiver.
: "${DEMO_AGENT1_PORT:=9110}" "${DEMO_AGENT1_UDP:=8125}" "${DEMO_AGENT2_PORT:=9111}"
: "${DEMO_AGENT2_UDP:=8126}" "${DEMO_COLLECTOR_PORT:=9190}" "${DEMO_WEBHOOK_PORT:=9099}"
: "${DEMO_FLASK_PORT:=5000}"
declare -A agent_udp

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

# Two agents, as two hosts of the app would have, each fed by its own mingus-demo.
agent_urls=()
for i in 1 2; do
  web_port_var=DEMO_AGENT${i}_PORT udp_port_var=DEMO_AGENT${i}_UDP
  web="127.0.0.1:${!web_port_var}" udp="127.0.0.1:${!udp_port_var}"
  "$build_dir/agent/mingus-agent" --config.file="$root/configs/agent.yaml" \
    --web.listen-address="$web" --statsd.listen-udp="$udp" \
    --storage.path="$data_dir/agent$i" 2>"$data_dir/agent$i.log" &
  pids+=($!)
  wait_ready "mingus-agent $i" "http://$web" "$data_dir/agent$i.log"
  agent_urls+=("http://$web")
  agent_udp[$i]=$udp
done

# Alerts go to a local webhook receiver (configs/notify.yaml's default route), which prints them;
# the shipped email and Slack receivers hold placeholders, so the demo switches them off.
webhook="127.0.0.1:$DEMO_WEBHOOK_PORT"
/usr/bin/python3 "$root/scripts/webhook-receiver.py" "$DEMO_WEBHOOK_PORT" "$data_dir/webhook.log" &
pids+=($!)

# configs/ with the demo's addresses, a 5 s interval and a demo alert that fires fast.
collector_addr="127.0.0.1:$DEMO_COLLECTOR_PORT"
/usr/bin/python3 "$root/scripts/demo-config.py" "$data_dir/config" "$collector_addr" "$webhook" \
  "${agent_urls[@]#http://}"
ALERT_EMAIL_ENABLED=false ALERT_SLACK_ENABLED=false \
  "$build_dir/collector/mingus-collector" --config.file="$data_dir/config/collector.yaml" \
  --web.listen-address="$collector_addr" 2>"$data_dir/collector.log" &
pids+=($!)
collector_url="http://$collector_addr"
wait_ready mingus-collector "$collector_url" "$data_dir/collector.log"

# Demo traffic: what a busy app would send, through the C++ SDK (demo/mingus_demo.cpp).
for i in 1 2; do
  MINGUS_AGENT_ADDR="${agent_udp[$i]}" "$build_dir/demo/mingus-demo" --seed "$i" \
    >"$data_dir/demo$i.log" 2>&1 &
  pids+=($!)
done
# The Python SDK's example Flask app (client/python/examples) beside the second agent, with a
# few requests a second, so its routes show up by template (/users/<int:user_id>).
flask="127.0.0.1:$DEMO_FLASK_PORT"
MINGUS_AGENT_ADDR="${agent_udp[2]}" PYTHONPATH="$root/client/python" /usr/bin/python3 \
  "$root/client/python/examples/flask_app.py" --port "$DEMO_FLASK_PORT" >"$data_dir/flask.log" 2>&1 &
pids+=($!)
(
  while sleep 1; do
    for user in 1 2 3 9; do curl -fsS -o /dev/null "http://$flask/users/$user" 2>/dev/null || true; done
    curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' -d '{"user_ids": [1, 2, 9]}' \
      "http://$flask/scores" 2>/dev/null || true
  done
) &
pids+=($!)
# The C++ SDK's example program (client/cpp/examples) sends its events once.
MINGUS_AGENT_ADDR="${agent_udp[1]}" "$build_dir/client/cpp/mingus_client_example" \
  >"$data_dir/cpp-example.log" 2>&1 || echo "the C++ SDK example failed; see $data_dir/cpp-example.log" >&2

cat <<MSG

  Mingus Monitor is running.
    dashboard: $collector_url/
    collector: PromQL at $collector_url/api/v1/query?query=up (or add it to Grafana
               as a Prometheus data source; dashboards/ holds ours)
    agents:    ${agent_urls[0]}/ and ${agent_urls[1]}/ (metrics: .../metrics)
    intake:    udp://${agent_udp[1]}  (try: echo "demo.hits:1|c" | nc -u -w0 ${agent_udp[1]/:/ })
    alerts:    $collector_url/api/v1/alerts; MingusDemoSlowQueries fires within a minute and
               notifications are printed here as they arrive
               (webhook receiver on $webhook, log $data_dir/webhook.log)
    flask app: http://$flask/users/1 (the Python SDK's example, reporting to the second agent)
    logs:      $data_dir/agent1.log, agent2.log, collector.log, demo1.log, demo2.log, flask.log

  Press Ctrl-C to stop.
MSG
wait
