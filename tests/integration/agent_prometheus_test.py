#!/usr/bin/python3
"""A real Prometheus (2.42) scrapes the agent.

Starts the agent, then Prometheus with a 1 s scrape interval and one job `mingus-agent`
targeting it, and polls Prometheus' /api/v1/query until `up{job="mingus-agent"}` is 1 and
`node_memory_MemTotal_bytes{job="mingus-agent"}` equals MemTotal from /proc/meminfo in
bytes (timeout 60 s). Both processes are stopped; the agent must exit 0.

Usage: /usr/bin/python3 tests/integration/agent_prometheus_test.py --agent build/agent/mingus-agent
"""

import json
import os
import urllib.parse

import harness as h

JOB = "mingus-agent"
TIMEOUT = 60.0

PROMETHEUS_YML = """\
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: {job}
    static_configs:
      - targets: ['{target}']
"""


def query(prom, expr):
    """Instant query; returns the result vector [(labels, float value), ...]."""
    resp = prom.get("/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    doc = json.loads(resp.body)
    if resp.status != 200 or doc.get("status") != "success":
        raise RuntimeError(f"query {expr!r}: HTTP {resp.status}: {resp.body[:300]!r}")
    return [(r["metric"], float(r["value"][1])) for r in doc["data"]["result"]]


def target_health(prom):
    """'health lastError' of our target, for the failure message."""
    try:
        doc = json.loads(prom.get("/api/v1/targets").body)
        return [(t["health"], t["lastError"]) for t in doc["data"]["activeTargets"]]
    except Exception as e:  # noqa: BLE001
        return repr(e)


def main():
    args = h.agent_arg_parser(__doc__.splitlines()[0]).parse_args()
    checks = h.Checks()
    mem_total = h.read_proc_meminfo_bytes("MemTotal")
    with h.temp_dir() as tmp, h.start_agent(args.agent) as agent:
        target = agent.base_url.removeprefix("http://")
        config = h.write_file(os.path.join(tmp, "prometheus.yml"),
                              PROMETHEUS_YML.format(job=JOB, target=target))
        tsdb = os.path.join(tmp, "tsdb")
        os.mkdir(tsdb)
        with h.start_prometheus(config, tsdb) as prom:
            h.log(f"agent {agent.base_url}, prometheus {prom.base_url}, MemTotal {mem_total}")
            seen = {}

            def scraped_ok():
                up = query(prom, f'up{{job="{JOB}"}}')
                mem = query(prom, f'node_memory_MemTotal_bytes{{job="{JOB}"}}')
                seen.update(up=up, mem=mem)
                return (len(up) == 1 and up[0][1] == 1
                        and len(mem) == 1 and mem[0][1] == mem_total)
            try:
                h.wait_until(scraped_ok, timeout=TIMEOUT, interval=0.5,
                             what="Prometheus to scrape the agent")
                checks.check(f'up{{job="{JOB}"}} == 1 and MemTotal == {mem_total}', True)
            except TimeoutError as e:
                checks.check(f'up{{job="{JOB}"}} == 1 and MemTotal == {mem_total}', False,
                             f"{e}; last results {seen}; targets {target_health(prom)}")
            checks.check("prometheus exits 0 on SIGTERM", prom.stop() == 0)
        checks.run("agent exits 0 on SIGTERM", lambda: h.stop_agent(agent))
    checks.exit()


if __name__ == "__main__":
    main()
