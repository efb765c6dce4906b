#!/usr/bin/python3
"""`make run`'s demo end to end (issue 11, acceptance 1).

Runs scripts/run-demo.sh (what `make run` runs after building) on free ports in its own
process group, as a terminal would, then:
- the collector's dashboard API has data from both agents: /api/monitoring/system-health
  lists both demo hosts up, /api/monitoring/dashboard counts API requests and database
  queries, and the API metrics of both instances are queryable;
- the Python SDK's example Flask app, which the demo runs and calls, reports its requests to
  the second agent by route template;
- the local webhook receiver has logged a firing alert (MingusDemoSlowQueries) within the
  time the README promises (a minute, plus start-up);
- Ctrl-C (SIGINT to the process group) stops everything: the script exits, no process of
  the group is left, and every port the demo listened on is free again.

Usage: /usr/bin/python3 tests/integration/demo_test.py --agent A --build-dir build
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ALERT_DEADLINE = 90  # seconds from the collector's start; the README says within a minute


def get_json(url):
    with urllib.request.urlopen(url, timeout=h.HTTP_TIMEOUT) as response:
        return json.load(response)


def port_free(port, kind):
    """Nothing listens on it: a daemon restarted now could bind it (connections the demo closed
    may linger in TIME_WAIT, which SO_REUSEADDR allows, as our daemons set it)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def main():
    parser = h.agent_arg_parser(__doc__)
    parser.add_argument("--build-dir", required=True)
    args = parser.parse_args()
    checks = h.Checks()
    ports = {name: h.free_port() for name in
             ("DEMO_AGENT1_PORT", "DEMO_AGENT2_PORT", "DEMO_COLLECTOR_PORT", "DEMO_WEBHOOK_PORT",
              "DEMO_FLASK_PORT")}
    ports.update({name: h.free_port(socket.SOCK_DGRAM) for name in ("DEMO_AGENT1_UDP", "DEMO_AGENT2_UDP")})
    with h.temp_dir("mingus-demo-") as data_dir:
        env = dict(os.environ, DEMO_DATA_DIR=data_dir, **{k: str(v) for k, v in ports.items()})
        output = open(os.path.join(data_dir, "run-demo.out"), "w")
        started = time.monotonic()
        demo = subprocess.Popen(["bash", os.path.join(ROOT, "scripts/run-demo.sh"), os.path.abspath(args.build_dir)],
                                env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        collector = f"http://127.0.0.1:{ports['DEMO_COLLECTOR_PORT']}"
        instances = {f"127.0.0.1:{ports['DEMO_AGENT1_PORT']}", f"127.0.0.1:{ports['DEMO_AGENT2_PORT']}"}
        try:
            def both_hosts_up():
                health = get_json(f"{collector}/api/monitoring/system-health")
                return {host["instance"] for host in health["hosts"] if host["up"]} >= instances

            def dashboard_has_traffic():
                dashboard = get_json(f"{collector}/api/monitoring/dashboard")
                performance = dashboard["performance"]
                return (performance["api_performance"]["total_requests"] > 0 and
                        performance["database_performance"]["total_queries"] > 0)

            def api_metrics_from_both():
                promql = urllib.parse.quote("count by (instance) (mingus_api_requests_total)")
                result = get_json(f"{collector}/api/v1/query?query={promql}")["data"]["result"]
                return {r["metric"].get("instance") for r in result} >= instances

            def alert_delivered():
                log = os.path.join(data_dir, "webhook.log")
                if not os.path.exists(log):
                    return False
                with open(log) as f:
                    for line in f:
                        payload = json.loads(line)
                        if any(a["status"] == "firing" and a["labels"]["alertname"] == "MingusDemoSlowQueries"
                               for a in payload.get("alerts", [])):
                            return True
                return False

            def flask_routes_by_template():
                metrics = urllib.request.urlopen(
                    f"http://127.0.0.1:{ports['DEMO_AGENT2_PORT']}/metrics", timeout=h.HTTP_TIMEOUT).read()
                return b'endpoint="/users/<int:user_id>"' in metrics

            for name, predicate in (("system-health lists both agents up", both_hosts_up),
                                    ("the example Flask app's requests reach agent 2 by route template",
                                     flask_routes_by_template),
                                    ("the dashboard counts API requests and DB queries", dashboard_has_traffic),
                                    ("API metrics of both agents are queryable", api_metrics_from_both)):
                checks.run(name, lambda: h.wait_until(predicate, timeout=60, what=name))
            checks.run("the webhook receiver logged a firing alert",
                       lambda: h.wait_until(alert_delivered,
                                            timeout=max(1, ALERT_DEADLINE - (time.monotonic() - started)),
                                            what="a firing MingusDemoSlowQueries notification"))
        finally:
            os.killpg(demo.pid, signal.SIGINT)
            try:
                rc = demo.wait(timeout=30)
            except subprocess.TimeoutExpired:
                rc = None
                os.killpg(demo.pid, signal.SIGKILL)
            output.close()
        with open(os.path.join(data_dir, "run-demo.out")) as f:
            h.log(f.read())
        checks.check("Ctrl-C ends the demo", rc is not None, f"exit code {rc}")

        def group_gone():
            try:
                os.killpg(demo.pid, 0)
            except ProcessLookupError:
                return True
            return False
        checks.run("no process of the demo is left",
                   lambda: h.wait_until(group_gone, timeout=10, what="the demo's processes to end"))
        busy = [f"{name}={port}" for name, port in ports.items()
                if not port_free(port, socket.SOCK_DGRAM if name.endswith("UDP") else socket.SOCK_STREAM)]
        checks.check("every port of the demo is free again", not busy, ", ".join(busy))
    checks.exit()


if __name__ == "__main__":
    main()
