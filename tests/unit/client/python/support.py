"""Shared by the Python SDK's unit tests: the package from the source tree, a transport that
records datagrams instead of sending them, and a client that sends only when flushed."""

import json
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "client", "python"))

import mingus_monitor  # noqa: E402,F401 - the tests import it from here
from mingus_monitor import Client, FakeClock  # noqa: E402,F401


class FakeTransport:
    """Keeps every datagram; raises `fail` (an exception) instead while it is set."""

    def __init__(self):
        self.datagrams = []
        self.fail = None

    def send(self, datagram):
        if self.fail is not None:
            raise self.fail
        self.datagrams.append(bytes(datagram))

    def close(self):
        pass

    def lines(self):
        return [line for d in self.datagrams for line in d.split(b"\n")]

    def events(self):
        return [json.loads(line) for line in self.lines() if line.startswith(b"{")]

    def statsd(self):
        return [line.decode() for line in self.lines() if not line.startswith(b"{")]


def make_client(clock=None, **options):
    """A client without a sender thread (flush() sends in the test's thread), reporting no
    self-metrics unless asked, over a FakeTransport (client.transport)."""
    transport = FakeTransport()
    options.setdefault("report_self", False)
    client = Client("127.0.0.1:8125", transport=transport, background=False,
                    clock=clock or FakeClock(), **options)
    client.transport = transport
    return client
