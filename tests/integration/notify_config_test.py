#!/usr/bin/python3
"""notify.yaml: our parser held to Alertmanager's own checker (amtool 0.25, Debian's
prometheus-alertmanager).

PASS iff
- `amtool check-config` and our parser (tests/support/check_notify_main.cpp) both accept the
  shipped configs/notify.yaml and a few other valid files;
- both refuse each of the broken files below, and ours names the file (and line where it can);
- for several label sets, our route tree sends the alert to the same receivers, in the same
  order, as `amtool config routes test`;
- the Alertmanager keys we do not support are accepted by amtool and refused by us with
  "KEY: not supported by mingus-collector";
- a secret never shows in our error messages or in the dump, and the ALERT_*_ENABLED
  switches turn receiver kinds off.

Usage: /usr/bin/python3 tests/integration/notify_config_test.py --check-notify build/tests/check_notify
"""

import argparse
import os
import subprocess
import tempfile

import harness as h

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHIPPED = os.path.join(REPO, "configs", "notify.yaml")
AMTOOL = "/usr/bin/amtool"
TIMEOUT = 60

R = "receivers: [{name: w}]\n"
SMTP = "global: {smtp_from: a@b.c, smtp_smarthost: 'localhost:25'}\n"


def receiver(body, head=""):
    return head + "route: {receiver: w}\nreceivers:\n- name: w\n  " + body + "\n"


def webhook_http(http_config):
    return receiver("webhook_configs: [{url: 'http://127.0.0.1:1/', http_config: "
                    + http_config + "}]")


# name -> file both must refuse (each checked with amtool 0.25 when written).
BAD = {
    "empty file": "",
    "no route": R,
    "undefined receiver": "route: {receiver: nope}\n" + R,
    "undefined receiver in a child route": "route: {receiver: w, routes: [{receiver: x}]}\n" + R,
    "root route without receiver": "route: {group_by: [a]}\n" + R,
    "root route with matchers": "route: {receiver: w, matchers: [a=b]}\n" + R,
    "root route with match": "route: {receiver: w, match: {a: b}}\n" + R,
    "continue on the root route": "route: {receiver: w, continue: true}\n" + R,
    "duplicate receiver names": "route: {receiver: w}\nreceivers: [{name: w}, {name: w}]\n",
    "receiver without name": "route: {receiver: w}\nreceivers: [{name: w}, {}]\n",
    "zero group_interval": "route: {receiver: w, group_interval: 0s}\n" + R,
    "zero repeat_interval": "route: {receiver: w, routes: [{repeat_interval: 0}]}\n" + R,
    "negative duration": "route: {receiver: w, group_wait: -1s}\n" + R,
    "fractional duration": "route: {receiver: w, group_wait: 1.5s}\n" + R,
    "misspelt key": "route: {receiver: w, group_wiat: 1m}\n" + R,
    "'...' with other labels": "route: {receiver: w, group_by: ['...', a]}\n" + R,
    "duplicate group_by label": "route: {receiver: w, group_by: [a, a]}\n" + R,
    "bad group_by label": "route: {receiver: w, group_by: [a-b]}\n" + R,
    "matcher with a stray quote": "route: {receiver: w, routes: [{matchers: ['a=\"b']}]}\n" + R,
    "matcher with a bad name": "route: {receiver: w, routes: [{matchers: ['1a=c']}]}\n" + R,
    "matchers as a string": "route: {receiver: w, routes: [{matchers: 'a=b'}]}\n" + R,
    "bad match_re regex": "route: {receiver: w, routes: [{match_re: {a: '('}}]}\n" + R,
    "bad match label name": "route: {receiver: w, routes: [{match: {a-b: c}}]}\n" + R,
    "bad inhibit equal label": "route: {receiver: w}\ninhibit_rules: [{equal: [a-b]}]\n" + R,
    "bad inhibit matcher":
        "route: {receiver: w}\ninhibit_rules: [{source_matchers: ['a=\"b']}]\n" + R,
    "email without to": receiver("email_configs: [{from: a@b, smarthost: 'h:25'}]"),
    "email without smarthost": receiver("email_configs: [{to: a@b, from: a@b}]"),
    "email without from": receiver("email_configs: [{to: a@b, smarthost: 'h:25'}]"),
    "smarthost without port": receiver("email_configs: [{to: a@b, from: a@b, smarthost: h}]"),
    "duplicate email header":
        receiver("email_configs: [{to: a, headers: {subject: a, Subject: b}}]", SMTP),
    "slack without URL": receiver("slack_configs: [{channel: '#x'}]"),
    "global slack URL twice":
        "global: {slack_api_url: 'http://x/', slack_api_url_file: /x}\n"
        "route: {receiver: w}\n" + R,
    "global SMTP password twice":
        "global: {smtp_auth_password: a, smtp_auth_password_file: /x}\n"
        "route: {receiver: w}\n" + R,
    "webhook without URL": receiver("webhook_configs: [{send_resolved: true}]"),
    "webhook ftp URL": receiver("webhook_configs: [{url: 'ftp://x/'}]"),
    "webhook URL without host": receiver("webhook_configs: [{url: 'http:///x'}]"),
    "bearer token and basic auth":
        webhook_http("{bearer_token: a, basic_auth: {username: u, password: p}}"),
    "authorization type basic": webhook_http("{authorization: {type: basic, credentials: x}}"),
    "authorization and bearer token":
        webhook_http("{authorization: {credentials: x}, bearer_token: y}"),
    "credentials twice": webhook_http("{authorization: {credentials: x, credentials_file: y}}"),
    "basic auth password twice":
        webhook_http("{basic_auth: {username: x, password: a, password_file: y}}"),
    "a key newer than 0.25": receiver("msteams_configs: [{webhook_url: 'http://x/'}]"),
    "quoted boolean": "global: {smtp_require_tls: \"true\"}\nroute: {receiver: w}\n" + R,
    "word that is no boolean": "route: {receiver: w, routes: [{continue: maybe}]}\n" + R,
}

