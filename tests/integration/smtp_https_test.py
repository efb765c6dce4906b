#!/usr/bin/python3
"""The notification clients against real peers on 127.0.0.1, through tests/support's
notify_client driver:

SMTP, against aiosmtpd (smtp_server.py) with STARTTLS required and AUTH PLAIN/LOGIN:
  - a mail with two recipients, a non-ASCII subject, text and html bodies and lines starting
    with '.' arrives whole: envelope, decoded Subject, both parts, dot lines intact; the
    session used TLS and authenticated as the test user;
  - a wrong password fails permanently (exit 3) naming "AUTH PLAIN: 535", without the password;
  - without the CA file the STARTTLS handshake fails (temporary) with "certificate verify
    failed"; with --insecure-skip-verify it is delivered;
  - our client told never to STARTTLS, against a server that requires it: permanent, "MAIL
    FROM <...>: 530";
  - a server offering no STARTTLS: refused (permanent) while TLS is required; with
    opportunistic TLS delivered in plain text, AUTH allowed because the host is loopback;
  - a rejected recipient: permanent, "RCPT TO <nobody@example.org>: 550";
  - implicit TLS on port 465 (when this machine lets us bind it);
  - nothing listening: temporary "connect"; a server that never greets: temporary "timed out".
HTTPS, against python's http.server wrapped in ssl, with a self-signed certificate:
  - POST with --ca-file: the server gets body, Content-Type and Authorization;
  - without the CA file: "TLS handshake: certificate verify failed (self-signed
    certificate)"; with --insecure-skip-verify: works; a wrong --server-name: "hostname
    mismatch"; https://localhost: resolved, SNI and the certificate's DNS name;
  - plain http:// POST works; a refused port is a "connect" failure; user info and secret
    paths never show in errors.
Certificates are made at test time with the openssl CLI.

Usage: /usr/bin/python3 tests/integration/smtp_https_test.py --agent A --notify-client B
"""

import email
import email.policy
import json
import os
import socket
import subprocess

import harness as h

HERE = os.path.dirname(os.path.abspath(__file__))
USER = "alert"
PASSWORD = "pw-Sekr1t-9876"
RUN_TIMEOUT = 30


def make_certificate(tmp):
    """A self-signed certificate for 127.0.0.1 and localhost; returns (cert, key)."""
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", "/CN=mingus notify test",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    return cert, key


class Client:
    """Runs notify_client; returns (exit code, stdout, stderr)."""

    def __init__(self, binary):
        self.binary = binary

    def __call__(self, *args):
        run = subprocess.run([self.binary, *args], capture_output=True, text=True,
                             timeout=RUN_TIMEOUT)
        return run.returncode, run.stdout, run.stderr


class SmtpServer:
    def __init__(self, tmp, name, cert, key, mode="starttls", port=None):
        self.port = port or h.free_port()
        self.out = os.path.join(tmp, f"{name}.jsonl")
        self.process = h.Process(["/usr/bin/python3", os.path.join(HERE, "smtp_server.py"),
                                  "--port", str(self.port), "--out", self.out, "--cert", cert,
                                  "--key", key, "--mode", mode, "--user", USER,
                                  "--password", PASSWORD], name=f"smtp {name}")
        self.process.wait_for_line(r"listening on")
        self.smarthost = f"127.0.0.1:{self.port}"

    def mails(self):
        if not os.path.exists(self.out):
            return []
        with open(self.out, encoding="utf-8") as f:
            return [json.loads(line) for line in f]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.process.stop()
        self.process.__exit__(*exc)


def smtp_args(server, *extra, to=("a@example.org",), subject="test", text="body"):
    args = ["smtp", "--smarthost", server.smarthost, "--from", "alertmanager@example.org",
            "--subject", subject, "--text", text, "--timeout-ms", "10000"]
    for address in to:
        args += ["--to", address]
    return args + list(extra)


