#!/usr/bin/python3
"""Notification templates: our engine held to Alertmanager's (amtool 0.25, Debian's
prometheus-alertmanager).

`amtool template render` renders a text over its built-in example data with the templates
matching a glob; `check_notify --template-render` renders the same text over the same data
(notify::AmtoolExampleData) with our engine.

PASS iff, for every text of the corpus below (the data model, the function map, define/template/
block, range over SortedPairs, .Alerts.Firing, Alertmanager's default template names):
- both render it, to the same bytes, where amtool's glob holds Alertmanager's own default.tmpl
  and a user file, and ours holds only the user file (our defaults are built in);
- or both refuse it (functions Alertmanager does not have, undefined templates, run-time
  errors).
Times are printed only through Format layouts that do not change within a run (the year, the
zone): amtool takes them from time.Now().

Usage: /usr/bin/python3 tests/integration/notify_template_test.py --check-notify build/tests/check_notify
"""

import argparse
import os
import shutil
import subprocess
import tempfile

import harness as h

AMTOOL = "/usr/bin/amtool"
AM_DEFAULT_TMPL = "/usr/share/prometheus/alertmanager/default.tmpl"
AM_EMAIL_TMPL = "/usr/share/prometheus/alertmanager/email.tmpl"
TIMEOUT = 60

# A team's template file: its own names, one of Alertmanager's defaults overridden, a block.
USER_TMPL = r"""{{ define "user.title" }}[{{ .Status | toUpper }}] {{ .GroupLabels.SortedPairs.Values | join " " }}{{ end }}
{{ define "user.alerts" }}{{ range .Alerts }}* {{ .Labels.SortedPairs.Values | join "/" }}
{{ range .Annotations.SortedPairs }}  {{ .Name }}: {{ .Value }}
{{ end }}{{ end }}{{ end }}
{{ define "user.nested" }}{{ template "user.title" . }} -- {{ template "__subject" . }}{{ end }}
{{ define "__alertmanager" }}Mingus{{ end }}
{{ define "user.block" }}{{ block "user.inner" .Receiver }}inner {{ . }}{{ end }}!{{ end }}
{{- define "user.trim" -}}
  {{- range $i, $a := .Alerts }}
    {{- if $i }}, {{ end }}{{ $a.Labels.instance }}
  {{- end -}}
{{- end }}
"""

# Texts both must render the same.
SAME = [
    "{{ .Receiver }}|{{ .Status }}|{{ .ExternalURL }}",
    "{{ range .Alerts }}{{ .Status }} {{ .GeneratorURL }} {{ .Fingerprint }};{{ end }}",
    "{{ .GroupLabels }} {{ .CommonLabels }} {{ .CommonAnnotations }}",
    "{{ range .CommonLabels.SortedPairs }}{{ .Name }}={{ .Value }},{{ end }}",
    "{{ .CommonLabels.Names }} {{ .CommonLabels.Values }} {{ .GroupLabels.SortedPairs }}",
    "{{ .CommonLabels.Remove .GroupLabels.Names }}",
    '{{ (.CommonLabels.Remove (stringSlice "commonlabelkey1")).Values | join "+" }}',
    "{{ len .Alerts }} {{ len .Alerts.Firing }} {{ len .Alerts.Resolved }} {{ .Alerts.Firing }}",
    '{{ range $i, $a := .Alerts }}{{ $i }}:{{ index $a.Labels "instance" }}:{{ $a.Labels.foo }};'
    "{{ end }}",
    '{{ index .CommonLabels "commonlabelkey1" }} [{{ .CommonLabels.nope }}]',
    '{{ toUpper .Receiver }} {{ toLower "ABC" }} {{ title "hello wide world" }}',
    '{{ join ", " (stringSlice "a" "b" "c") }} {{ stringSlice }}',
    '{{ match "^fing" (index .Alerts 0).Fingerprint }} '
    '{{ reReplaceAll "value(\\\\d)" "v$1" "value1 value2" }}',
    '{{ safeHtml "<b>" }} {{ html "<a>" }} {{ urlquery "a b&c" }} {{ js "it\'s" }}',
    '{{ if gt (len .Alerts) 1 }}many{{ else }}one{{ end }} '
    "{{ with .Alerts.Firing }}firing{{ else }}none{{ end }}",
    '{{ printf "%s has %d alerts" .Receiver (len .Alerts) }} {{ .Alerts | len | printf "%03d" }}',
    '{{ range .Alerts }}{{ range .Labels.SortedPairs }}{{ if eq .Name "instance" }}{{ continue }}'
    "{{ end }}{{ .Name }} {{ end }}{{ break }}{{ end }}",
    "{{ $x := .Receiver }}{{ range .Alerts }}{{ $x }}/{{ $.Status }} {{ end }}",
    "{{ range (index .Alerts 1).Annotations }}{{ . }} {{ end }}",
    "{{ .GroupLabels.SortedPairs.Names }} {{ .CommonAnnotations.SortedPairs.Values }}",
    # amtool's times are time.Now()-based: only the year and the (UTC) zone are stable.
    '{{ (index .Alerts 0).StartsAt.Format "2006 MST -0700 Z07:00 _2006" }}',
    '{{ template "__subject" . }}',
    '{{ template "__description" . }}|',
    '{{ template "__text_alert_list" .Alerts }}',
    '{{ template "__alertmanagerURL" . }}',
    '{{ template "slack.default.title" . }}',
    '{{ template "slack.default.username" . }}',
    '{{ template "slack.default.fallback" . }}',
    '{{ template "slack.default.titlelink" . }}',
    '{{ template "slack.default.text" . }}|{{ template "slack.default.pretext" . }}|'
    '{{ template "slack.default.iconemoji" . }}|{{ template "slack.default.footer" . }}',
    '{{ template "email.default.subject" . }}',
    '{{ template "user.title" . }}',
    '{{ template "user.alerts" . }}',
    '{{ template "user.nested" . }}',
    '{{ template "user.block" . }}|{{ template "user.inner" "x" }}',
    '{{ template "user.trim" . }}',
]

