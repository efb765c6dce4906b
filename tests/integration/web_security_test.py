#!/usr/bin/python3
"""Web security (issue 12) with real clients: a CA and certificates made with the openssl CLI and
a bcrypt hash made with Python's bcrypt at test time, one web config file in exporter-toolkit's
format given to the agent and to node_exporter alike, then

- curl over TLS with the right password (200), a wrong one or none (401, WWW-Authenticate),
  and the configured headers present; plain HTTP on the TLS port refused;
- min_version: TLS13 refuses a TLS 1.2 client and serves a TLS 1.3 one;
- client_auth_type: RequireAndVerifyClientCert refuses a client without a certificate;
- a bad web config refused by both, ours naming the file and the key;
- the real Prometheus scraping the agent and node_exporter over TLS with basic auth (up == 1);
- the collector scraping and pulling events from an agent over TLS with basic auth, and from
  another behind a proxy that wants a bearer token, itself serving TLS with basic auth: its write
  endpoint /-/reload refused without credentials; and refusing to listen beyond loopback
  without basic_auth_users. No password or token ever appears in the daemons' logs.

Usage: /usr/bin/python3 tests/integration/web_security_test.py --agent PATH --collector PATH
"""

import http.server
import json
import os
import sqlite3
import ssl
import subprocess
import sys
import threading
import urllib.parse

import bcrypt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

USER = "alice"
PASSWORD = "correct-horse-battery"
TOKEN = "bearer-token-4711"
HEADERS = {"X-Frame-Options": "deny", "X-Content-Type-Options": "nosniff",
           "Strict-Transport-Security": "max-age=63072000"}


def make_pki(d):
    """ca.pem, server.pem (127.0.0.1 and localhost) and client.pem, each with its -key.pem."""
    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    def key(name):
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-out", f"{name}-key.pem")

    key("ca")
    openssl("req", "-x509", "-new", "-key", "ca-key.pem", "-subj", "/CN=web security test CA",
            "-days", "2", "-out", "ca.pem")
    for name, extensions in (("server", "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                        "extendedKeyUsage=serverAuth\n"),
                             ("client", "extendedKeyUsage=clientAuth\n")):
        key(name)
        openssl("req", "-new", "-key", f"{name}-key.pem", "-subj", f"/CN={name}",
                "-out", f"{name}.csr")
        h.write_file(os.path.join(d, f"{name}.ext"), extensions)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
                "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.pem")
    return {name: os.path.join(d, name) for name in
            ("ca.pem", "server.pem", "server-key.pem", "client.pem", "client-key.pem")}


def web_config(d, name, tls_extra="", users=True):
    """A web config beside the certificates, naming them relatively (exporter-toolkit takes them
    from the file's folder)."""
    password_hash = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(10)).decode()
    text = "tls_server_config:\n  cert_file: server.pem\n  key_file: server-key.pem\n"
    text += "".join(f"  {line}\n" for line in tls_extra.splitlines() if line)
    text += "http_server_config:\n  headers:\n"
    text += "".join(f"    {name}: {value}\n" for name, value in HEADERS.items())
    if users:
        text += f"basic_auth_users:\n  {USER}: {password_hash}\n"
    return h.write_file(os.path.join(d, name), text)


class Curl:
    """curl's verdict on one request: exit code, HTTP status, headers (lower-cased), body."""

    def __init__(self, url, *args, method="GET"):
        command = ["curl", "-sS", "--max-time", "10", "-X", method, "-D", "-",
                   "-w", "\n%{http_code}", *args, url]
        # Bytes: text mode would turn the headers' CRLF into LF.
        done = subprocess.run(command, capture_output=True, timeout=30)
        self.rc = done.returncode
        self.error = done.stderr.decode(errors="replace").strip()
        head, _, rest = done.stdout.decode(errors="replace").partition("\r\n\r\n")
        self.body, _, code = rest.rpartition("\n")
        self.status = int(code) if code.strip().isdigit() else 0
        self.headers = {}
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()

    def __repr__(self):
        return f"curl rc={self.rc} status={self.status} error={self.error!r}"


def trusted(pki, *extra):
    return ["--cacert", pki["ca.pem"], *extra]


def with_password(pki, password=PASSWORD):
    return trusted(pki, "-u", f"{USER}:{password}")


