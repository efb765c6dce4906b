"""Shared helpers for the agent's integration tests and benchmarks.

Standard library only; run the scripts with Debian's /usr/bin/python3. Every process
started here listens on loopback only (127.0.0.1, or [::1] where a test asks for it), every
request goes to 127.0.0.1 and every datagram to a loopback address.
"""

import argparse
import contextlib
import http.client
import http.server
import ipaddress
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"
PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"
COLLECTD = "/usr/sbin/collectd"
NETDATA = "/usr/sbin/netdata"
# Debian's python3-scipy, unpacked there by packaging/install-deps.sh (it cannot be installed
# beside libboost1.81-dev; the script says why).
SCIPY_ROOT = "/opt/mingus-test/python3-scipy"

# The node_exporter collectors the agent mimics, and node_exporter's flags to run only those.
AGENT_COLLECTORS = ("cpu", "diskstats", "filesystem", "loadavg", "meminfo",
                    "netdev", "stat", "time", "uname")
NODE_EXPORTER_SAME_COLLECTORS = (["--collector.disable-defaults"]
                                 + ["--collector." + c for c in AGENT_COLLECTORS])

WAIT_TIMEOUT = 30.0   # seconds, for anything that should be quick
POLL_INTERVAL = 0.1
HTTP_TIMEOUT = 10.0

_LISTENING = re.compile(r'listening on https?://(127\.0\.0\.1:\d+)')
# Any IPv4 address, or an IPv6 one in brackets: udp://127.0.0.1:8125, udp://[::1]:8125.
_AGENT_UDP = re.compile(r'events on udp://((?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\]):\d+)')


# ---------------------------------------------------------------------------- utilities

def log(msg):
    print(msg, flush=True)


def scipy_stats():
    """Debian's scipy.stats, the independent reference for the reports' statistics."""
    site = os.path.join(SCIPY_ROOT, "usr/lib/python3/dist-packages")
    if not os.path.isdir(os.path.join(site, "scipy")):
        raise GiveUp(f"python3-scipy is not unpacked in {SCIPY_ROOT}: run packaging/install-deps.sh")
    if site not in sys.path:
        sys.path.append(site)
    import scipy.stats  # noqa: E402 (found only once the unpacked package is on the path)
    return scipy.stats

def free_port(kind=socket.SOCK_STREAM):
    """A TCP (or, with kind=socket.SOCK_DGRAM, UDP) port free on 127.0.0.1 right now (bind to
    port 0 and let the kernel choose)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class GiveUp(Exception):
    """Raised by a wait_until predicate when waiting longer is pointless."""


def wait_until(predicate, timeout=WAIT_TIMEOUT, interval=POLL_INTERVAL, what="condition"):
    """Poll predicate() until it returns a truthy value, which is returned. Exceptions
    raised by predicate count as 'not yet' (the last one is reported on timeout), except
    GiveUp, which is passed on at once."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except GiveUp:
            raise
        except Exception as e:  # noqa: BLE001 - any other failure means "not ready yet"
            last_error = e
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}{detail}")
        time.sleep(interval)


@contextlib.contextmanager
def temp_dir(prefix="mingus-it-"):
    with tempfile.TemporaryDirectory(prefix=prefix) as d:
        yield d


