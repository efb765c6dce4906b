#!/usr/bin/python3
"""The agent as a process: flags, configuration errors, reload, HTTP robustness.

  - --help and --version exit 0; an unknown flag exits 2 with a message naming it;
  - a config file with an unknown key / a wrong type / a bad listen address / a YAML
    syntax error each exits 2, and stderr names the file and the line;
  - SIGHUP with a broken config keeps serving and sets
    mingus_agent_config_last_reload_successful 0; SIGHUP with a fixed config that
    disables loadavg removes node_load1 and sets it back to 1;
  - with web.read_timeout 1s, a client that connects and sends nothing is disconnected
    within the timeout (and so is one that stops half-way through its header);
  - a request with a 64 KiB header gets 431 and the agent keeps serving;
  - /nope is a 404 with a JSON body;
  - --path.procfs pointing at an empty directory: the agent serves, without node_cpu_*,
    and counts mingus_agent_collector_errors_total{collector="cpu"} >= 1;
  - every agent started here exits 0 on SIGTERM.

Usage: /usr/bin/python3 tests/integration/agent_process_test.py --agent build/agent/mingus-agent
"""

import json
import os
import re
import signal
import socket
import subprocess
import time

import harness as h

RUN_TIMEOUT = 15  # seconds for a run that should exit at once
READ_TIMEOUT = 1.0  # web.read_timeout set in the configs below
# Disconnect must come after about READ_TIMEOUT; allow scheduling slack on a busy host.
DISCONNECT_WINDOW = (0.5 * READ_TIMEOUT, READ_TIMEOUT + 2.0)

GOOD_CONFIG = f"""\
web:
  read_timeout: {READ_TIMEOUT:g}s
log:
  level: info
"""
# (case, config text, line the error is on)
BAD_CONFIGS = [
    ("unknown key", "web:\n  threads: 2\n  bogus_key: 1\n", 3),
    ("wrong type", "web:\n  threads: 2\n  max_connections: lots\n", 3),
    ("bad listen address", 'web:\n  threads: 2\n  listen_address: "127.0.0.1:99999"\n', 3),
    ("YAML syntax error", "web:\n  threads: 2\n  read_timeout: 1s: 2s\nlog:\n  level: info\n", 3),
]
RELOAD_BROKEN = "web:\n  read_timeout: 1s\ncollectors:\n  loadavg:\n    enabled: maybe\n"
RELOAD_FIXED = "web:\n  read_timeout: 1s\ncollectors: {loadavg: {enabled: false}}\n"


def run(agent, *args, tmp):
    """Run the agent to completion (it is expected to exit by itself)."""
    argv = [os.path.abspath(agent), "--web.listen-address=127.0.0.1:0",
            f"--storage.path={os.path.join(tmp, 'spool')}"] + list(args)
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=RUN_TIMEOUT, cwd=tmp)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"still running after {RUN_TIMEOUT}s: {argv}") from None


def expect(cond, message):
    if not cond:
        raise AssertionError(message)


def names_file_and_line(text, path, line):
    """True if text names path together with line ('path:3:...' or 'path ... line 3')."""
    return re.search(re.escape(path) + rf"(:{line}\b|.*\bline {line}\b)", text) is not None


def metric(agent, name, **labels):
    samples, _ = agent.metrics()
    return h.find_sample(samples, name, **labels)


# ---------------------------------------------------------------------------- flags, config

def check_flags(checks, agent_path, tmp):
    def help_ok():
        r = run(agent_path, "--help", tmp=tmp)
        expect(r.returncode == 0, f"exit {r.returncode}: {r.stderr}")
        expect("--config.file" in r.stdout + r.stderr, "help does not mention --config.file")

    def version_ok():
        r = run(agent_path, "--version", tmp=tmp)
        expect(r.returncode == 0, f"exit {r.returncode}: {r.stderr}")
        expect("version" in r.stdout + r.stderr, f"no version printed: {r.stdout!r}")

    def unknown_flag():
        r = run(agent_path, "--no-such-flag", tmp=tmp)
        expect(r.returncode == 2, f"exit {r.returncode}, expected 2")
        expect("no-such-flag" in r.stderr, f"stderr does not name the flag: {r.stderr!r}")

    checks.run("--help exits 0", help_ok)
    checks.run("--version exits 0", version_ok)
    checks.run("unknown flag exits 2 naming it", unknown_flag)


def check_bad_configs(checks, agent_path, tmp):
    for case, text, line in BAD_CONFIGS:
        path = h.write_file(os.path.join(tmp, case.replace(" ", "_") + ".yaml"), text)

        def refused(path=path, line=line):
            r = run(agent_path, f"--config.file={path}", tmp=tmp)
            expect(r.returncode == 2, f"exit {r.returncode}, expected 2; stderr {r.stderr!r}")
            expect(names_file_and_line(r.stderr, path, line),
                   f"stderr does not name {path} line {line}: {r.stderr!r}")
        checks.run(f"config with {case} exits 2 naming file and line", refused)


# ---------------------------------------------------------------------------- reload

