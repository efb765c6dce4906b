#!/usr/bin/python3
"""The collector's web dashboard in a real browser (issue 7, acceptance 2).

A real agent receives demo traffic; a real collector scrapes it every second and evaluates a
rule file whose alert cannot fire yet (its threshold is out of reach). tests/browser/dashboard.mjs
drives Debian's Chromium through playwright-core: it loads the page, checks that the tiles show
numbers and the charts draw, and says PAGE_READY; then this script lowers the threshold and
reloads the rules (POST /-/reload), and the page must show the alert firing without a reload.
Its silence button must create a silence (checked here through the API), the alert's text
(which carries HTML) must stay text, and no console error may occur. Screenshots at laptop and
phone widths go to --artifacts.

Usage: /usr/bin/python3 tests/integration/dashboard_browser_test.py --agent PATH --collector PATH
         --node PATH --browser-modules BUILD/tests/browser/node_modules --artifacts DIR
         [--chromium /usr/bin/chromium]
"""

import gzip
import json
import os
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import demo_traffic  # noqa: E402
import harness as h  # noqa: E402

SCRIPT = os.path.join(HERE, "..", "browser", "dashboard.mjs")
ALERT = "DashboardTraffic"
OUT_OF_REACH = "1e12"

# User data in labels and annotations: the page must show it as text.
RULES = """
groups:
  - name: dashboard
    interval: 1s
    rules:
      - alert: {alert}
        expr: sum(rate(mingus_api_requests_total[10s])) > {threshold}
        for: 0s
        labels: {{severity: critical, category: performance, team: "<b>ops</b>"}}
        annotations:
          summary: "<img src=x onerror=window.__xss=1> {{{{ $value }}}} requests/s"
          description: "<script>window.__xss=2</script> above {threshold} requests/s"
"""


def rules_text(threshold):
    return RULES.format(alert=ALERT, threshold=threshold)


def post(url, body=b""):
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"refusing non-loopback URL {url}")
    request = urllib.request.Request(url, data=body, method="POST")
    with urllib.request.urlopen(request, timeout=h.HTTP_TIMEOUT) as response:
        return response.status


def answers(collector, path):
    return collector.get(path).status == 200