def start_node_exporter(config, pki, *ready_args):
    """node_exporter on a free port with --web.config.file, ready once curl gets a 200."""
    port = h.free_port()
    server = h.Server([h.NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{port}",
                       f"--web.config.file={config}", *h.NODE_EXPORTER_SAME_COLLECTORS],
                      name="node_exporter")
    server.base_url = f"https://127.0.0.1:{port}"
    try:
        h.wait_until(lambda: Curl(server.base_url + "/metrics", *ready_args).status == 200,
                     what="node_exporter to serve /metrics over TLS")
    except Exception:
        server.__exit__(None, None, None)
        raise
    return server


def check_basic_auth_and_headers(checks, name, server, pki):
    url = server.base_url + "/metrics"
    ok = Curl(url, *with_password(pki))
    checks.check(f"{name}: the right password gets 200 over TLS", ok.status == 200, repr(ok))
    checks.check(f"{name}: its /metrics has host metrics", "node_load1" in ok.body)
    for header, value in HEADERS.items():
        checks.check(f"{name}: {header} is set", ok.headers.get(header.lower()) == value,
                     f"{ok.headers}")
    for case, args in (("a wrong password", with_password(pki, "wrong")),
                       ("no credentials", trusted(pki))):
        refused = Curl(url, *args)
        checks.check(f"{name}: {case} gets 401 with WWW-Authenticate: Basic",
                     refused.status == 401
                     and refused.headers.get("www-authenticate", "").startswith("Basic"),
                     repr(refused))
    plain = Curl("http" + url[len("https"):], "-u", f"{USER}:{PASSWORD}")
    checks.check(f"{name}: plain HTTP on the TLS port gets no metrics",
                 plain.status != 200 and "node_load1" not in plain.body, repr(plain))
    untrusted = Curl(url, "-u", f"{USER}:{PASSWORD}")  # the system's CAs do not know ours
    checks.check(f"{name}: a client that does not trust the CA fails", untrusted.rc != 0,
                 repr(untrusted))


def check_tls13_only(checks, name, url, pki):
    old = Curl(url, *with_password(pki), "--tlsv1.2", "--tls-max", "1.2")
    checks.check(f"{name}: min_version TLS13 refuses TLS 1.2", old.rc != 0 and old.status == 0,
                 repr(old))
    new = Curl(url, *with_password(pki), "--tlsv1.3")
    checks.check(f"{name}: min_version TLS13 serves TLS 1.3", new.status == 200, repr(new))


def check_client_certificates(checks, name, url, pki):
    without = Curl(url, *with_password(pki))
    checks.check(f"{name}: RequireAndVerifyClientCert refuses a client without a certificate",
                 without.status != 200, repr(without))
    with_cert = Curl(url, *with_password(pki), "--cert", pki["client.pem"],
                     "--key", pki["client-key.pem"])
    checks.check(f"{name}: RequireAndVerifyClientCert serves a client with one",
                 with_cert.status == 200, repr(with_cert))


def agent_counter(agent, pki, name):
    metrics = Curl(agent.base_url + "/metrics", *with_password(pki))
    samples, _ = h.parse_exposition(metrics.body)
    return h.sample_value(samples, name)


class BearerProxy:
    """An HTTPS reverse proxy on 127.0.0.1 in front of a plain-HTTP agent that wants
    `Authorization: Bearer TOKEN`, as an authenticating proxy before an exporter would: 401
    otherwise. Records (path, authorized) of each request in .seen."""

    def __init__(self, upstream, pki):
        self.seen = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802
                authorized = self.headers.get("Authorization") == f"Bearer {TOKEN}"
                outer.seen.append((urllib.parse.urlsplit(self.path).path, authorized))
                if not authorized:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", "Bearer")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                response = h.http_get(upstream + self.path)
                self.send_response(response.status)
                for name in ("content-type", "x-mingus-last-cursor", "x-mingus-lost-events",
                             "x-mingus-spool-id"):
                    if name in response.headers:
                        self.send_header(name, response.headers[name])
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                self.wfile.write(response.body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(pki["server.pem"], pki["server-key.pem"])
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def stored_sessions(db_path):
    """The session ids of the engagement events in business_intelligence.db."""
    if not os.path.exists(db_path):
        return set()
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10) as db:
        return {row[0] for row in db.execute(
            "SELECT session_id FROM events WHERE type = 'engagement'")}


