#!/usr/bin/python3
"""mingus-collector end to end: it scrapes a real agent and a deliberately broken target,
answers the query API, passes promtool on its own /metrics, follows file_sd and reloads,
keeps its store across kill -9, and moves a corrupt store aside.

Usage: /usr/bin/python3 tests/integration/collector_test.py --agent PATH --collector PATH
"""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402


class BrokenTarget:
    """A scrape target on 127.0.0.1 whose /metrics is malformed on line 2."""

    def __init__(self):
        self.server = h.serve_metrics(lambda: b"good 1\nbad{ 2\n")
        self.address = f"127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()


def collector_config(path, agent_address, broken_address, sd_dir):
    h.write_file(path, f"""
global: {{scrape_interval: 1s, scrape_timeout: 1s}}
storage: {{flush_interval: 1s}}
scrape_configs:
  - job_name: agent
    static_configs: [{{targets: ["{agent_address}"], labels: {{team: web}}}}]
  - job_name: broken
    static_configs: [{{targets: ["{broken_address}"]}}]
  - job_name: discovered
    file_sd_configs: [{{files: ["{sd_dir}/*.json"], refresh_interval: 1m}}]
""")


def targets(collector):
    return json.loads(collector.get("/api/v1/targets").text())["data"]["activeTargets"]


def target_health(collector, job):
    return [t["health"] for t in targets(collector) if t["scrapePool"] == job]


def vector(collector, promql, **params):
    data = h.query(collector, promql, **params)
    return {tuple(sorted(r["metric"].items())): float(r["value"][1]) for r in data["result"]}


