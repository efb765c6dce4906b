#!/usr/bin/python3
"""mingus-collector's alert rules end to end: an alert goes pending then firing in
/api/v1/alerts and /api/v1/rules, ALERTS is queryable, a failing rule reports its error while
the others run, a bad rule file is refused at reload keeping the old rules, and alert state
survives kill -9: a pending alert fires on its original schedule and a firing one comes back
firing with the same activeAt, never pending again.

Usage: /usr/bin/python3 tests/integration/alerting_test.py --agent PATH --collector PATH
"""

import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

FOR_SECONDS = 12

RULES = f"""
groups:
  - name: demo
    interval: 1s
    rules:
      - record: demo:level:max
        expr: max(demo_level)
      - alert: LevelHigh
        expr: demo:level:max > 5
        for: {FOR_SECONDS}s
        labels: {{severity: high, category: performance}}
        annotations:
          summary: "level is {{{{ $value }}}}"
      - alert: Clash
        expr: demo_level
        labels: {{shard: same}}
"""


class Target:
    """A scrape target exposing demo_level on two series; set() changes the level."""

    def __init__(self):
        self.level = 1
        self.server = h.serve_metrics(
            lambda: f'demo_level{{shard="a"}} {self.level}\ndemo_level{{shard="b"}} 0\n'.encode())
        self.address = f"127.0.0.1:{self.server.server_address[1]}"


def api(collector, path):
    response = collector.get(path)
    body = json.loads(response.text())
    assert response.status == 200 and body["status"] == "success", (response.status, body)
    return body["data"]


def level_alerts(collector):
    return [a for a in api(collector, "/api/v1/alerts")["alerts"] if a["labels"]["alertname"] == "LevelHigh"]


def rules_by_name(collector):
    return {r["name"]: r for g in api(collector, "/api/v1/rules")["groups"] for r in g["rules"]}