def main():
    parser = h.agent_arg_parser(__doc__)
    parser.add_argument("--node", default="node")
    parser.add_argument("--browser-modules", required=True)
    parser.add_argument("--artifacts", required=True)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    checks = h.Checks()
    started = time.monotonic()
    os.makedirs(args.artifacts, exist_ok=True)

    with h.temp_dir() as tmp:
        rules = h.write_file(os.path.join(tmp, "rules.yml"), rules_text(OUT_OF_REACH))
        notify = h.write_file(os.path.join(tmp, "notify.yaml"),
                              "route: {receiver: nobody}\nreceivers: [{name: nobody}]\n")
        with h.start_agent(args.agent) as agent, \
                demo_traffic.start_in_background(agent.udp_address, rate=200, seed=7):
            config = h.write_file(os.path.join(tmp, "collector.yaml"), f"""
global: {{scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}}
rule_files: ["{rules}"]
alerting: {{notify_config_file: "{notify}"}}
scrape_configs:
  - job_name: mingus
    static_configs: [{{targets: ["{agent.base_url[len('http://'):]}"]}}]
events: {{jobs: [mingus], pull_interval: 1s}}
""")
            with h.start_collector(args.collector, config=config) as collector:
                def traffic_is_scraped():
                    data = h.query(collector, "sum(rate(mingus_api_requests_total[10s]))")
                    return data["result"] and float(data["result"][0]["value"][1]) > 0
                checks.run("the collector scrapes the agent's demo traffic",
                           lambda: h.wait_until(traffic_is_scraped, what="request rate > 0"))

                def page_and_assets_are_served():
                    page = collector.get("/")
                    assert page.status == 200, page.status
                    assert page.headers["content-type"] == "text/html; charset=utf-8", page.headers
                    assert "script-src 'self'" in page.headers["content-security-policy"], page.headers
                    assert b'src="/static/app.js"' in page.body, page.body[:300]
                    for path, kind in (("/static/app.js", "text/javascript"),
                                       ("/static/dashboard.css", "text/css"),
                                       ("/static/vendor/uPlot.iife.min.js", "text/javascript"),
                                       ("/static/vendor/uPlot.min.css", "text/css")):
                        plain = collector.get(path)
                        assert plain.status == 200 and plain.headers["content-type"].startswith(kind), \
                            (path, plain.status, plain.headers)
                        packed = collector.get(path, headers={"Accept-Encoding": "gzip"})
                        assert packed.headers.get("content-encoding") == "gzip", (path, packed.headers)
                        assert gzip.decompress(packed.body) == plain.body, path
                        again = collector.get(path, headers={"If-None-Match": plain.headers["etag"]})
                        assert again.status == 304 and again.body == b"", (path, again.status)
                    assert collector.get("/static/missing.js").status == 404
                checks.run("/ and /static/... serve the embedded page and uPlot (gzip, ETag, 304)",
                           page_and_assets_are_served)

                has_dashboard = answers(collector, "/api/monitoring/dashboard")
                has_silences = answers(collector, "/api/monitoring/silences")
                h.log(f"dashboard API: {'yes' if has_dashboard else 'not yet'}; "
                      f"silences: {'yes' if has_silences else 'no'}")

                argv = [args.node, SCRIPT, "--url", collector.base_url,
                        "--modules", args.browser_modules, "--alertname", ALERT,
                        "--out", args.artifacts, "--chromium", args.chromium,
                        "--timeout-ms", "100000"]
                if has_dashboard:
                    argv += ["--expect-tiles", "--expect-stream"]
                if has_silences:
                    argv.append("--expect-silences")
                browser = h.Process(argv, name="dashboard.mjs")
                with browser:
                    try:
                        browser.wait_for_line(r"^PAGE_READY$", timeout=60)
                    except (TimeoutError, RuntimeError) as e:
                        checks.check("the page loads and gets ready", False, str(e))
                    else:
                        h.write_file(rules, rules_text("0"))
                        checks.check("the rules reload with the threshold in reach",
                                     post(collector.base_url + "/-/reload") == 200)
                    rc = browser.wait(timeout=120)
                output = browser.output()
                for line in output.splitlines():
                    if line.startswith("PASS: "):
                        checks.check(line[6:], True)
                    elif line.startswith("FAIL: "):
                        name, _, detail = line[6:].partition(" -- ")
                        checks.check(name, False, detail)
                    elif line.startswith("SCREENSHOT "):
                        h.log(f"screenshot: {line.split(' ', 1)[1]}")
                    elif line.strip():
                        h.log(f"  browser: {line}")
                checks.check("the browser script exits 0", rc == 0, f"exit {rc}")

                def db_metrics_match_the_report():
                    samples = collector.promtool_clean_metrics()
                    counted = {dict(labels)["fingerprint_id"]: value for (name, labels), value
                               in samples.items() if name == "mingus_collector_db_queries_total"}
                    assert counted, "no mingus_collector_db_queries_total series"
                    assert len(counted) <= 20, len(counted)
                    report = json.loads(collector.get("/api/monitoring/db/report").text())
                    runs = {f["fingerprint_id"]: f["count"] for f in report["fingerprints"]}
                    # Counted at the first scrape; the report, later, may have more.
                    for fingerprint_id, value in counted.items():
                        assert fingerprint_id in runs and 0 < value <= runs[fingerprint_id], \
                            (fingerprint_id, value, runs.get(fingerprint_id))
                checks.run("the db events are counted per fingerprint on /metrics (promtool clean), "
                           "under the report's fingerprint ids", db_metrics_match_the_report)

                if has_silences:
                    def silence_is_active():
                        silences = json.loads(collector.get("/api/monitoring/silences").text())
                        mine = [s for s in silences if s["status"]["state"] == "active"
                                and {"name": "alertname", "value": ALERT, "isRegex": False,
                                     "isEqual": True} in s["matchers"]]
                        assert mine, silences
                        assert mine[0]["createdBy"] == "dashboard", mine
                        ids = [line.split()[1] for line in output.splitlines()
                               if line.startswith("SILENCE_ID ")]
                        assert ids and ids[0] == mine[0]["id"], (ids, mine)
                    checks.run("the silence made in the page is active in the API",
                               silence_is_active)
    h.log(f"took {time.monotonic() - started:.1f} s")
    checks.exit()


if __name__ == "__main__":
    main()