# name -> another file both must accept.
GOOD = {
    "YAML 1.1 booleans": "global: {smtp_require_tls: NO}\n"
                         "route: {receiver: w, routes: [{continue: On}, {continue: n}]}\n" + R,
    "matcher edge cases": "route: {receiver: w, routes: [{matchers: ['foo=', 'b=\"x\\\\ny\"', "
                          "'{a=~\"x|y\", c!=d,}', 'foo==bar']}]}\n" + R,
    "empty sections": "global:\nroute: {receiver: w, routes: []}\ninhibit_rules: []\n"
                      "templates: ['tmpl/*.tmpl']\n" + R,
}

# name -> (file amtool accepts, the key we refuse as not supported).
UNSUPPORTED = {
    "pagerduty": (receiver("pagerduty_configs: [{routing_key: k}]"), "pagerduty_configs"),
    "telegram": (receiver("telegram_configs: [{chat_id: 1, bot_token: x}]"), "telegram_configs"),
    "time_intervals": ("time_intervals: [{name: x}]\nroute: {receiver: w}\n" + R,
                       "time_intervals"),
    "slack pretext": (receiver("slack_configs: [{api_url: 'https://h/x', pretext: p}]"),
                      "pretext"),
    "proxy_url": (webhook_http("{proxy_url: 'http://127.0.0.1:3128/'}"), "proxy_url"),
    "smtp_auth_secret": ("global: {smtp_auth_secret: x}\nroute: {receiver: w}\n" + R,
                         "smtp_auth_secret"),
}

# A tree whose routing amtool and we must agree on, and the label sets to try on it.
TREE = """route:
  receiver: root
  group_by: [alertname]
  routes:
  - receiver: crit
    matchers: ['severity="critical"']
    continue: true
  - receiver: team
    match_re: {team: 'a|b'}
    routes:
    - {receiver: teamdb, matchers: [service=db]}
    - {receiver: teamweb, match: {service: web}, continue: true}
    - {receiver: teamany, matchers: ['service=~".+"']}
  - receiver: other
    matchers: ['team!=""', 'team!~"x.*"']
receivers: [{name: root}, {name: crit}, {name: team}, {name: teamdb}, {name: teamweb},
            {name: teamany}, {name: other}]
"""
LABEL_SETS = [
    ["severity=critical"],
    ["severity=critical", "team=a"],
    ["team=a", "service=db"],
    ["team=b", "service=web"],
    ["team=b", "service=api"],
    ["team=ab"],
    ["team=c"],
    ["team=xyz"],
    ["x=y"],
    ["severity=critical", "team=b", "service=db"],
]

SECRET = "hunter2-SECRET"
FULL = f"""global:
  smtp_from: alerts@example.com
  smtp_smarthost: 'localhost:2525'
  smtp_auth_username: alerts
  smtp_auth_password_file: secrets/smtp
  slack_api_url_file: secrets/slack
route:
  receiver: hook
  group_by: ['...']
  routes:
  - {{matchers: ['severity="critical"'], receiver: page, continue: true, repeat_interval: 30m}}
inhibit_rules:
- {{source_match: {{severity: critical}}, target_match_re: {{severity: 'high|low'}}, equal: [a]}}
receivers:
- name: hook
  webhook_configs:
  - url: 'http://127.0.0.1:9099/x?token={SECRET}'
    max_alerts: 3
    http_config:
      authorization: {{credentials_file: secrets/token}}
      tls_config: {{ca_file: ca.pem, insecure_skip_verify: false}}
  - url: 'https://127.0.0.1:9443/'
    http_config: {{basic_auth: {{username: u, password: {SECRET}}}}}
- name: page
  email_configs: [{{to: oncall@example.com, headers: {{x-team: ops}}, require_tls: false}}]
  slack_configs: [{{channel: '#alerts', send_resolved: true}}]
"""


def run(argv, env=None):
    """(exit code, stdout, stderr)."""
    try:
        done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT,
                              check=False, env=env)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, "", f"cannot run {argv[0]}: {e}"
    return done.returncode, done.stdout, done.stderr