def smtp_checks(checks, client, tmp, cert, key, password_file):
    auth = ["--username", USER, "--password-file", password_file]
    with SmtpServer(tmp, "starttls", cert, key) as server:
        def delivers_over_starttls_with_auth():
            subject = "[FIRING:2] Disk almost full \u2713 D\u00e9j\u00e0 vu"
            text = "Disk /data is 97% full.\n.\n..two dots\n.leading dot\nlast line"
            html = "<h1>Disk</h1>\n<p>97% full &amp; rising</p>"
            rc, out, err = client(*smtp_args(server, *auth, "--ca-file", cert, "--html", html,
                                             "--header", "X-Alert-Severity: critical",
                                             to=("ops@example.org", "oncall@example.org"),
                                             subject=subject, text=text))
            assert rc == 0, (rc, out, err)
            mails = server.mails()
            assert len(mails) == 1, mails
            mail = mails[0]
            assert mail["mail_from"] == "alertmanager@example.org", mail
            assert mail["rcpt_tos"] == ["ops@example.org", "oncall@example.org"], mail
            assert mail["tls"] is True, mail
            assert mail["auth_user"] == USER, mail
            message = email.message_from_string(mail["data"], policy=email.policy.default)
            assert message["Subject"] == subject, message["Subject"]
            assert message["To"] == "ops@example.org, oncall@example.org", message["To"]
            assert message["X-Alert-Severity"] == "critical"
            assert message["Date"] and message["Message-Id"], mail["data"][:400]
            assert message.get_content_type() == "multipart/alternative"
            parts = list(message.iter_parts())
            assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"], parts
            assert parts[0].get_content().replace("\r\n", "\n").rstrip("\n") == text, \
                repr(parts[0].get_content())
            assert parts[1].get_content().replace("\r\n", "\n").rstrip("\n") == html
            assert PASSWORD not in out + err
        checks.run("SMTP: STARTTLS + AUTH, recipients, subject, multipart body, dot lines",
                   delivers_over_starttls_with_auth)

        def wrong_password_is_permanent():
            wrong = h.write_file(os.path.join(tmp, "wrong"), "not-the-password\n")
            rc, _, err = client(*smtp_args(server, "--ca-file", cert, "--username", USER,
                                           "--password-file", wrong))
            assert rc == 3, (rc, err)
            assert f"permanent: smtp {server.smarthost}: AUTH PLAIN: 535" in err, err
            assert "not-the-password" not in err, err
        checks.run("SMTP: a wrong password fails permanently at AUTH PLAIN with 535",
                   wrong_password_is_permanent)

        def unverified_certificate():
            rc, _, err = client(*smtp_args(server, *auth))
            assert rc == 1, (rc, err)
            assert "temporary" in err and "TLS handshake: certificate verify failed" in err, err
            before = len(server.mails())
            rc, _, err = client(*smtp_args(server, *auth, "--insecure-skip-verify"))
            assert rc == 0 and len(server.mails()) == before + 1, (rc, err)
        checks.run("SMTP: a self-signed certificate fails without the CA file, passes when "
                   "verification is skipped", unverified_certificate)

        def never_starttls_against_required():
            rc, _, err = client(*smtp_args(server, "--starttls", "never"))
            assert rc == 3, (rc, err)
            assert "MAIL FROM <alertmanager@example.org>: 530" in err, err
        checks.run("SMTP: no STARTTLS against a server that requires it: permanent 530",
                   never_starttls_against_required)

        def rejected_recipient():
            rc, _, err = client(*smtp_args(server, *auth, "--ca-file", cert,
                                           to=("ops@example.org", "nobody@example.org")))
            assert rc == 3, (rc, err)
            assert "RCPT TO <nobody@example.org>: 550 5.1.1 no such user" in err, err
        checks.run("SMTP: a rejected recipient fails permanently naming it", rejected_recipient)

    with SmtpServer(tmp, "plain", cert, key, mode="plain") as server:
        def plain_server():
            rc, _, err = client(*smtp_args(server, *auth))
            assert rc == 3 and "STARTTLS: TLS is required" in err, (rc, err)
            assert server.mails() == []
            rc, _, err = client(*smtp_args(server, *auth, "--starttls", "opportunistic"))
            assert rc == 0, (rc, err)
            mail = server.mails()[-1]
            assert mail["tls"] is False and mail["auth_user"] == USER, mail
        checks.run("SMTP: no STARTTLS offered: refused while required; opportunistic sends "
                   "in plain text, AUTH allowed to loopback", plain_server)

    def implicit_tls():
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 465))
        except OSError as e:
            h.log(f"SKIP: port 465 cannot be bound here ({e}); implicit TLS not tested")
            return
        with SmtpServer(tmp, "smtps", cert, key, mode="smtps", port=465) as server:
            rc, _, err = client(*smtp_args(server, *auth, "--ca-file", cert))
            assert rc == 0, (rc, err)
            mail = server.mails()[-1]
            assert mail["tls"] is True and mail["auth_user"] == USER, mail
    checks.run("SMTP: implicit TLS on port 465", implicit_tls)

    def unreachable_and_silent():
        port = h.free_port()
        rc, _, err = client("smtp", "--smarthost", f"127.0.0.1:{port}", "--from", "a@x",
                            "--to", "b@x")
        assert rc == 1 and f"temporary: smtp 127.0.0.1:{port}: connect: " in err, (rc, err)
        with socket.socket() as silent:  # accepts (the backlog) but never greets
            silent.bind(("127.0.0.1", 0))
            silent.listen(4)
            host = "127.0.0.1:%d" % silent.getsockname()[1]
            rc, _, err = client("smtp", "--smarthost", host, "--from", "a@x", "--to", "b@x",
                                "--timeout-ms", "1000")
            assert rc == 1 and f"smtp {host}: greeting: timed out" in err, (rc, err)
    checks.run("SMTP: nothing listening, or a server that never greets: temporary",
               unreachable_and_silent)


