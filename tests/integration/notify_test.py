#!/usr/bin/python3
"""mingus-collector's notifications end to end, against real peers on 127.0.0.1: an alert that
fires is mailed through a real SMTP server (aiosmtpd, STARTTLS and AUTH), posted to an HTTPS
webhook (Alertmanager's v4 payload, bearer token) and to a Slack-style incoming webhook, and
forwarded to a real Alertmanager; a webhook that is down for a while gets the notification
when it returns; a notification queued when the collector is killed with kill -9 is delivered
after the restart, once.

Usage: /usr/bin/python3 tests/integration/notify_test.py --agent PATH --collector PATH
"""

import email
import email.policy
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import smtp_https_test as smtp  # noqa: E402

TOKEN = "hook-t0ken-4242"


class Receiver(h.RecordingServer):
    """A webhook receiver; posts() gives each POST's path, Authorization and parsed JSON."""

    def posts(self):
        return [{"path": r["path"], "authorization": r["headers"].get("Authorization"),
                 "json": json.loads(r["body"])} for r in self.requests]

    def for_alert(self, name, **labels):
        return [p["json"] for p in self.posts()
                if any(a["labels"].get("alertname") == name and all(a["labels"].get(k) == v for k, v in labels.items())
                       for a in p["json"].get("alerts", []))]


class Levels:
    """A scrape target exposing demo_level{shard} as set."""

    def __init__(self):
        self.levels = {"a": 1}
        self.server = h.serve_metrics(
            lambda: "".join(f'demo_level{{shard="{s}"}} {v}\n' for s, v in self.levels.items()).encode())
        self.address = f"127.0.0.1:{self.server.server_address[1]}"


RULES = """
groups:
  - name: demo
    interval: 1s
    rules:
      - alert: LevelHigh
        expr: demo_level > 5
        labels: {severity: critical, category: performance}
        annotations:
          summary: "level {{ $value }} on shard {{ $labels.shard }}"
"""


# The team's own Alertmanager templates (a second Slack config uses them): a templates: file, a
# title calling its definition, a text ranging over the firing alerts, and a username whose
# template fails at run time (the default is sent instead, and the failure logged).
TEAM_TMPL = """{{ define "team.title" -}}
{{ .Status | toUpper }} {{ .CommonLabels.alertname }} on {{ .GroupLabels.shard }} ({{ len .Alerts.Firing }} firing)
{{- end }}
"""


def notify_yaml(tmp, webhook, slack, smtp_server, cert):
    token_file = h.write_file(os.path.join(tmp, "token"), TOKEN + "\n")
    password_file = h.write_file(os.path.join(tmp, "smtp-password"), smtp.PASSWORD + "\n")
    h.write_file(os.path.join(tmp, "team.tmpl"), TEAM_TMPL)
    return f"""
templates: [team.tmpl]
global:
  smtp_from: alerts@mingus.test
  smtp_smarthost: {smtp_server.smarthost}
  smtp_auth_username: {smtp.USER}
  smtp_auth_password_file: {password_file}
route:
  receiver: everyone
  group_by: [alertname, shard]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: everyone
    webhook_configs:
      - url: https://127.0.0.1:{webhook.port}/hook
        http_config:
          authorization: {{credentials_file: {token_file}}}
          tls_config: {{ca_file: {cert}}}
    slack_configs:
      - api_url: http://127.0.0.1:{slack.port}/services/T000/B000/XXXX
        channel: "#alerts"
      - api_url: http://127.0.0.1:{slack.port}/services/custom
        title: '{{{{ template "team.title" . }}}}'
        text: '{{{{ range .Alerts.Firing }}}}{{{{ .Labels.shard }}}}: {{{{ .Annotations.summary }}}}{{{{ end }}}}'
        username: '{{{{ index .Alerts 9 }}}}'
    email_configs:
      - to: oncall@mingus.test, lead@mingus.test
        tls_config: {{ca_file: {cert}}}
"""