def amtool_check(path):
    return run([AMTOOL, "check-config", path])


def amtool_route(path, labels):
    rc, out, err = run([AMTOOL, "config", "routes", "test", "--config.file=" + path] + labels)
    return out.strip() if rc == 0 else f"exit {rc}: {err.strip()}"


def clean_env(**switches):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALERT_")}
    env.update(switches)
    return env


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check-notify", required=True, help="path to check_notify")
    parser.add_argument("--agent", help="unused (every integration test gets it)")
    args = parser.parse_args()
    ours = args.check_notify
    checks = h.Checks()
    if not checks.check("amtool is installed", os.access(AMTOOL, os.X_OK),
                        "install prometheus-alertmanager (packaging/install-deps.sh)"):
        checks.exit()

    def both_accept(name, path, env=None):
        rc, out, err = amtool_check(path)
        checks.check(f"amtool accepts {name}", rc == 0, out + err)
        rc, out, err = run([ours, path], env or clean_env())
        checks.check(f"ours accepts {name}", rc == 0 and out.startswith("SUCCESS"), out + err)
        return out

    both_accept("the shipped notify.yaml", SHIPPED)
    out = both_accept("the shipped notify.yaml with email and Slack off", SHIPPED,
                      clean_env(ALERT_EMAIL_ENABLED="false", ALERT_SLACK_ENABLED="0"))
    checks.check("the switches are reported", "email switched off" in out
                 and "slack switched off" in out and "webhook" not in out, out)
    for labels in (["severity=critical", "alertname=X"], ["severity=high"], ["alertname=Y"]):
        theirs, mine = amtool_route(SHIPPED, labels), run([ours, SHIPPED, "--route"] + labels)[1]
        checks.check(f"shipped file routes {' '.join(labels)} as amtool ({theirs})",
                     theirs == mine.strip(), f"ours: {mine.strip()}")

    with tempfile.TemporaryDirectory(prefix="mingus-notify-") as tmp:
        tree = h.write_file(os.path.join(tmp, "tree.yml"), TREE)
        both_accept("the routing tree", tree)
        for labels in LABEL_SETS:
            theirs = amtool_route(tree, labels)
            mine = run([ours, tree, "--route"] + labels)[1].strip()
            checks.check(f"routes {' '.join(labels)} as amtool ({theirs})", theirs == mine,
                         f"ours: {mine}")

        os.makedirs(os.path.join(tmp, "secrets"))
        for name, content in (("smtp", SECRET + "\n"), ("token", SECRET),
                              ("slack", f"https://hooks.slack.com/services/{SECRET}\n")):
            h.write_file(os.path.join(tmp, "secrets", name), content)
        h.write_file(os.path.join(tmp, "ca.pem"), "not checked here\n")
        full = h.write_file(os.path.join(tmp, "full.yml"), FULL)
        both_accept("a file with every supported notifier", full)
        rc, out, err = run([ours, full, "--dump"], clean_env())
        checks.check("the dump masks every secret", rc == 0 and SECRET not in out + err
                     and "<secret>" in out, out + err)
        os.remove(os.path.join(tmp, "secrets", "token"))
        rc, out, err = run([ours, full], clean_env())
        checks.check("a missing secret file is refused, naming it", rc == 1
                     and "secrets/token" in err and "full.yml:" in err, out + err)
        rc, out, err = run([ours, full], clean_env(ALERT_WEBHOOK_ENABLED="off"))
        checks.check("...but not read when webhooks are switched off", rc == 0, out + err)
        h.write_file(os.path.join(tmp, "secrets", "token"), SECRET)
        h.write_file(os.path.join(tmp, "secrets", "slack"), f"ftp://u:{SECRET}@h/\n")
        rc, out, err = run([ours, full], clean_env())
        checks.check("a bad URL in a secret file is refused without quoting it",
                     rc == 1 and "secrets/slack" in err and SECRET not in out + err, out + err)

        for name, text in GOOD.items():
            both_accept(name, h.write_file(os.path.join(tmp, "good.yml"), text))

        for name, text in BAD.items():
            path = h.write_file(os.path.join(tmp, "bad.yml"), text)
            rc, out, err = amtool_check(path)
            checks.check(f"amtool refuses: {name}", rc not in (0, None), out + err)
            rc, out, err = run([ours, path], clean_env())
            checks.check(f"ours refuses: {name}", rc == 1 and "bad.yml" in err, out + err)

        for name, (text, key) in UNSUPPORTED.items():
            path = h.write_file(os.path.join(tmp, "unsupported.yml"), text)
            rc, out, err = amtool_check(path)
            checks.check(f"amtool accepts {name}", rc == 0, out + err)
            rc, out, err = run([ours, path], clean_env())
            checks.check(f"ours refuses {name} as not supported", rc == 1
                         and f"{key}: not supported by mingus-collector" in err, out + err)
    checks.exit()


if __name__ == "__main__":
    main()
