"""The UDP client and the wire formats: packing, the bounded queue, bad input."""

import json
import math
import os
import socket
import threading
import time
import unittest

from support import FakeClock, FakeTransport, make_client

from mingus_monitor import Client, _wire
from mingus_monitor.client import AddressError, UdpTransport, parse_address


def api(client, i=0, **fields):
    event = {"endpoint": f"/items/<int:id>/{i}", "method": "GET", "status": 200,
             "duration_ms": 1.5}
    event.update(fields)
    client.event("api", event)


class PackingTest(unittest.TestCase):
    def test_lines_are_packed_into_datagrams_under_1432_bytes_in_order(self):
        client = make_client()
        for i in range(500):
            # Lines of many sizes, so that the packing meets every boundary.
            client.event("feedback", {"user_id": i, "kind": "csat", "rating": 4,
                                      "comment": "x" * (i * 7 % 900)})
        client.flush()
        datagrams = client.transport.datagrams
        self.assertGreater(len(datagrams), 1)
        self.assertTrue(all(len(d) < 1432 for d in datagrams), max(map(len, datagrams)))
        events = client.transport.events()
        self.assertEqual([e["user_id"] for e in events], list(range(500)))
        # Packed, not one line per datagram: a datagram ends only where the next line would
        # not have fitted.
        for d, following in zip(datagrams, datagrams[1:]):
            self.assertGreaterEqual(len(d) + 1 + len(following.split(b"\n")[0]), 1432)
        stats = client.stats()
        self.assertEqual(stats["sent_lines"], 500)
        self.assertEqual(stats["sent_datagrams"], len(datagrams))
        self.assertEqual(stats["dropped_total"], 0)

    def test_packer_never_splits_a_line(self):
        sent = []
        packer = _wire.Packer(lambda d, n: sent.append((d, n)), max_bytes=100)
        lines = [b"a" * n for n in (10, 88, 1, 98, 99, 3, 50, 48)]
        for line in lines:
            packer.add(line)
        packer.flush()
        self.assertTrue(all(len(d) < 100 for d, _ in sent))
        self.assertEqual([len(d) for d, _ in sent], [10 + 1 + 88, 1, 98, 99, 3 + 1 + 50, 48])
        self.assertEqual([l for d, _ in sent for l in d.split(b"\n")], lines)
        self.assertEqual(sum(n for _, n in sent), len(lines))

    def test_events_match_the_agents_schema(self):
        client = make_client()
        client.event("api", {"endpoint": "/a", "method": "GET", "status": 200,
                             "duration_ms": 2, "user_id": None})
        client.event("score", {"name": "credit", "duration_ms": 0.5, "cached": True})
        client.flush()
        lines = client.transport.lines()
        self.assertEqual(lines[0], b'{"type":"api","endpoint":"/a","method":"GET",'
                                   b'"status":200,"duration_ms":2}')
        self.assertEqual(json.loads(lines[1]),
                         {"type": "score", "name": "credit", "duration_ms": 0.5, "cached": True})


class QueueTest(unittest.TestCase):
    def test_a_full_queue_drops_and_counts(self):
        client = make_client(queue_size=10)
        for i in range(25):
            api(client, i)
        self.assertEqual(client.stats()["queued"], 10)
        self.assertEqual(client.stats()["dropped"], {"queue_full": 15})
        client.flush()
        self.assertEqual(len(client.transport.events()), 10)
        # Room again once sent.
        api(client)
        client.flush()
        self.assertEqual(client.stats()["sent_lines"], 11)

    def test_a_blocked_sender_never_blocks_the_caller(self):
        # The resolver hangs (a DNS server that does not answer): the sender thread waits in
        # it, the caller goes on, the queue fills and the rest is dropped and counted.
        release = threading.Event()

        def hanging_resolver(*args, **kwargs):
            release.wait(30)
            raise OSError("no answer")

        transport = UdpTransport("agent.example:8125", resolver=hanging_resolver)
        client = Client(transport=transport, queue_size=100, flush_interval=0.001,
                        report_self=False)
        started = time.perf_counter()
        for i in range(5000):
            api(client, i)
        elapsed = time.perf_counter() - started
        release.set()
        self.assertTrue(client.flush(timeout=10))
        stats = client.stats()
        self.assertLess(elapsed, 2.0)  # about 10 ms; generous for a noisy machine
        self.assertEqual(stats["sent_lines"], 0)
        self.assertEqual(stats["dropped_total"], 5000)
        self.assertGreater(stats["dropped"]["queue_full"], 4000)
        self.assertGreater(stats["dropped"]["address_unresolved"], 0)
        client.close()

    def test_the_sender_thread_sends_without_flush(self):
        transport = FakeTransport()
        client = Client(transport=transport, flush_interval=0.01, report_self=False)
        for i in range(3):
            api(client, i)
        deadline = time.monotonic() + 10
        while len(transport.lines()) < 3 and time.monotonic() < deadline:
            time.sleep(0.005)
        self.assertEqual(len(transport.lines()), 3)
        client.close()
        api(client)
        self.assertEqual(client.stats()["dropped"], {"closed": 1})