def write_file(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def read_proc_meminfo_bytes(field):
    """A /proc/meminfo field in bytes (kB fields are multiplied by 1024)."""
    with open("/proc/meminfo", encoding="ascii") as f:
        for line in f:
            key, rest = line.split(":", 1)
            if key == field:
                parts = rest.split()
                value = int(parts[0])
                return value * 1024 if len(parts) > 1 and parts[1] == "kB" else value
    raise KeyError(field)


def cpu_seconds(pid):
    """User plus system CPU seconds a process has used so far (utime+stime of /proc/PID/stat)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()  # the command name may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # fields 14, 15


# ---------------------------------------------------------------------------- UDP

def split_udp_address(address):
    """'127.0.0.1:8125' or '[::1]:8125' -> (host, port, socket family). Loopback only."""
    host, _, port = address.rpartition(":")
    host = host[1:-1] if host.startswith("[") else host
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"refusing non-loopback UDP address {address}")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return host, int(port), family


def send_udp(address, datagrams):
    """Send each datagram (bytes) from one socket, in order, to a loopback address as the
    agent logs it. Returns how many were sent."""
    host, port, family = split_udp_address(address)
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        for datagram in datagrams:
            s.sendto(datagram, (host, port))
    return len(datagrams)


def send_lines(address, lines, per_datagram=20):
    """Send text lines (StatsD lines, JSON events), per_datagram to a datagram, paced so that
    loopback drops none."""
    datagrams = ["\n".join(lines[i:i + per_datagram]).encode()
                 for i in range(0, len(lines), per_datagram)]
    for i in range(0, len(datagrams), 25):
        send_udp(address, datagrams[i:i + 25])
        time.sleep(0.005)


def udp_socket_drops(port):
    """Datagrams the kernel dropped for lack of buffer room on the UDP sockets bound to port
    (the `drops` column of /proc/net/udp and udp6, summed; live sockets only)."""
    drops, suffix = 0, f":{port:04X}"
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        with open(table, encoding="ascii") as f:
            next(f)  # header
            for line in f:
                fields = line.split()
                if len(fields) >= 13 and fields[1].endswith(suffix):
                    drops += int(fields[12])
    return drops


# ---------------------------------------------------------------------------- HTTP

def serve_metrics(render):
    """A scrape target on 127.0.0.1 (a free port) whose GET /metrics answers render() (bytes),
    served from a daemon thread; returns the server (port: server.server_address[1])."""
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # noqa: N802
            if self.path != "/metrics":
                self.send_error(404)
                return
            body = render()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class RecordingServer:
    """An HTTP server on 127.0.0.1 (HTTPS when given a certificate and key) recording each POST
    as {"path", "headers", "body"} in .requests; while .down it answers 503 (counted in
    .refused) instead. close() stops it."""

    def __init__(self, cert=None, key=None):
        self.requests = []
        self.down = False
        self.refused = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if outer.down:
                    outer.refused += 1
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                outer.requests.append({"path": self.path, "headers": dict(self.headers),
                                       "body": body.decode()})
                reply = b'{"ok":true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if cert:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert, key)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-cased names
        self.body = body

    def text(self):
        return self.body.decode("utf-8")


def http_get(url, headers=None, timeout=HTTP_TIMEOUT):
    """GET url (must be http://127.0.0.1...). Returns a Response for any status."""
    parts = urllib.parse.urlsplit(url)
    if parts.hostname != "127.0.0.1":
        raise ValueError(f"refusing non-loopback URL {url}")
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        body = resp.read()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, body)
    finally:
        conn.close()


def fetch_metrics(base_url, headers=None):
    resp = http_get(base_url + "/metrics", headers=headers)
    if resp.status != 200:
        raise RuntimeError(f"GET {base_url}/metrics: HTTP {resp.status}: {resp.body[:200]!r}")
    return resp.text()


# ---------------------------------------------------------------------------- exposition

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)(?:\s+(-?\d+))?\s*$')
_LABEL_NAME = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"')
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}