def main():
    args = h.agent_arg_parser(__doc__).parse_args()
    checks = h.Checks()
    broken = BrokenTarget()
    with h.temp_dir() as tmp, h.start_agent(args.agent) as agent:
        agent_address = agent.base_url.removeprefix("http://")
        sd_dir = os.path.join(tmp, "sd")
        os.makedirs(sd_dir)
        config = os.path.join(tmp, "collector.yaml")
        collector_config(config, agent_address, broken.address, sd_dir)
        store = os.path.join(tmp, "data")

        started = time.time()
        with h.start_collector(args.collector, config=config, storage_dir=store) as collector:
            def scrapes_agent():
                h.wait_until(lambda: target_health(collector, "agent") == ["up"], what="the agent target up")
                up = vector(collector, 'up{job="agent"}')
                key = (("__name__", "up"), ("instance", agent_address), ("job", "agent"), ("team", "web"))
                assert up == {key: 1.0}, up
                cpu = vector(collector, 'count(node_cpu_seconds_total{job="agent"})')
                assert cpu and list(cpu.values())[0] >= 1, cpu
            checks.run("scrapes the agent: up 1 with job, instance and group labels", scrapes_agent)

            def broken_target_is_down():
                h.wait_until(lambda: target_health(collector, "broken") == ["down"], what="the broken target down")
                error = [t["lastError"] for t in targets(collector) if t["scrapePool"] == "broken"][0]
                assert "line 2" in error, error
                collector.wait_for_line(r"level=warn .*scrape of http://%s/metrics \(job broken\) failed: line 2" % broken.address)
                assert vector(collector, 'up{job="broken"}') == {
                    (("__name__", "up"), ("instance", broken.address), ("job", "broken")): 0.0}
                assert target_health(collector, "agent") == ["up"]  # the rest unaffected
            checks.run("a malformed scrape body fails that target only, with line and reason", broken_target_is_down)

            def range_query_and_metadata():
                end = time.time()
                data = h.query(collector, 'up{job="agent"}', start=end - 30, end=end, step=1)
                assert data["resultType"] == "matrix" and data["result"][0]["values"], data
                labels = json.loads(collector.get("/api/v1/labels").text())["data"]
                assert {"__name__", "job", "instance", "team"} <= set(labels), labels
                jobs = json.loads(collector.get("/api/v1/label/job/values").text())["data"]
                assert {"agent", "broken"} <= set(jobs), jobs
                series = json.loads(collector.get('/api/v1/series?match[]=up').text())["data"]
                assert len(series) == 2, series
            checks.run("query_range, labels, label values and series answer", range_query_and_metadata)

            def bad_promql_is_400():
                response = collector.get("/api/v1/query?query=rate(up%5B5m%5D")
                body = json.loads(response.text())
                assert response.status == 400 and body["errorType"] == "bad_data", (response.status, body)
                assert "parse error" in body["error"], body
            checks.run("unparsable PromQL gets 400 with position and reason", bad_promql_is_400)

            def own_metrics_pass_promtool():
                samples = collector.promtool_clean_metrics()
                assert h.find_sample(samples, "mingus_collector_head_series") > 0
                assert h.sample_value(samples, "mingus_collector_scrapes_total", job="agent", result="success") > 0
            checks.run("its /metrics passes promtool check metrics", own_metrics_pass_promtool)

            def file_sd_adds_and_removes_targets():
                sd_file = os.path.join(sd_dir, "t.json")
                h.write_file(sd_file + ".tmp", json.dumps([{"targets": [agent_address], "labels": {"env": "sd"}}]))
                os.rename(sd_file + ".tmp", sd_file)
                h.wait_until(lambda: target_health(collector, "discovered") == ["up"], what="the discovered target up")
                assert vector(collector, 'up{job="discovered",env="sd"}')
                os.remove(sd_file)
                h.wait_until(lambda: target_health(collector, "discovered") == [], what="the target to go")
                # Its series end with a staleness marker: gone from an instant query at once.
                h.wait_until(lambda: not vector(collector, 'up{job="discovered"}'), what="up to be stale")
            checks.run("file_sd: a new file adds targets, a deleted one removes them (stale)",
                       file_sd_adds_and_removes_targets)

            def reload_applies_good_and_refuses_bad():
                with open(config) as f:
                    good = f.read()
                h.write_file(config, good.replace("  - job_name: broken\n", "  - job_name: broken2\n"))
                collector.signal(signal.SIGHUP)
                h.wait_until(lambda: target_health(collector, "broken2") != [], what="the renamed job")
                h.write_file(config, good + "\nbogus: 1\n")
                collector.signal(signal.SIGHUP)
                collector.wait_for_line(r"reload refused.*collector\.yaml:\d+:\d+: bogus: unknown key")
                samples, _ = collector.metrics()
                assert h.find_sample(samples, "mingus_collector_config_last_reload_successful") == 0
                assert target_health(collector, "broken2"), "kept the running configuration"
                h.write_file(config, good)
                collector.signal(signal.SIGHUP)
                h.wait_until(lambda: target_health(collector, "broken") != [], what="the first config back")
            checks.run("SIGHUP applies a good config and refuses a bad one, keeping the old",
                       reload_applies_good_and_refuses_bad)

            # For the restart check: data from before the crash, at a known time.
            time.sleep(max(0.0, started + 15 - time.time()))  # 15 s of data at least
            before = time.time()
            time.sleep(2.5)  # at least two flushes
            collector.proc.kill()  # kill -9: no shutdown flush
            collector.wait()

        with h.start_collector(args.collector, config=config, storage_dir=store) as collector:
            def data_survives_kill_9():
                # Every second of the 10 s before the crash has its sample.
                data = h.query(collector, 'count_over_time(up{job="agent"}[10s])', time=before)
                assert data["result"], "no data from before the crash"
                count = float(data["result"][0]["value"][1])
                assert count >= 9, f"only {count} samples in the 10 s before the crash\n{collector.output()}"
                assert collector.output().count("loaded ") == 1 and "loaded 0 series" not in collector.output()
            checks.run("restart after kill -9: earlier data is queryable", data_survives_kill_9)
            rc = collector.stop()
            checks.check("SIGTERM stops it cleanly", rc == 0, f"exit code {rc}")

        def corrupt_store_is_moved_aside():
            path = os.path.join(store, "performance_metrics.db")
            for suffix in ("-wal", "-shm"):
                if os.path.exists(path + suffix):
                    os.remove(path + suffix)
            with open(path, "wb") as f:
                f.write(b"this is not a database" * 500)
            with h.start_collector(args.collector, config=config, storage_dir=store) as collector:
                collector.wait_for_line(r"was corrupt: moved aside to .*performance_metrics\.db\.corrupt-\d+")
                assert h.query(collector, "1")["result"][1] == "1"
            aside = [f for f in os.listdir(store) if ".corrupt-" in f and not f.endswith(("-wal", "-shm"))]
            assert len(aside) == 1, os.listdir(store)
            with sqlite3.connect(path) as db:  # the new store is a working database
                db.execute("SELECT count(*) FROM series").fetchone()
        checks.run("a corrupt store is moved aside and a fresh one started", corrupt_store_is_moved_aside)

    def command_line():
        out = subprocess.run([args.collector, "--help"], capture_output=True, text=True, timeout=10)
        assert out.returncode == 0 and "--config.file" in out.stdout and "--storage.path" in out.stdout, out
        out = subprocess.run([args.collector, "--version"], capture_output=True, text=True, timeout=10)
        assert out.returncode == 0 and out.stdout.startswith("mingus-collector, version "), out
        out = subprocess.run([args.collector, "--no-such-flag"], capture_output=True, text=True, timeout=10)
        assert out.returncode == 2 and "no-such-flag" in out.stderr, out
        with h.temp_dir() as tmp:
            bad = h.write_file(os.path.join(tmp, "c.yaml"), "scrape_configs:\n  - job_name: a\n    scheme: ftp\n")
            out = subprocess.run([args.collector, f"--config.file={bad}"], capture_output=True, text=True, timeout=10)
            assert out.returncode == 2 and "c.yaml:3:" in out.stderr and "scheme" in out.stderr, out
    checks.run("--help, --version, a bad flag and a bad config exit as the agent does", command_line)
    broken.close()
    checks.exit()


if __name__ == "__main__":
    main()