def fork_and_run(fn):
    """Run fn() in a forked child; its exit status is 0 iff fn returned True."""
    pid = os.fork()
    if pid == 0:
        try:
            os._exit(0 if fn() else 1)
        finally:
            os._exit(2)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


@unittest.skipUnless(hasattr(os, "fork"), "needs fork")
class ForkTest(unittest.TestCase):
    def setUp(self):
        # A real UDP socket on loopback stands in for the agent.
        self.receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.receiver.bind(("127.0.0.1", 0))
        self.receiver.settimeout(10)
        self.address = "127.0.0.1:%d" % self.receiver.getsockname()[1]

    def tearDown(self):
        self.receiver.close()

    def received(self):
        return json.loads(self.receiver.recv(2000))["endpoint"]

    def test_a_forked_child_starts_its_own_sender_thread(self):
        client = Client(self.address, flush_interval=0.001, report_self=False)
        api(client, 1)
        client.flush(timeout=10)
        self.assertEqual(self.received(), "/items/<int:id>/1")
        parent_thread = client._thread

        def child():
            api(client, 2)
            thread = client._thread
            return (client.flush(timeout=10) and thread is not None
                    and thread is not parent_thread and thread.is_alive())

        self.assertEqual(fork_and_run(child), 0)
        self.assertEqual(self.received(), "/items/<int:id>/2")
        client.close()

    def test_what_the_parent_queued_is_sent_once(self):
        client = Client(self.address, background=False, report_self=False)
        api(client, 1)  # queued in the parent when it forks

        def child():
            api(client, 2)
            client.flush()
            return client.stats()["sent_lines"] == 1

        self.assertEqual(fork_and_run(child), 0)
        self.assertEqual(self.received(), "/items/<int:id>/2")
        client.flush()
        self.assertEqual(self.received(), "/items/<int:id>/1")
        self.receiver.settimeout(0.2)
        with self.assertRaises(socket.timeout):
            self.receiver.recv(2000)
        client.close()


class AddressTest(unittest.TestCase):
    def test_addresses(self):
        self.assertEqual(parse_address("127.0.0.1:8125"), ("127.0.0.1", 8125))
        self.assertEqual(parse_address("udp://agent:9000"), ("agent", 9000))
        self.assertEqual(parse_address("[::1]:8126"), ("::1", 8126))
        self.assertEqual(parse_address("::1"), ("::1", 8125))
        self.assertEqual(parse_address("agent"), ("agent", 8125))
        for bad in ("", "host:port", "host:0", "host:70000", "[::1", "[::1]x", ":8125"):
            with self.assertRaises(AddressError, msg=bad):
                parse_address(bad)

    def test_an_address_that_does_not_parse_is_counted(self):
        client = Client("agent:notaport", background=False, report_self=False)
        api(client)
        client.flush()
        self.assertEqual(client.stats()["dropped"], {"bad_address": 1})

    def test_an_address_that_does_not_resolve_is_retried_after_a_while(self):
        clock = FakeClock()
        calls = []

        def resolver(host, port, type):
            calls.append(host)
            raise OSError("Name or service not known")

        client = Client(transport=UdpTransport("nowhere.invalid:8125", clock, resolver),
                        background=False, report_self=False, clock=clock)
        for _ in range(3):
            api(client)
            client.flush()
        self.assertEqual(calls, ["nowhere.invalid"])  # once, not per datagram
        clock.advance(5.0)
        api(client)
        client.flush()
        self.assertEqual(calls, ["nowhere.invalid"] * 2)
        self.assertEqual(client.stats()["dropped"], {"address_unresolved": 4})

    def test_a_send_error_is_counted_per_line(self):
        client = make_client()
        client.transport.fail = OSError("ENOBUFS")
        for i in range(3):
            api(client, i)
        client.flush()
        self.assertEqual(client.stats()["dropped"], {"send_failed": 3})