def send_events(agent, prefix, count):
    """`count` JSON events in one datagram; returns their session ids."""
    h.send_udp(agent.udp_address, ["\n".join(json.dumps(
        {"type": "engagement", "user_id": f"u{n}", "action": "login",
         "session_id": f"{prefix}-{n}", "usage_time": 1}) for n in range(count)).encode()])
    return {f"{prefix}-{n}" for n in range(count)}


def collector_query(collector, pki, promql):
    """The collector's /api/v1/query over TLS with basic auth: {job: value}."""
    answer = Curl(collector.base_url + "/api/v1/query?" + urllib.parse.urlencode(
        {"query": promql}), *with_password(pki))
    result = json.loads(answer.body)["data"]["result"]
    return {r["metric"].get("job"): float(r["value"][1]) for r in result}


def refused_at_start(argv, what):
    """Runs a daemon that should refuse to start: (exit code, its output)."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return None, f"{what} kept running"
    return done.returncode, done.stdout + done.stderr


def main():
    parser = h.agent_arg_parser(__doc__)
    args = parser.parse_args()
    checks = h.Checks()
    with h.temp_dir() as tmp:
        pki = make_pki(tmp)
        base = web_config(tmp, "web.yml")
        tls13 = web_config(tmp, "web-tls13.yml", "min_version: TLS13")
        mtls = web_config(tmp, "web-mtls.yml", "client_auth_type: RequireAndVerifyClientCert\n"
                                               "client_ca_file: ca.pem")
        bad = h.write_file(os.path.join(tmp, "web-bad.yml"),
                           open(base, encoding="utf-8").read().replace(
                               "  key_file:", "  key_fyle:"))
        client_cert = ("--cert", pki["client.pem"], "--key", pki["client-key.pem"])

        with h.start_agent(args.agent, f"--web.config.file={base}", "--log.level=debug") as agent, \
                start_node_exporter(base, pki, *with_password(pki)) as node:
            checks.check("the agent says it listens on https://",
                         agent.base_url.startswith("https://"), agent.base_url)
            for name, server in (("agent", agent), ("node_exporter", node)):
                check_basic_auth_and_headers(checks, name, server, pki)
            failures = agent_counter(agent, pki, "mingus_agent_http_auth_failures_total")
            checks.check("the agent counts the requests refused for credentials", failures >= 2,
                         f"{failures}")
            handshakes = agent_counter(agent, pki, "mingus_agent_http_tls_handshake_failures_total")
            checks.check("the agent counts the failed TLS handshakes", handshakes >= 2,
                         f"{handshakes}")

            prometheus_config = h.write_file(os.path.join(tmp, "prometheus.yml"), f"""
