"""The UDP client: the caller appends to a bounded queue and returns; a daemon thread turns
the queue into lines, packs them into datagrams and sends them to the agent.

Nothing here blocks or raises in the caller. What cannot be sent is dropped and counted by
reason in Client.stats()["dropped"] (and, while the agent listens, sent to it as the counter
mingus_sdk_dropped_total{reason,sdk="python"}):

- queue_full: the queue held `queue_size` items (the agent or the sender thread is behind);
- address_unresolved, bad_address: MINGUS_AGENT_ADDR does not resolve or does not parse
  (resolution is retried every RESOLVE_RETRY seconds, on the sender thread);
- agent_unreachable: nothing listens at the address (the kernel learns it from an ICMP
  port unreachable answer to an earlier datagram, which was lost as well, uncounted);
- send_failed: the kernel refused the datagram (its buffer is full, the network is down);
- missing_field, wrong_field_type, bad_field_value, not_finite, too_long, unknown_event_type,
  unserialisable (and for StatsD unknown_type, bad_sample_rate, missing_value): a line the
  agent would refuse (see _wire.py), e.g. a NaN timing;
- closed, no_sender_thread, internal_error: after close(); no thread could be started; a
  bug caught before it reached the caller.

Strings cut to fit are counted in stats()["truncated"] (and mingus_sdk_truncated_total).
"""

import atexit
import collections
import os
import socket
import threading
import weakref

from . import _wire
from ._clock import REAL_CLOCK
from ._config import DEFAULT_AGENT_ADDR, Settings

RESOLVE_RETRY = 5.0  # seconds between attempts to resolve an address that did not resolve
EXIT_FLUSH_TIMEOUT = 0.5  # seconds the interpreter's exit waits for the queue to be sent
SDK_TAG = "sdk:python"


class AddressError(OSError):
    """The agent's address does not parse (reason bad_address) or resolve (address_unresolved)."""

    def __init__(self, reason, detail=""):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def parse_address(address):
    """'host:port', '[v6]:port', 'udp://host:port', 'host' or a bare IPv6 address ->
    (host, port). Raises AddressError("bad_address")."""
    text = (address or "").strip()
    if text.startswith("udp://"):
        text = text[6:]
    host, port = text, 8125
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise AddressError("bad_address", address)
        host, rest = text[1:end], text[end + 1:]
        if rest:
            if not rest.startswith(":"):
                raise AddressError("bad_address", address)
            port = rest[1:]
    elif text.count(":") == 1:
        host, port = text.split(":")
    try:
        port = int(port)
    except ValueError:
        raise AddressError("bad_address", address) from None
    if not host or not 0 < port < 65536:
        raise AddressError("bad_address", address)
    return host, port