class BadInputTest(unittest.TestCase):
    def test_nan_and_infinite_timings_are_dropped(self):
        client = make_client()
        api(client, duration_ms=math.nan)
        api(client, duration_ms=math.inf)
        client.timing("t", math.nan)
        client.gauge("g", -math.inf)
        api(client)  # and the good one still goes
        client.flush()
        self.assertEqual(client.stats()["dropped"], {"not_finite": 4})
        self.assertEqual(len(client.transport.events()), 1)

    def test_values_the_agent_would_refuse_are_dropped_by_reason(self):
        client = make_client()
        api(client, duration_ms=-1)                      # negative duration
        api(client, status=99)                           # not an HTTP status
        api(client, status=200.5)
        api(client, user_id=object())                    # not serialisable
        api(client, method=None)                         # required
        api(client, duration_ms="12")                    # text for a number
        api(client, duration_ms=True)                    # a bool is not a number
        client.event("experiment", {"experiment": "e", "variant": "a", "user_id": 1,
                                    "event": "click"})  # neither exposure nor conversion
        client.event("nonsense", {})
        client.increment("c", -1)                        # negative counter
        client.flush()
        self.assertEqual(client.stats()["dropped"], {
            "bad_field_value": 5, "wrong_field_type": 3, "missing_field": 1,
            "unknown_event_type": 1})
        self.assertEqual(client.transport.datagrams, [])

    def test_huge_strings_are_cut_and_counted(self):
        client = make_client()
        api(client, endpoint="/" + "a" * 100_000)
        client.event("db", {"query": "SELECT '" + "x" * 50_000 + "'", "duration_ms": 1})
        # Two bytes a character: cut further, to fit into a datagram.
        client.event("db", {"query": "SELECT '" + "é" * 50_000 + "'", "duration_ms": 1})
        client.event("feedback", {"user_id": "u" * 10_000, "kind": "k" * 5000, "rating": 5,
                                  "comment": '"\\\n' * 10_000})  # escapes: 2 bytes each
        client.flush()
        events = client.transport.events()
        self.assertEqual(len(events), 4)
        self.assertEqual(len(events[0]["endpoint"]), _wire.MAX_FIELD_CHARS)
        self.assertEqual(len(events[1]["query"]), _wire.LONG_FIELD_CHARS["query"])
        self.assertTrue(events[2]["query"].startswith("SELECT 'éé"))
        self.assertGreater(len(client.transport.lines()[2]), 1300)  # not cut much too far
        self.assertEqual(len(events[3]["user_id"]), _wire.MAX_FIELD_CHARS)
        self.assertTrue(all(len(d) < 1432 for d in client.transport.datagrams))
        self.assertGreaterEqual(client.stats()["truncated"], 6)
        self.assertEqual(client.stats()["dropped_total"], 0)

    def test_text_is_sent_as_valid_utf8(self):
        client = make_client()
        api(client, endpoint="/caf\udce9")  # a lone surrogate (surrogateescape)
        api(client, endpoint="/ünï/😀")
        client.flush()
        lines = client.transport.lines()
        for line in lines:
            line.decode("utf-8")  # strict
        self.assertEqual(json.loads(lines[0])["endpoint"], "/caf\ufffd")
        self.assertEqual(json.loads(lines[1])["endpoint"], "/ünï/😀")

    def test_statsd_lines_lose_the_characters_that_would_end_their_sections(self):
        client = make_client()
        client.increment("a:b|c#d", 2, {"k|ey": "v,al", "t": "x" * 400, "": "no key"})
        client.gauge("temp", -4.5, ["room:kitchen", "bare"])
        client.statsd("s", "member", "s")
        client.timing("t", 12, sample_rate=0.5)
        client.statsd("bad", 1, "zz")
        client.flush()
        lines = client.transport.statsd()
        self.assertEqual(lines[0], "a_b_c_d:2|c|#k_ey:v_al,t:" + "x" * 254)
        # A negative gauge: reset, then the delta (a signed gauge value adds in StatsD).
        self.assertEqual(lines[1:3], ["temp:0|g|#room:kitchen", "temp:-4.5|g|#room:kitchen"])
        self.assertEqual(lines[3:], ["s:member|s", "t:12|ms|@0.5"])
        self.assertEqual(client.transport.datagrams[0].count(b"temp"), 2)  # one datagram
        self.assertEqual(client.stats()["truncated"], 4)  # x * 400, no key, "bare" twice
        self.assertEqual(client.stats()["dropped"], {"unknown_type": 1})

    def test_an_object_whose_str_raises_is_dropped_not_raised(self):
        class Evil:
            def __str__(self):
                raise RuntimeError("no")
            __repr__ = __str__

        client = make_client()
        client.set("s", Evil())
        client.event("api", Evil())  # not even a dict
        client.flush()
        self.assertEqual(client.stats()["dropped"], {"unserialisable": 2})

    def test_self_metrics_report_drops_to_the_agent(self):
        client = make_client(queue_size=1, report_self=True)
        api(client, 1)
        api(client, 2)  # queue full
        client.flush()
        api(client, duration_ms=math.nan)
        client.flush()
        self.assertEqual(client.transport.statsd(), [
            "mingus_sdk.dropped:1|c|#reason:queue_full,sdk:python",
            "mingus_sdk.dropped:1|c|#reason:not_finite,sdk:python"])
        client.flush()  # nothing new: nothing reported
        self.assertEqual(len(client.transport.statsd()), 2)


if __name__ == "__main__":
    unittest.main()