# Texts both must refuse.
BOTH_FAIL = [
    "{{ humanize 1 }}",
    '{{ query "up" }}',
    "{{ humanizeDuration 3 }}",
    '{{ date "2006" .Receiver }}',
    '{{ template "nope" . }}',
    "{{ index .Alerts 5 }}",
    "{{ .Receiver.Foo }}",
    '{{ .Receiver.Format "x" }}',
    "{{ (index .Alerts 0).StartsAt.Format 3 }}",
    "{{ $labels.job }}",
    "{{ if }}",
]


def run(argv):
    """(exit code, stdout, stderr)."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, "", f"cannot run {argv[0]}: {e}"
    return done.returncode, done.stdout, done.stderr


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check-notify", required=True, help="path to check_notify")
    parser.add_argument("--agent", help="unused (every integration test gets it)")
    args = parser.parse_args()
    checks = h.Checks()
    if not checks.check("amtool and Alertmanager's default.tmpl are installed",
                        os.access(AMTOOL, os.X_OK) and os.path.exists(AM_DEFAULT_TMPL),
                        "install prometheus-alertmanager (packaging/install-deps.sh)"):
        checks.exit()
    with tempfile.TemporaryDirectory(prefix="mingus-notify-tmpl-") as tmp:
        theirs_dir, ours_dir = os.path.join(tmp, "am"), os.path.join(tmp, "ours")
        os.makedirs(theirs_dir)
        os.makedirs(ours_dir)
        # default.tmpl and email.tmpl sort before user.tmpl: the user file's definitions win
        # in both.
        shutil.copy(AM_DEFAULT_TMPL, os.path.join(theirs_dir, "default.tmpl"))
        shutil.copy(AM_EMAIL_TMPL, os.path.join(theirs_dir, "email.tmpl"))
        h.write_file(os.path.join(theirs_dir, "user.tmpl"), USER_TMPL)
        h.write_file(os.path.join(ours_dir, "user.tmpl"), USER_TMPL)
        theirs_glob, ours_glob = os.path.join(theirs_dir, "*.tmpl"), os.path.join(ours_dir, "*.tmpl")

        def render(text):
            am = run([AMTOOL, "template", "render", "--template.glob=" + theirs_glob,
                      "--template.text=" + text])
            us = run([args.check_notify, "--template-render", ours_glob, text])
            return am, us

        for text in SAME:
            (am_rc, am_out, am_err), (rc, out, err) = render(text)
            checks.check(f"amtool renders {text!r}", am_rc == 0, am_err)
            checks.check(f"ours renders {text!r} as amtool", rc == 0 and out == am_out,
                         f"\n  amtool: {am_out!r}\n  ours:   {out!r} {err.strip()}")
        for text in BOTH_FAIL:
            (am_rc, am_out, am_err), (rc, out, err) = render(text)
            checks.check(f"amtool refuses {text!r}", am_rc not in (0, None), am_out)
            checks.check(f"ours refuses {text!r}", rc == 1 and "FAILED: template" in err,
                         out + err)
        checks.check(f"the corpus has at least 20 texts ({len(SAME)} + {len(BOTH_FAIL)})",
                     len(SAME) >= 20)

        # A template file that does not parse is refused with its name and line, by both.
        bad = os.path.join(tmp, "bad")
        os.makedirs(bad)
        h.write_file(os.path.join(bad, "bad.tmpl"), '{{ define "a" }}\n{{ humanize 1 }}{{ end }}')
        am_rc, _, am_err = run([AMTOOL, "template", "render", "--template.glob=" + bad + "/*.tmpl",
                                "--template.text=x"])
        rc, out, err = run([args.check_notify, "--template-render", bad + "/*.tmpl", "x"])
        checks.check("amtool refuses a template file that does not parse", am_rc not in (0, None),
                     am_err)
        checks.check("ours refuses it, naming file and line",
                     rc == 1 and "bad.tmpl:2:" in err and "humanize" in err, out + err)

        # In notify.yaml's templates: key, amtool check-config and our loader agree.
        for name, pattern, ok in (("a good templates file", "ours/*.tmpl", True),
                                  ("a templates file that does not parse", "bad/*.tmpl", False)):
            path = h.write_file(os.path.join(tmp, "notify.yaml"),
                                f"templates: ['{pattern}']\nroute: {{receiver: w}}\n"
                                "receivers: [{name: w}]\n")
            am_rc, am_out, am_err = run([AMTOOL, "check-config", path])
            rc, out, err = run([args.check_notify, path])
            checks.check(f"amtool check-config {'accepts' if ok else 'refuses'} {name}",
                         (am_rc == 0) == ok, am_out + am_err)
            checks.check(f"ours {'accepts' if ok else 'refuses'} {name}",
                         rc == 0 if ok else rc == 1 and "bad.tmpl:2:" in err, out + err)
    checks.exit()


if __name__ == "__main__":
    main()