def https_checks(checks, client, cert, key):
    server = h.RecordingServer(cert, key)
    url = f"https://127.0.0.1:{server.port}/hook"
    body = '{"receiver":"ops","status":"firing"}'
    try:
        def post_with_ca_file():
            rc, out, err = client("post", "--url", url, "--ca-file", cert, "--body", body,
                                  "--header", "Content-Type: application/json",
                                  "--header", "Authorization: Bearer t0ken")
            assert rc == 0 and out.startswith("status 200\n"), (rc, out, err)
            assert '{"ok":true}' in out, out
            request = server.requests[-1]
            assert request["path"] == "/hook" and request["body"] == body, request
            assert request["headers"]["Content-Type"] == "application/json", request
            assert request["headers"]["Authorization"] == "Bearer t0ken", request
        checks.run("HTTPS: POST verified against the CA file, body and headers arrive",
                   post_with_ca_file)

        def verification():
            rc, _, err = client("post", "--url", url, "--body", body,
                                "--header", "Authorization: Bearer t0ken")
            assert rc == 1, (rc, err)
            assert (f"POST {url}: TLS handshake: certificate verify failed "
                    "(self-signed certificate)") in err, err
            assert "t0ken" not in err, err
            rc, out, err = client("post", "--url", url, "--body", body, "--insecure-skip-verify")
            assert rc == 0 and out.startswith("status 200"), (rc, out, err)
            rc, _, err = client("post", "--url", url, "--ca-file", cert,
                                "--server-name", "wrong.example")
            assert rc == 1 and "certificate verify failed (hostname mismatch)" in err, err
            rc, out, err = client("post", "--url", f"https://localhost:{server.port}/dns",
                                  "--ca-file", cert)
            assert rc == 0 and server.requests[-1]["path"] == "/dns", (rc, out, err)
        checks.run("HTTPS: fails without the CA file (certificate verify failed), works with "
                   "insecure_skip_verify, checks the host name, resolves localhost",
                   verification)
    finally:
        server.close()

    plain = h.RecordingServer()
    try:
        def plain_http_and_errors():
            rc, out, err = client("post", "--url", f"http://127.0.0.1:{plain.port}/x",
                                  "--body", "{}")
            assert rc == 0 and out.startswith("status 200"), (rc, out, err)
            port = h.free_port()
            rc, _, err = client("post", "--url", f"https://bob:hunter22@127.0.0.1:{port}/T0/B0/XYZ",
                                "--secret-url", "--timeout-ms", "2000")
            assert rc == 1 and f"POST https://127.0.0.1:{port}/...: connect: " in err, err
            assert "hunter22" not in err and "XYZ" not in err, err
        checks.run("HTTP: plain POST; a refused port fails at connect; no user info or "
                   "secret path in errors", plain_http_and_errors)
    finally:
        plain.close()


def main():
    parser = h.agent_arg_parser(__doc__)
    parser.add_argument("--notify-client", required=True, help="path to notify_client")
    args = parser.parse_args()
    checks = h.Checks()
    client = Client(args.notify_client)
    with h.temp_dir() as tmp:
        cert, key = make_certificate(tmp)
        password_file = h.write_file(os.path.join(tmp, "password"), PASSWORD + "\n")
        smtp_checks(checks, client, tmp, cert, key, password_file)
        https_checks(checks, client, cert, key)
    checks.exit()


if __name__ == "__main__":
    main()