def main():
    args = h.agent_arg_parser(__doc__).parse_args()
    checks = h.Checks()
    target = Target()
    with h.temp_dir() as tmp:
        rules = os.path.join(tmp, "rules", "demo.yml")
        os.makedirs(os.path.dirname(rules))
        h.write_file(rules, RULES)
        config = os.path.join(tmp, "collector.yaml")
        h.write_file(config, f"""
global: {{scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}}
storage: {{flush_interval: 1s}}
rule_files: ["rules/*.yml"]
scrape_configs:
  - job_name: demo
    static_configs: [{{targets: ["{target.address}"]}}]
""")
        store = os.path.join(tmp, "data")
        with h.start_collector(args.collector, config=config, storage_dir=store) as collector:
            def rules_are_loaded_and_evaluated():
                h.wait_until(lambda: rules_by_name(collector)["LevelHigh"]["health"] == "ok",
                             what="LevelHigh evaluated")
                group = api(collector, "/api/v1/rules")["groups"][0]
                assert group["name"] == "demo" and group["interval"] == 1, group
                assert group["file"].endswith("rules/demo.yml"), group
                rule = rules_by_name(collector)["LevelHigh"]
                assert rule["type"] == "alerting" and rule["duration"] == FOR_SECONDS, rule
                assert rule["labels"] == {"severity": "high", "category": "performance"}, rule
                assert rule["state"] == "inactive" and rule["alerts"] == [], rule
                record = rules_by_name(collector)["demo:level:max"]
                assert record["type"] == "recording" and "duration" not in record, record
                only_alerts = api(collector, "/api/v1/rules?type=alert")["groups"][0]["rules"]
                assert {r["type"] for r in only_alerts} == {"alerting"}, only_alerts
            checks.run("rule files from the glob load; /api/v1/rules in Prometheus' shape",
                       rules_are_loaded_and_evaluated)

            def failing_rule_reports_error_others_run():
                # The group may have run before the first scrape, when Clash had nothing to clash on.
                h.wait_until(lambda: rules_by_name(collector)["Clash"]["health"] == "err",
                             what="Clash evaluated over scraped data")
                clash = rules_by_name(collector)["Clash"]
                assert "same labelset after applying alert labels" in clash["lastError"], clash
                data = h.query(collector, "demo:level:max")
                assert float(data["result"][0]["value"][1]) == 1, data
            checks.run("a rule that fails reports its error in /api/v1/rules; the others run",
                       failing_rule_reports_error_others_run)

            target.level = 9

            def alert_goes_pending_with_template():
                alerts = h.wait_until(lambda: level_alerts(collector), what="LevelHigh pending")
                assert alerts[0]["state"] == "pending", alerts
                assert alerts[0]["annotations"] == {"summary": "level is 9"}, alerts
                assert alerts[0]["value"] == "9e+00", alerts
                assert alerts[0]["labels"] == {"alertname": "LevelHigh", "severity": "high",
                                               "category": "performance"}, alerts
                series = h.query(collector, 'ALERTS{alertname="LevelHigh"}')["result"]
                assert series and series[0]["metric"]["alertstate"] == "pending", series
            checks.run("the alert goes pending with its annotation expanded; ALERTS says so",
                       alert_goes_pending_with_template)

            # A restart half way through `for`: the clock must not start again.
            active_at = level_alerts(collector)[0]["activeAt"]
            active_at_seconds = time.mktime(time.strptime(active_at.split(".")[0].rstrip("Z"),
                                                          "%Y-%m-%dT%H:%M:%S")) - time.timezone
            time.sleep(max(0.0, active_at_seconds + FOR_SECONDS / 2 - time.time()))
            collector.proc.kill()
            collector.wait()

        with h.start_collector(args.collector, config=config, storage_dir=store) as collector:
            restarted = time.time()

            def pending_alert_fires_on_time_after_restart():
                alerts = h.wait_until(lambda: [a for a in level_alerts(collector) if a["state"] == "firing"],
                                      timeout=FOR_SECONDS + 30, what="LevelHigh firing")
                fired = time.time()
                assert alerts[0]["activeAt"] == active_at, (alerts, active_at)
                # Due at activeAt + for; a restarted clock would make it restarted + for.
                assert fired < restarted + FOR_SECONDS - 2, \
                    f"fired {fired - restarted:.1f}s after the restart, {fired - active_at_seconds:.1f}s after activeAt"
            checks.run("an alert pending for half its `for` at kill -9 fires on time after the restart",
                       pending_alert_fires_on_time_after_restart)
            time.sleep(1.5)  # let the firing state reach alerts.db
            collector.proc.kill()
            collector.wait()

        with h.start_collector(args.collector, config=config, storage_dir=store) as collector:
            def firing_alert_is_not_new_after_restart():
                def evaluated():
                    rule = rules_by_name(collector)["LevelHigh"]
                    return rule if rule["health"] == "ok" else None
                rule = h.wait_until(evaluated, what="LevelHigh evaluated after the restart")
                assert [a["state"] for a in rule["alerts"]] == ["firing"], rule
                assert rule["alerts"][0]["activeAt"] == active_at, rule
                pending = h.query(collector, 'ALERTS{alertname="LevelHigh",alertstate="pending"}')["result"]
                assert not pending, f"pending again after the restart: {pending}"
            checks.run("a firing alert comes back firing with its activeAt, never pending",
                       firing_alert_is_not_new_after_restart)

            def resolves_when_condition_clears():
                target.level = 1
                h.wait_until(lambda: not level_alerts(collector), what="LevelHigh resolved")
                series = h.query(collector, 'ALERTS{alertname="LevelHigh"}')["result"]
                assert not series, series
            checks.run("the alert resolves when the condition clears; ALERTS goes stale",
                       resolves_when_condition_clears)

            def bad_rule_file_is_refused_at_reload():
                h.write_file(rules, RULES + "      - alert: Broken\n        expr: rate(demo_level[5m]\n")
                collector.signal(signal.SIGHUP)
                collector.wait_for_line(r"reload refused.*rules/demo\.yml:\d+:\d+: groups\[0\]\.rules\[3\]\.expr: "
                                        r"could not parse expression")
                samples, _ = collector.metrics()
                refused = h.find_sample(samples, "mingus_collector_config_last_reload_successful")
                assert refused == 0, f"last_reload_successful {refused} after a refused reload"
                kept = set(rules_by_name(collector))
                assert kept == {"demo:level:max", "LevelHigh", "Clash"}, f"rules after it: {kept}"
                h.write_file(rules, RULES.replace("Clash", "Renamed"))
                collector.signal(signal.SIGHUP)
                h.wait_until(lambda: "Renamed" in rules_by_name(collector), what="the renamed rule")
                # The rules are swapped before the rest of the reload (dashboard, events, notify)
                # and the gauge comes last: under ThreadSanitizer a scrape fell in between.
                h.wait_until(lambda: h.find_sample(collector.metrics()[0],
                                                   "mingus_collector_config_last_reload_successful") == 1,
                             what="last_reload_successful back to 1")
            checks.run("a bad rule file is refused at SIGHUP with file, line and reason; old rules run on",
                       bad_rule_file_is_refused_at_reload)

            def rule_metrics_pass_promtool():
                samples = collector.promtool_clean_metrics()
                assert h.sample_value(samples, "mingus_collector_rule_group_evaluations_total",
                                      rule_group=rules + ";demo") > 0
            checks.run("rule evaluation self-metrics pass promtool", rule_metrics_pass_promtool)

            rc = collector.stop()
            checks.check("SIGTERM stops it cleanly", rc == 0, f"exit code {rc}")

        bad = os.path.join(tmp, "bad.yml")
        h.write_file(bad, "groups:\n  - name: x\n    rules:\n      - alert: A\n        expr: up\n        severity: 1\n")
        proc = h.Process([args.collector, "check-rules", rules, bad], name="check-rules")
        rc = proc.wait()
        checks.check("check-rules passes a good file and fails a bad one with its line",
                     rc == 1 and "SUCCESS: 3 rules found" in proc.output()
                     and "bad.yml:6:9: groups[0].rules[0].severity: unknown key" in proc.output(),
                     proc.output())
    target.server.shutdown()
    checks.exit()


if __name__ == "__main__":
    main()