def _parse_labels(text, lineno):
    """'{a="1",b="x\\"y"}' -> {"a": "1", "b": 'x"y'}"""
    labels = {}
    body, pos = text[1:-1], 0
    while pos < len(body):
        m = _LABEL_NAME.match(body, pos)
        if not m:
            if body[pos:].strip() in ("", ","):
                break
            raise ValueError(f"line {lineno}: bad label syntax near {body[pos:]!r}")
        name, pos, value = m.group(1), m.end(), []
        while True:
            if pos >= len(body):
                raise ValueError(f"line {lineno}: unterminated label value for {name}")
            ch = body[pos]
            if ch == "\\":
                esc = body[pos + 1:pos + 2]
                if esc not in _ESCAPES:
                    raise ValueError(f"line {lineno}: bad escape \\{esc} in label {name}")
                value.append(_ESCAPES[esc])
                pos += 2
            elif ch == '"':
                pos += 1
                break
            else:
                value.append(ch)
                pos += 1
        if name in labels:
            raise ValueError(f"line {lineno}: duplicate label {name}")
        labels[name] = "".join(value)
        rest = body[pos:].lstrip()
        if rest.startswith(","):
            pos = len(body) - len(rest) + 1
        elif rest:
            raise ValueError(f"line {lineno}: expected ',' after label {name}, got {rest!r}")
        else:
            break
    return labels


def parse_exposition(text):
    """Parse Prometheus text format 0.0.4.

    Returns (samples, types): samples maps (name, frozenset(labels.items())) -> float,
    types maps a family name (from '# TYPE') -> type string. Raises ValueError on syntax
    errors and on duplicate series.
    """
    samples, types = {}, {}
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 4 and parts[1] == "TYPE":
                if parts[2] in types:
                    raise ValueError(f"line {lineno}: second TYPE line for {parts[2]}")
                types[parts[2]] = parts[3].strip()
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise ValueError(f"line {lineno}: not a sample: {line!r}")
        name, label_text, value_text = m.group(1), m.group(2), m.group(3)
        labels = _parse_labels(label_text, lineno) if label_text else {}
        try:
            value = float(value_text)  # accepts NaN, +Inf, -Inf
        except ValueError:
            raise ValueError(f"line {lineno}: bad value {value_text!r}") from None
        key = (name, frozenset(labels.items()))
        if key in samples:
            raise ValueError(f"line {lineno}: duplicate series {format_series(key)}")
        samples[key] = value
    return samples, types


def format_series(key):
    name, labels = key
    if not labels:
        return name
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels))
    return f"{name}{{{inner}}}"


def find_sample(samples, name, **labels):
    """Value of the series name{labels} (exact label set), or None."""
    return samples.get((name, frozenset(labels.items())))


def sample_value(samples, name, default=0, **labels):
    """Value of the series name{labels}, or default when it is not there (counters that
    have not moved yet)."""
    value = find_sample(samples, name, **labels)
    return default if value is None else value


def names_in(samples):
    return {name for name, _ in samples}


def promtool_check_metrics(text):
    """Run `promtool check metrics` on text; return its finding lines (empty when clean)."""
    proc = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode("utf-8"),
                          capture_output=True, timeout=60)
    out = (proc.stdout + proc.stderr).decode("utf-8", "replace")
    findings = [line.strip() for line in out.splitlines() if line.strip()]
    if proc.returncode != 0 and not findings:
        findings = [f"promtool exited {proc.returncode} without output"]
    return findings


# ---------------------------------------------------------------------------- processes