def main():
    args = h.agent_arg_parser(__doc__).parse_args()
    checks = h.Checks()
    target = Levels()
    with h.temp_dir() as tmp:
        cert, key = smtp.make_certificate(tmp)
        webhook, slack = Receiver(cert, key), Receiver()
        am_port = h.free_port()
        am_config = h.write_file(os.path.join(tmp, "alertmanager.yml"),
                                 "route: {receiver: nobody}\nreceivers: [{name: nobody}]\n")
        alertmanager = h.Process(["/usr/bin/prometheus-alertmanager", f"--config.file={am_config}",
                                  f"--storage.path={os.path.join(tmp, 'am')}",
                                  f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address="],
                                 name="alertmanager")
        with smtp.SmtpServer(tmp, "mail", cert, key) as mail, alertmanager:
            h.write_file(os.path.join(tmp, "rules.yml"), RULES)
            h.write_file(os.path.join(tmp, "notify.yaml"), notify_yaml(tmp, webhook, slack, mail, cert))
            config = h.write_file(os.path.join(tmp, "collector.yaml"), f"""
global: {{scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s, external_labels: {{site: lab}}}}
rule_files: [rules.yml]
alerting:
  external_url: http://collector.test:9190
  alertmanagers: ["http://127.0.0.1:{am_port}"]
scrape_configs:
  - job_name: demo
    static_configs: [{{targets: ["{target.address}"]}}]
""")
            store = os.path.join(tmp, "data")
            with h.start_collector(args.collector, config=config, storage_dir=store) as collector:
                target.levels["a"] = 9

                def webhook_gets_v4_payload():
                    payloads = h.wait_until(lambda: webhook.for_alert("LevelHigh", shard="a"), what="the webhook")
                    body = payloads[0]
                    assert webhook.posts()[0]["authorization"] == f"Bearer {TOKEN}", webhook.posts()[0]
                    assert body["version"] == "4" and body["status"] == "firing" and body["receiver"] == "everyone", body
                    assert body["groupLabels"] == {"alertname": "LevelHigh", "shard": "a"}, body
                    assert body["commonLabels"]["site"] == "lab", body  # external labels added
                    assert body["externalURL"] == "http://collector.test:9190", body
                    assert body["groupKey"] == '{}:{alertname="LevelHigh", shard="a"}', body
                    alert = body["alerts"][0]
                    assert set(alert) == {"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL",
                                          "fingerprint"}, alert
                    assert alert["annotations"] == {"summary": "level 9 on shard a"}, alert
                    assert alert["endsAt"] == "0001-01-01T00:00:00Z" and len(alert["fingerprint"]) == 16, alert
                    assert alert["generatorURL"].startswith("http://collector.test:9190/graph?g0.expr=demo_level"), alert
                checks.run("the HTTPS webhook gets Alertmanager's v4 payload with the bearer token",
                           webhook_gets_v4_payload)

                def slack_gets_incoming_webhook_message():
                    posts = h.wait_until(lambda: [p for p in slack.posts() if p["path"] != "/services/custom"],
                                         what="the slack post")
                    message = posts[0]["json"]
                    assert posts[0]["path"] == "/services/T000/B000/XXXX", posts[0]
                    assert message["channel"] == "#alerts" and message["username"] == "Alertmanager", message
                    attachment = message["attachments"][0]
                    # Alertmanager's default title: group label values, then the other common ones.
                    assert attachment["title"] == f"[FIRING:1] LevelHigh a (performance {target.address} demo critical lab)", \
                        attachment
                    assert attachment["color"] == "danger", attachment
                    assert "level 9 on shard a" in attachment["text"], attachment
                    assert attachment["title_link"].startswith("http://collector.test:9190/#/alerts"), attachment
                checks.run("Slack gets an incoming-webhook message: title, colour, text", slack_gets_incoming_webhook_message)

                def slack_custom_templates_render():
                    posts = h.wait_until(lambda: [p for p in slack.posts() if p["path"] == "/services/custom"],
                                         what="the custom slack post")
                    message = posts[0]["json"]
                    attachment = message["attachments"][0]
                    assert attachment["title"] == "FIRING LevelHigh on a (1 firing)", attachment
                    assert attachment["text"] == "a: level 9 on shard a", attachment
                    assert message["username"] == "Alertmanager", message  # the failed template's default
                    h.wait_until(lambda: "receiver everyone (slack[1]): template failed" in collector.output(),
                                 what="the template failure in the log")
                    assert "index out of range: 9" in collector.output()
                checks.run("Slack with the team's templates (templates: file, title, text) gets them rendered; "
                           "a failing one is logged and sent as the default", slack_custom_templates_render)

                def mail_arrives_over_starttls_with_auth():
                    mails = h.wait_until(mail.mails, what="the mail")
                    received = mails[0]
                    assert sorted(received["rcpt_tos"]) == ["lead@mingus.test", "oncall@mingus.test"], received
                    assert received["tls"] and received["auth_user"] == smtp.USER, received
                    message = email.message_from_string(received["data"], policy=email.policy.default)
                    assert message["Subject"] == f"[FIRING:1] LevelHigh a (performance {target.address} demo critical lab)", \
                        message["Subject"]
                    assert message["From"] == "alerts@mingus.test", message["From"]
                    body = message.get_body(("plain",)).get_content()
                    assert "level 9 on shard a" in body, body
                checks.run("the mail arrives over STARTTLS with AUTH: recipients, subject, body",
                           mail_arrives_over_starttls_with_auth)

                def forwarded_to_real_alertmanager():
                    def alerts():
                        response = h.http_get(f"http://127.0.0.1:{am_port}/api/v2/alerts")
                        return [a for a in json.loads(response.text()) if a["labels"].get("alertname") == "LevelHigh"]
                    found = h.wait_until(alerts, what="the alert in Alertmanager")
                    assert found[0]["labels"]["shard"] == "a" and found[0]["labels"]["site"] == "lab", found
                checks.run("alerts are forwarded to a real Alertmanager (POST /api/v2/alerts)",
                           forwarded_to_real_alertmanager)

                def down_receiver_gets_it_on_return():
                    webhook.down = True
                    target.levels["b"] = 7
                    h.wait_until(lambda: webhook.refused >= 2, what="the webhook to refuse twice")
                    webhook.down = False
                    h.wait_until(lambda: webhook.for_alert("LevelHigh", shard="b"), timeout=60,
                                 what="the notification after the webhook returned")
                    samples, _ = collector.metrics()
                    assert h.sample_value(samples, "mingus_collector_notifications_retried_total",
                                          receiver="everyone", integration="webhook[0]") >= 2
                checks.run("a webhook down for a while gets the notification when it returns",
                           down_receiver_gets_it_on_return)

                webhook.down = True
                target.levels["c"] = 8
                h.wait_until(lambda: webhook.refused >= 4, what="the shard c notification to be refused")
                collector.proc.kill()
                collector.wait()
            webhook.down = False

            with h.start_collector(args.collector, config=config, storage_dir=store) as collector:
                def queued_notification_survives_kill_9_once():
                    h.wait_until(lambda: webhook.for_alert("LevelHigh", shard="c"), timeout=60,
                                 what="the queued notification after the restart")
                    time.sleep(6)  # three group intervals: nothing is sent again
                    for shard in "abc":
                        count = len(webhook.for_alert("LevelHigh", shard=shard))
                        assert count == 1, f"shard {shard} notified {count} times: {webhook.posts()}"
                checks.run("kill -9 with a notification queued: delivered after the restart, nothing twice",
                           queued_notification_survives_kill_9_once)

                def own_metrics_pass_promtool():
                    samples = collector.promtool_clean_metrics()
                    assert h.sample_value(samples, "mingus_collector_notifications_sent_total",
                                          receiver="everyone", integration="webhook[0]") >= 1
                checks.run("notification self-metrics pass promtool", own_metrics_pass_promtool)
                secrets = [TOKEN, smtp.PASSWORD]
                leaked = [s for s in secrets if s in collector.output()]
                checks.check("no secret appears in the log", not leaked, f"leaked: {leaked}")
    checks.exit()


if __name__ == "__main__":
    main()