class UdpTransport:
    """Sends datagrams to one address over a non-blocking UDP socket. The name is resolved on
    first use (on the sender thread), and again RESOLVE_RETRY seconds after a failure."""

    def __init__(self, address=DEFAULT_AGENT_ADDR, clock=REAL_CLOCK, resolver=socket.getaddrinfo):
        self.address = address
        self._clock = clock
        self._resolver = resolver
        self._sock = None
        self._target = None
        self._failure = None  # the AddressError to raise until _retry_at
        self._retry_at = 0.0
        try:
            self._host, self._port = parse_address(address)
        except AddressError as e:
            self._host = None
            self._failure = e
            self._retry_at = float("inf")

    def _resolve(self):
        now = self._clock.monotonic()
        if self._failure is not None and now < self._retry_at:
            raise self._failure
        try:
            infos = self._resolver(self._host, self._port, type=socket.SOCK_DGRAM)
        except (OSError, UnicodeError) as e:
            self._failure = AddressError("address_unresolved", f"{self.address}: {e}")
            self._retry_at = now + RESOLVE_RETRY
            raise self._failure from None
        family, kind, proto, _, target = infos[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            # Connected, so that the kernel reports an agent that is away (ICMP port
            # unreachable) as ECONNREFUSED on a later send, which is counted.
            sock.connect(target)
        except OSError:
            sock.close()
            raise
        self._sock, self._target, self._failure = sock, target, None

    def send(self, datagram):
        if self._sock is None:
            self._resolve()
        self._sock.send(datagram)

    def reset(self):
        """Open a socket of our own on next use (in a forked child)."""
        self.close()

    def close(self):
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
            self._sock = None


class _Marker:
    """Put in the queue by flush(): set once everything before it has been sent."""
    __slots__ = ("done",)

    def __init__(self):
        self.done = threading.Event()


_EVENT, _STATSD = 0, 1
_clients = weakref.WeakSet()


class Client:
    """Sends StatsD lines and JSON events to the agent. Thread-safe; one per process is
    enough (the module-level objects share get_client()).

    agent_addr: "host:port" (default MINGUS_AGENT_ADDR, else 127.0.0.1:8125).
    queue_size: items waiting at most; more are dropped (queue_full).
    flush_interval: seconds between the sender thread's rounds (it also wakes early once a
    quarter of the queue is used).
    background=False: no sender thread; flush() sends in the calling thread (tests).
    transport: anything with send(datagram) raising OSError on failure (tests).
    """

    def __init__(self, agent_addr=None, *, queue_size=None, flush_interval=None,
                 max_datagram=_wire.MAX_DATAGRAM, background=True, transport=None,
                 clock=None, report_self=True, settings=None):
        settings = settings or Settings()
        self.clock = clock or REAL_CLOCK
        self.agent_addr = agent_addr or settings.agent_addr
        self._transport = transport or UdpTransport(self.agent_addr, self.clock)
        self._capacity = int(queue_size or settings.queue_size)
        self._wake_at = max(1, self._capacity // 4)
        self._interval = float(flush_interval or settings.flush_interval)
        self._max_datagram = int(max_datagram)
        self._background = background
        self._report_self = report_self
        self._closed = False
        self._init_runtime()
        _clients.add(self)

    def _init_runtime(self):
        self._stats_lock = threading.Lock()
        self._reported = {}
        self._queue = collections.deque()
        self._wake = threading.Event()
        self._drain_lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._need_start = self._background
        self._thread = None
        self._dropped = collections.Counter()
        self._truncated = 0
        self._sent_lines = self._sent_datagrams = self._sent_bytes = 0

    # ------------------------------------------------------------------ the caller's side

    def _put(self, item):
        queue = self._queue
        if len(queue) >= self._capacity:
            self.count_drop("closed" if self._closed else "queue_full")
            return
        queue.append(item)
        if self._need_start:
            self._start()
        elif len(queue) >= self._wake_at and not self._wake.is_set():
            self._wake.set()

    def event(self, event_type, fields):
        """Queue a JSON event of `event_type` (DESIGN.md, "JSON events") with `fields`
        (a dict; None values are left out). Checked and encoded on the sender thread."""
        try:
            self._put((_EVENT, event_type, fields))
        except Exception:  # noqa: BLE001 - never raise in the caller
            self.count_drop("internal_error")

    def statsd(self, name, value, kind, tags=None, sample_rate=None):
        """Queue a StatsD line name:value|kind with DogStatsD tags (a dict or "k:v" strings)."""
        try:
            self._put((_STATSD, name, value, kind, tags, sample_rate))
        except Exception:  # noqa: BLE001
            self.count_drop("internal_error")

    def increment(self, name, value=1, tags=None, sample_rate=None):
        self.statsd(name, value, "c", tags, sample_rate)

    def timing(self, name, milliseconds, tags=None, sample_rate=None):
        self.statsd(name, milliseconds, "ms", tags, sample_rate)

    def histogram(self, name, value, tags=None, sample_rate=None):
        self.statsd(name, value, "h", tags, sample_rate)

    def distribution(self, name, value, tags=None, sample_rate=None):
        self.statsd(name, value, "d", tags, sample_rate)

    def set(self, name, member, tags=None):
        self.statsd(name, member, "s", tags)

    def gauge(self, name, value, tags=None):
        """Set a gauge. A negative value goes as `0|g` then `-x|g` in one datagram: a signed
        gauge value is a delta in StatsD."""
        self.statsd(name, value, "g", tags)

    def count_drop(self, reason, n=1):
        with self._stats_lock:
            self._dropped[reason] += n

    def count_truncated(self, n=1):
        with self._stats_lock:
            self._truncated += n

    def flush(self, timeout=1.0):
        """Send everything queued so far; wait at most `timeout` seconds for it. Returns True
        when it was all handed to the kernel (or dropped and counted)."""
        try:
            thread = self._thread
            if thread is threading.current_thread():
                return False  # the sender itself (a transport calling back): it is draining
            if thread is None or not thread.is_alive():
                self._drain()
                return True
            marker = _Marker()
            self._queue.append(marker)
            self._wake.set()
            return marker.done.wait(timeout)
        except Exception:  # noqa: BLE001
            self.count_drop("internal_error")
            return False

    def stats(self):
        """What the client did so far: sent_lines, sent_datagrams, sent_bytes, queued,
        dropped (reason -> lines), dropped_total, truncated (strings cut)."""
        with self._stats_lock:
            dropped = dict(self._dropped)
            truncated = self._truncated
        return {"sent_lines": self._sent_lines, "sent_datagrams": self._sent_datagrams,
                "sent_bytes": self._sent_bytes, "queued": len(self._queue),
                "dropped": dropped, "dropped_total": sum(dropped.values()),
                "truncated": truncated}

    def close(self, timeout=1.0):
        """Send what is queued and stop the sender thread. Later calls are dropped (closed)."""
        if self._closed:
            return
        self.flush(timeout)
        self._closed = True
        self._capacity = 0
        self._need_start = False
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self._transport.close()

    # ------------------------------------------------------------------ the sender's side

    def _start(self):
        with self._start_lock:
            if not self._need_start:
                return
            self._need_start = False
            if self._closed:
                return
            thread = threading.Thread(target=self._run, name="mingus-monitor-sender", daemon=True)
            try:
                thread.start()
            except RuntimeError:  # no more threads, or the interpreter is exiting
                self.count_drop("no_sender_thread")
                return
            self._thread = thread

    def _run(self):
        while not self._closed:
            self._wake.wait(self._interval)
            self._wake.clear()
            try:
                self._drain()
            except Exception:  # noqa: BLE001 - the sender thread must survive anything
                self.count_drop("internal_error")

    def _encode(self, item, notes):
        if item[0] == _EVENT:
            event = _wire.build_event(item[1], item[2], notes)
            return (_wire.encode_event(event, notes, self._max_datagram),)
        _, name, value, kind, tags, rate = item
        if kind == "g" and type(value) in (int, float) and value < 0:
            # Two lines packed as one, so that they never travel in different datagrams.
            reset = _wire.encode_statsd(name, 0, "g", tags, notes)
            return (reset + b"\n" + _wire.encode_statsd(name, value, "g", tags, notes),)
        return (_wire.encode_statsd(name, value, kind, tags, notes, rate),)

    def _drain(self):
        with self._drain_lock:
            queue = self._queue
            packer = _wire.Packer(self._send, self._max_datagram)
            notes = []
            refused = collections.Counter()
            while True:
                try:
                    item = queue.popleft()
                except IndexError:
                    break
                if item.__class__ is _Marker:
                    packer.flush()
                    item.done.set()
                    continue
                try:
                    lines = self._encode(item, notes)
                except _wire.Refused as e:
                    refused[e.reason] += 1
                    continue
                except Exception:  # noqa: BLE001 - e.g. a __str__ that raises
                    refused["unserialisable"] += 1
                    continue
                for line in lines:
                    if len(line) >= self._max_datagram:
                        refused["too_long"] += 1
                    else:
                        packer.add(line)
            if refused or notes:
                with self._stats_lock:
                    self._dropped.update(refused)
                    self._truncated += len(notes)
            packer.flush()
            if self._report_self:
                self._report()

    def _report(self):
        """The SDK's own counters, as deltas since the last report, in StatsD, in a datagram of
        their own. A report that cannot be sent is not counted as a drop (that would feed
        itself while the agent is away); its deltas go with the next one."""
        with self._stats_lock:
            now = dict(self._dropped)
            now[None] = self._truncated
        lines, reported, size = [], {}, 0
        for reason, total in now.items():
            delta = total - self._reported.get(reason, 0)
            if delta <= 0:
                continue
            if reason is None:
                line = f"mingus_sdk.truncated:{delta}|c|#{SDK_TAG}"
            else:
                line = f"mingus_sdk.dropped:{delta}|c|#reason:{reason},{SDK_TAG}"
            if size + len(line) + 1 >= self._max_datagram:
                break  # the rest next time
            lines.append(line)
            size += len(line) + 1
            reported[reason] = total
        if not lines:
            return
        datagram = "\n".join(lines).encode()
        try:
            self._transport.send(datagram)
        except Exception:  # noqa: BLE001
            return
        self._reported.update(reported)

    def _send(self, datagram, lines):
        try:
            self._transport.send(datagram)
        except AddressError as e:
            reason = e.reason
        except ConnectionRefusedError:
            reason = "agent_unreachable"
        except OSError:
            reason = "send_failed"
        except Exception:  # noqa: BLE001 - a transport must not kill the sender
            reason = "send_failed"
        else:
            self._sent_lines += lines
            self._sent_datagrams += 1
            self._sent_bytes += len(datagram)
            return
        with self._stats_lock:
            self._dropped[reason] += lines

    def _after_fork(self):
        """In a forked child: a fresh queue and no sender thread yet (the parent's did not
        survive the fork, and the parent sends what was queued before it)."""
        self._init_runtime()
        if self._closed:
            self._need_start = False
        reset = getattr(self._transport, "reset", None)
        if reset is not None:
            reset()


def _after_fork_in_child():
    for client in list(_clients):
        try:
            client._after_fork()
        except Exception:  # noqa: BLE001
            pass


def _flush_at_exit():
    for client in list(_clients):
        try:
            if not client._closed:
                client.flush(EXIT_FLUSH_TIMEOUT)
        except Exception:  # noqa: BLE001
            pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_flush_at_exit)