global: {{scrape_interval: 1s, scrape_timeout: 1s}}
scrape_configs:
""" + "".join(f"""  - job_name: {job}
    scheme: https
    tls_config: {{ca_file: {pki["ca.pem"]}}}
    basic_auth: {{username: {USER}, password: {PASSWORD}}}
    static_configs: [{{targets: ["{server.base_url[len("https://"):]}"]}}]
""" for job, server in (("agent", agent), ("node", node))))
            os.makedirs(os.path.join(tmp, "prometheus"))
            with h.start_prometheus(prometheus_config, os.path.join(tmp, "prometheus")) as prom:
                def both_up():
                    result = json.loads(prom.get("/api/v1/query?query=up").text())["data"]
                    up = {r["metric"]["job"]: r["value"][1] for r in result["result"]}
                    return up if up == {"agent": "1", "node": "1"} else None
                checks.run("Prometheus scrapes the agent and node_exporter over TLS with basic "
                           "auth (up == 1)",
                           lambda: h.wait_until(both_up, timeout=60, what="up == 1 for both"))

        for name, start in (("agent", lambda c, *ready: h.start_agent(
                                 args.agent, f"--web.config.file={c}")),
                            ("node_exporter", lambda c, *ready: start_node_exporter(
                                c, pki, *ready))):
            with start(tls13, *with_password(pki), "--tlsv1.3") as server:
                check_tls13_only(checks, name, server.base_url + "/metrics", pki)
            with start(mtls, *with_password(pki), *client_cert) as server:
                check_client_certificates(checks, name, server.base_url + "/metrics", pki)

        agent_rc, agent_output = refused_at_start(
            [os.path.abspath(args.agent), "--web.listen-address=127.0.0.1:0",
             f"--web.config.file={bad}", f"--storage.path={tmp}/bad-agent"], "the agent")
        checks.check("the agent refuses a bad web config naming the file and the key",
                     agent_rc == 2 and bad in agent_output
                     and "tls_server_config.key_fyle: unknown key" in agent_output, agent_output)
        node_rc, node_output = refused_at_start(
            [h.NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{h.free_port()}",
             f"--web.config.file={bad}"], "node_exporter")
        checks.check("node_exporter refuses the same bad web config", node_rc not in (None, 0),
                     node_output[-500:])

        if args.collector:
            check_collector(checks, args, tmp, pki, base)
    checks.exit()


def check_collector(checks, args, tmp, pki, base):
    h.write_file(os.path.join(tmp, "password"), PASSWORD + "\n")
    h.write_file(os.path.join(tmp, "token"), TOKEN + "\n")
    with h.start_agent(args.agent, f"--web.config.file={base}") as tls_agent, \
            h.start_agent(args.agent) as plain_agent:
        proxy = BearerProxy(plain_agent.base_url, pki)
        try:
            config = h.write_file(os.path.join(tmp, "collector.yaml"), f"""
global: {{scrape_interval: 1s, scrape_timeout: 1s}}
scrape_configs:
  - job_name: basic-auth
    scheme: https
    tls_config: {{ca_file: ca.pem}}
    basic_auth: {{username: {USER}, password_file: password}}
    static_configs: [{{targets: ["{tls_agent.base_url[len("https://"):]}"]}}]
  - job_name: bearer
    scheme: https
    tls_config: {{ca_file: ca.pem, server_name: localhost}}
    authorization: {{credentials_file: token}}
    static_configs: [{{targets: ["{proxy.address}"]}}]
events: {{jobs: [basic-auth, bearer], pull_interval: 1s}}
""")
            sent = send_events(tls_agent, "tls", 20) | send_events(plain_agent, "bearer", 20)
            storage = os.path.join(tmp, "collector")
            with h.start_collector(args.collector, f"--web.config.file={base}", config=config,
                                   storage_dir=storage) as collector:
                checks.run("the collector scrapes over TLS with basic auth and with a bearer "
                           "token (up == 1)",
                           lambda: h.wait_until(lambda: collector_query(collector, pki, "up") ==
                                                {"basic-auth": 1.0, "bearer": 1.0},
                                                timeout=60, what="up == 1 for both jobs"))
                db = os.path.join(storage, "business_intelligence.db")
                checks.run("the collector pulls both agents' events with the same credentials",
                           lambda: h.wait_until(lambda: sent <= stored_sessions(db), timeout=60,
                                                what="every event stored"))
                paths = {path for path, _ in proxy.seen}
                checks.check("the bearer token went with the scrapes and the event pulls",
                             {"/metrics", "/api/v1/events"} <= paths
                             and all(ok for _, ok in proxy.seen), f"{proxy.seen[:5]}")
                reload_url = collector.base_url + "/-/reload"
                refused = Curl(reload_url, *trusted(pki), method="POST")
                checks.check("the collector's /-/reload without credentials gets 401",
                             refused.status == 401, repr(refused))
                allowed = Curl(reload_url, *with_password(pki), method="POST")
                checks.check("the collector's /-/reload with them gets 200",
                             allowed.status == 200, repr(allowed))
                output = collector.output() + tls_agent.output()
                checks.check("no password or token in the logs",
                             PASSWORD not in output and TOKEN not in output)
        finally:
            proxy.close()
    rc, output = refused_at_start(
        [os.path.abspath(args.collector), "--web.listen-address=0.0.0.0:0",
         f"--storage.path={tmp}/open-collector"], "the collector")
    checks.check("the collector refuses to listen beyond loopback without basic_auth_users",
                 rc == 2 and "basic_auth_users" in output and "beyond loopback" in output, output)


if __name__ == "__main__":
    main()