def check_reload(checks, agent_path, tmp):
    config = h.write_file(os.path.join(tmp, "reload.yaml"), GOOD_CONFIG)
    with h.start_agent(agent_path, config=config) as agent:
        checks.check("reload: starts with last_reload_successful 1",
                     metric(agent, "mingus_agent_config_last_reload_successful") == 1)
        checks.check("reload: node_load1 served", metric(agent, "node_load1") is not None)

        h.write_file(config, RELOAD_BROKEN)
        agent.signal(signal.SIGHUP)

        def broken_reload():
            h.wait_until(lambda: metric(agent, "mingus_agent_config_last_reload_successful") == 0,
                         what="last_reload_successful 0")
            expect(agent.running(), "agent exited")
            expect(metric(agent, "node_load1") is not None, "old config not kept: no node_load1")
            h.wait_until(lambda: names_file_and_line(agent.output(), config, 5),
                         timeout=5, what=f"a log line naming {config} line 5")
        checks.run("reload: broken config refused, old one kept, file and line logged",
                   broken_reload)

        h.write_file(config, RELOAD_FIXED)
        agent.signal(signal.SIGHUP)

        def fixed_reload():
            def applied():
                samples, _ = agent.metrics()
                return (h.find_sample(samples, "mingus_agent_config_last_reload_successful") == 1
                        and "node_load1" not in h.names_in(samples))
            h.wait_until(applied, what="last_reload_successful 1 without node_load1")
        checks.run("reload: fixed config disabling loadavg applied", fixed_reload)
        checks.run("reload: agent exits 0 on SIGTERM", lambda: h.stop_agent(agent))


# ---------------------------------------------------------------------------- HTTP

def seconds_until_closed(address, send=b""):
    """Connect, send `send`, then wait (up to 30 s) for the server to close; returns the
    seconds that took. A response sent before closing (e.g. 408) is fine."""
    host, port = address.split(":")
    with socket.create_connection((host, int(port)), timeout=h.WAIT_TIMEOUT) as s:
        start = time.monotonic()
        if send:
            s.sendall(send)
        try:
            while s.recv(4096):
                pass
        except ConnectionResetError:
            pass
        return time.monotonic() - start


def send_raw(address, request):
    """Send raw bytes; return the response status line (b'' if none)."""
    host, port = address.split(":")
    with socket.create_connection((host, int(port)), timeout=h.WAIT_TIMEOUT) as s:
        try:
            s.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading it all
        data = b""
        try:
            while b"\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except ConnectionResetError:
            pass
        return data.split(b"\r\n", 1)[0]


def check_http(checks, agent_path, tmp):
    config = h.write_file(os.path.join(tmp, "http.yaml"), GOOD_CONFIG)
    with h.start_agent(agent_path, config=config) as agent:
        address = agent.base_url.removeprefix("http://")
        lo, hi = DISCONNECT_WINDOW

        def idle(send, what):
            elapsed = seconds_until_closed(address, send)
            h.log(f"  {what} client disconnected after {elapsed:.2f}s")
            expect(lo <= elapsed <= hi, f"{what} disconnected after {elapsed:.2f}s, "
                                        f"expected {lo:g}..{hi:g}s")
        checks.run("idle client disconnected within read_timeout", lambda: idle(b"", "idle"))
        checks.run("half-header client disconnected within read_timeout",
                   lambda: idle(b"GET /metrics HTTP/1.1\r\nHost: x\r\n", "half-header"))

        def big_header():
            request = (b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
                       + b"a" * (64 * 1024) + b"\r\n\r\n")
            status = send_raw(address, request)
            expect(status.startswith(b"HTTP/1.1 431"), f"status line {status!r}")
            expect(agent.get("/metrics").status == 200, "not serving after the 431")
        checks.run("64 KiB header gets 431, agent keeps serving", big_header)

        def not_found():
            resp = agent.get("/nope")
            expect(resp.status == 404, f"status {resp.status}")
            try:
                json.loads(resp.body)
            except ValueError:
                raise AssertionError(f"body is not JSON: {resp.body[:200]!r}") from None
        checks.run("/nope is 404 with a JSON body", not_found)
        checks.run("http: agent exits 0 on SIGTERM", lambda: h.stop_agent(agent))


def check_empty_procfs(checks, agent_path, tmp):
    procfs = os.path.join(tmp, "empty-proc")
    os.mkdir(procfs)
    with h.start_agent(agent_path, f"--path.procfs={procfs}") as agent:
        def degraded():
            samples, _ = agent.metrics()
            cpu = sorted(n for n in h.names_in(samples) if n.startswith("node_cpu_"))
            expect(not cpu, f"node_cpu_* still served: {cpu}")
            errors = h.find_sample(samples, "mingus_agent_collector_errors_total", collector="cpu")
            expect(errors is not None and errors >= 1,
                   f'mingus_agent_collector_errors_total{{collector="cpu"}} is {errors}')
        checks.run("empty procfs: serves, no node_cpu_*, cpu errors counted", degraded)
        checks.run("empty procfs: agent exits 0 on SIGTERM", lambda: h.stop_agent(agent))


def main():
    args = h.agent_arg_parser(__doc__.splitlines()[0]).parse_args()
    checks = h.Checks()
    with h.temp_dir() as tmp:
        check_flags(checks, args.agent, tmp)
        check_bad_configs(checks, args.agent, tmp)
        check_reload(checks, args.agent, tmp)
        check_http(checks, args.agent, tmp)
        check_empty_procfs(checks, args.agent, tmp)
    checks.exit()


if __name__ == "__main__":
    main()