class Process:
    """A child process whose stderr is drained by a thread (so the pipe never fills) and
    kept in memory, stdout likewise. Use as a context manager: leaving the block stops it."""

    def __init__(self, argv, name=None, cwd=None, cpu=None, env=None):
        self.name = name or os.path.basename(argv[0])
        self.tmp = None  # a TemporaryDirectory owned by this process, removed on exit
        if cpu is not None:
            argv = ["taskset", "-c", str(cpu)] + list(argv)  # taskset execs: same PID
        self.argv = list(argv)
        self._lines = []
        self._cond = threading.Condition()
        self.proc = subprocess.Popen(self.argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.pid = self.proc.pid
        self._threads = [threading.Thread(target=self._drain, args=(s,), daemon=True)
                         for s in (self.proc.stderr, self.proc.stdout)]
        for t in self._threads:
            t.start()

    def _drain(self, stream):
        for raw in iter(stream.readline, b""):
            with self._cond:
                self._lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self._cond.notify_all()
        stream.close()

    def output(self):
        """Everything written so far on stderr and stdout (interleaved by arrival)."""
        with self._cond:  # an RLock: callable while wait_for_line holds it
            return "\n".join(self._lines)

    def wait_for_line(self, pattern, timeout=WAIT_TIMEOUT):
        """Wait for an output line matching regex pattern; return its match object."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                for line in self._lines[seen:]:
                    m = regex.search(line)
                    if m:
                        return m
                seen = len(self._lines)
                if self.proc.poll() is not None and all(not t.is_alive() for t in self._threads):
                    raise RuntimeError(f"{self.name} exited with {self.proc.returncode} before "
                                       f"printing /{pattern}/; output:\n{self.output()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self.name} did not print /{pattern}/ within "
                                       f"{timeout:g}s; output:\n{self.output()}")
                self._cond.wait(min(left, POLL_INTERVAL))

    def running(self):
        return self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout=WAIT_TIMEOUT):
        rc = self.proc.wait(timeout=timeout)
        for t in self._threads:
            t.join(timeout=5)
        return rc

    def stop(self, timeout=WAIT_TIMEOUT):
        """SIGTERM, wait; SIGKILL if it does not exit in time. Returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.wait(timeout)
                raise RuntimeError(f"{self.name} (pid {self.pid}) ignored SIGTERM for "
                                   f"{timeout:g}s and was killed")
        return self.wait(timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.wait()
        if self.tmp is not None:
            self.tmp.cleanup()
        return False


class Server(Process):
    """A Process serving HTTP on 127.0.0.1; base_url is set once it is known."""
    base_url = None

    def get(self, path, headers=None, timeout=HTTP_TIMEOUT):
        return http_get(self.base_url + path, headers=headers, timeout=timeout)

    def metrics_text(self, headers=None):
        return fetch_metrics(self.base_url, headers=headers)

    def metrics(self):
        """(samples, types) of one scrape."""
        return parse_exposition(self.metrics_text())

    def promtool_clean_metrics(self):
        """Samples of one scrape, after asserting that `promtool check metrics` finds nothing."""
        text = self.metrics_text()
        findings = promtool_check_metrics(text)
        assert not findings, findings
        return parse_exposition(text)[0]

    def wait_http(self, path="/metrics", timeout=WAIT_TIMEOUT, headers=None):
        def ok():
            if not self.running():
                raise GiveUp(f"{self.name} exited with {self.proc.returncode}:\n"
                             f"{self.output()}")
            return self.get(path, headers=headers, timeout=2).status == 200
        try:
            wait_until(ok, timeout=timeout, what=f"{self.name} to serve {path}")
        except TimeoutError as e:
            raise TimeoutError(f"{e}\n{self.name} output:\n{self.output()}") from None
        return self


def start_agent(agent, *args, config=None, storage_dir=None, cpu=None):
    """Start the agent on 127.0.0.1 port 0 and read the chosen address from its log.

    storage_dir defaults to a fresh temp dir (removed when the context manager exits), so
    no test writes into the working directory. Use the result in a `with` block.
    """
    # A later --statsd.listen-udp in args wins (the flag parser keeps the last value).
    server = _start_daemon(agent, "mingus-agent", ["--statsd.listen-udp=127.0.0.1:0"], args, config, storage_dir, cpu)
    udp = _AGENT_UDP.search(server.output())  # logged before the HTTP line, when enabled
    server.udp_address = udp.group(1) if udp else None
    return server


def _start_daemon(binary, name, flags, args, config, storage_dir, cpu):
    """One of our daemons on 127.0.0.1 port 0, its address read from its log. It runs in
    storage_dir (a fresh temp dir, removed on exit, unless given), so relative paths are
    resolved against ours first."""
    own_tmp = None
    if storage_dir is None:
        own_tmp = tempfile.TemporaryDirectory(prefix=name + "-")
        storage_dir = own_tmp.name
    os.makedirs(storage_dir, exist_ok=True)
    argv = [os.path.abspath(binary), "--web.listen-address=127.0.0.1:0", f"--storage.path={storage_dir}"] + flags
    if config is not None:
        argv.append(f"--config.file={os.path.abspath(config)}")
    argv += list(args)
    server = Server(argv, name=name, cwd=storage_dir, cpu=cpu)
    server.tmp = own_tmp
    try:
        m = server.wait_for_line(_LISTENING.pattern)
    except Exception:
        server.__exit__(None, None, None)
        raise
    # https:// with a web config's tls_server_config (--web.config.file)
    server.base_url = m.group(0).split("listening on ", 1)[1]
    return server


def wait_for_sample(server, name, at_least, timeout=WAIT_TIMEOUT, **labels):
    """Scrape server until the series name{labels} reaches at_least (a counter catching up
    with what was sent); returns (samples, types) of that scrape."""
    def reached():
        samples, types = server.metrics()
        return (samples, types) if sample_value(samples, name, **labels) >= at_least else None
    try:
        return wait_until(reached, timeout=timeout,
                          what=f"{format_series((name, frozenset(labels.items())))} >= {at_least:g}")
    except TimeoutError as e:
        last = sample_value(server.metrics()[0], name, default=None, **labels)
        raise TimeoutError(f"{e}; it is {last}") from None


def start_collector(collector, *args, config=None, storage_dir=None, cpu=None):
    """Start the collector on 127.0.0.1 port 0 and read the chosen address from its log.
    storage_dir defaults to a fresh temp dir removed when the context manager exits; pass
    one to keep the store across restarts."""
    return _start_daemon(collector, "mingus-collector", [], args, config, storage_dir, cpu)


def query(server, promql, timeout=HTTP_TIMEOUT, **params):
    """GET /api/v1/query (or query_range when start is given); returns the JSON data, raising
    on an error status."""
    path = "/api/v1/query_range" if "start" in params else "/api/v1/query"
    response = server.get(path + "?" + urllib.parse.urlencode({"query": promql, **params}), timeout=timeout)
    body = json.loads(response.text())
    if response.status != 200 or body.get("status") != "success":
        raise AssertionError(f"{promql}: HTTP {response.status}: {body}")
    return body["data"]


def stop_agent(server, expect_rc=0):
    """SIGTERM the agent and check it exits with expect_rc (0: a clean shutdown)."""
    rc = server.stop()
    if expect_rc is not None and rc != expect_rc:
        raise AssertionError(f"mingus-agent exited with {rc}, expected {expect_rc}; "
                             f"output:\n{server.output()}")
    return rc


def _start_on_free_port(make_argv, name, ready_path, timeout=WAIT_TIMEOUT, cwd=None,
                        cpu=None, attempts=3):
    """Start a server given a free loopback port and wait until ready_path answers 200.
    free_port() can race with another process taking the port: then retry elsewhere."""
    for attempt in range(attempts):
        port = free_port()
        server = Server(make_argv(port), name=name, cwd=cwd, cpu=cpu)
        server.base_url = f"http://127.0.0.1:{port}"
        try:
            return server.wait_http(ready_path, timeout=timeout)
        except GiveUp:
            server.__exit__(None, None, None)
            if "address already in use" not in server.output() or attempt == attempts - 1:
                raise
        except Exception:
            server.__exit__(None, None, None)
            raise


def start_node_exporter(*args, cpu=None):
    """Start node_exporter on a free loopback port and wait until it serves /metrics."""
    return _start_on_free_port(
        lambda port: [NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{port}", *args],
        "node_exporter", "/metrics", cpu=cpu)


def start_prometheus(config_path, tsdb_dir):
    """Start Prometheus on a free loopback port and wait until /-/ready answers 200."""
    return _start_on_free_port(
        lambda port: [PROMETHEUS, f"--config.file={config_path}",
                      f"--storage.tsdb.path={tsdb_dir}",
                      f"--web.listen-address=127.0.0.1:{port}"],
        "prometheus", "/-/ready", timeout=60, cwd=tsdb_dir)


def start_collectd(statsd_port, tmp, cpu=None):
    """collectd with only its statsd plugin on 127.0.0.1:statsd_port and write_prometheus on a
    free loopback port (base_url; counters at /metrics, published once a second). See
    PEERS.md: write_prometheus needs libprotobuf-c1 and libmicrohttpd12."""
    def argv(web_port):
        config = write_file(os.path.join(tmp, "collectd.conf"), f"""Interval 1
LoadPlugin statsd
LoadPlugin write_prometheus
<Plugin statsd>
  Host "127.0.0.1"
  Port "{statsd_port}"
  DeleteCounters false
</Plugin>
<Plugin write_prometheus>
  Host "127.0.0.1"
  Port "{web_port}"
</Plugin>
""")
        return [COLLECTD, "-f", "-C", config]
    server = _start_on_free_port(argv, "collectd", "/metrics", cwd=tmp, cpu=cpu)
    try:
        server.wait_for_line(r"statsd plugin: Listening on")
    except Exception:
        server.__exit__(None, None, None)
        raise
    return server


NETDATA_ALLMETRICS = "/api/v1/allmetrics?format=prometheus&source=as-collected"


def start_netdata(statsd_port, tmp, cpu=None):
    """netdata with only its statsd plugin on udp 127.0.0.1:statsd_port and its web server on
    a free loopback port (base_url); every other collector, health, ML and the registry off;
    its files under tmp. Ready once its own statsd charts are served at NETDATA_ALLMETRICS."""
    plugins_off = "".join(f"  {p} = no\n" for p in (
        "proc", "diskspace", "cgroups", "tc", "idlejitter", "apps", "python.d", "charts.d",
        "go.d", "node.d", "ebpf", "timex", "perf", "slabinfo", "checks"))

    def argv(web_port):
        config = write_file(os.path.join(tmp, "netdata.conf"), f"""[global]
  run as user = root
  update every = 1
  memory mode = ram
  cache directory = {tmp}
  lib directory = {tmp}
  log directory = {tmp}
  debug log = none
  access log = none
[web]
  bind to = 127.0.0.1:{web_port}
[plugins]
{plugins_off}  statsd = yes
  enable running new plugins = no
[statsd]
  enabled = yes
  bind to = udp:127.0.0.1:{statsd_port}
  update every (flushInterval) = 1
[health]
  enabled = no
[ml]
  enabled = no
[registry]
  enabled = no
""")
        return [NETDATA, "-D", "-c", config]
    server = _start_on_free_port(argv, "netdata", "/api/v1/info", cwd=tmp, cpu=cpu, timeout=60)
    try:
        wait_until(lambda: "statsd_events" in server.get(NETDATA_ALLMETRICS).text(),
                   what="netdata's statsd charts")
    except Exception:
        server.__exit__(None, None, None)
        raise
    return server


# ---------------------------------------------------------------------------- checks

class Checks:
    """Collects named PASS/FAIL results and turns them into an exit code."""

    def __init__(self):
        self.failed = []
        self.count = 0

    def check(self, name, ok, detail=""):
        self.count += 1
        status = "PASS" if ok else "FAIL"
        log(f"{status}: {name}" + (f" -- {detail}" if detail and not ok else ""))
        if not ok:
            self.failed.append(name)
        return ok

    def run(self, name, fn):
        """Run fn() as one check: it passes unless it raises."""
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - report every failure, keep going
            return self.check(name, False, f"{type(e).__name__}: {e}")
        return self.check(name, True)

    def exit(self):
        if self.failed:
            log(f"FAILED {len(self.failed)} of {self.count} checks: {', '.join(self.failed)}")
            sys.exit(1)
        log(f"OK: all {self.count} checks passed")
        sys.exit(0)


def agent_arg_parser(description):
    """The --agent PATH [--collector PATH] command line every integration test takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--agent", required=True, help="path to the mingus-agent binary")
    parser.add_argument("--collector", help="path to the mingus-collector binary")
    return parser
