"""CacheManager on a fake clock: TTL, LRU eviction, invalidation, single flight; and the
cache_api_response / cache_database_query decorators."""

import threading
import time
import unittest

from support import FakeClock, make_client, mingus_monitor

from mingus_monitor import CacheManager, input_hash


def cache_of(max_size=3, ttl=10.0, **options):
    clock = FakeClock()
    client = make_client(clock)
    return CacheManager("test", max_size, ttl, client=client, clock=clock, **options), clock, client


def wait_for(predicate, timeout=10.0):
    """Poll until predicate() holds (threads reaching a point); fails the test after timeout."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.001)


class TtlTest(unittest.TestCase):
    def test_an_entry_lives_for_its_ttl(self):
        cache, clock, _ = cache_of(ttl=10)
        cache.set("a", 1)
        cache.set("b", 2, ttl=30)
        clock.advance(9.999)
        self.assertEqual(cache.get("a"), 1)
        clock.advance(0.001)
        self.assertIsNone(cache.get("a"))
        self.assertEqual(cache.get("b"), 2)
        clock.advance(20)
        self.assertEqual(cache.get("b", "gone"), "gone")
        stats = cache.stats()
        self.assertEqual((stats["hits"], stats["misses"], stats["expirations"]), (2, 2, 2))
        self.assertEqual(stats["size"], 0)

    def test_ttl_zero_stores_nothing_and_bad_ttls_mean_the_default(self):
        cache, clock, _ = cache_of(ttl=10)
        cache.set("a", 1, ttl=0)
        self.assertNotIn("a", cache)
        cache.set("b", 1, ttl=float("nan"))
        cache.set("c", 1, ttl="soon")
        clock.advance(9)
        self.assertIn("b", cache)
        self.assertIn("c", cache)
        cache.set("d", 1, ttl=float("inf"))
        clock.advance(1e9)
        self.assertIn("d", cache)


class EvictionTest(unittest.TestCase):
    def test_the_least_recently_used_entry_goes_first(self):
        cache, _, client = cache_of(max_size=3)
        for key in "abc":
            cache.set(key, key.upper())
        self.assertEqual(cache.get("a"), "A")  # a is now the most recently used
        cache.set("d", "D")                    # evicts b
        self.assertNotIn("b", cache)
        self.assertEqual([cache.get(k) for k in "acd"], ["A", "C", "D"])
        cache.set("e", "E")                    # evicts a (c, d read after it)
        self.assertNotIn("a", cache)
        self.assertEqual(cache.stats()["evictions"], 2)
        self.assertEqual(len(cache), 3)
        client.flush()
        results = [e["result"] for e in client.transport.events()]
        self.assertEqual(results.count("eviction"), 2)
        self.assertEqual(results.count("hit"), 4)
        self.assertTrue(all(e == {"type": "cache", "cache": "test", "result": e["result"]}
                            for e in client.transport.events()))

    def test_max_size_zero_keeps_nothing(self):
        cache, _, _ = cache_of(max_size=0)
        cache.set("a", 1)
        self.assertEqual(cache.get_or_compute("b", lambda: 2), 2)
        self.assertEqual(len(cache), 0)

    def test_disabled(self):
        cache, _, client = cache_of(enabled=False)
        cache.set("a", 1)
        self.assertIsNone(cache.get("a"))
        calls = []
        for _ in range(3):
            cache.get_or_compute("b", lambda: calls.append(1))
        self.assertEqual(len(calls), 3)


class InvalidationTest(unittest.TestCase):
    def test_by_key_prefix_and_tag(self):
        cache, _, _ = cache_of(max_size=100)
        cache.set("user:1:profile", 1, tags=("user:1",))
        cache.set("user:1:budget", 2, tags=("user:1", "budget"))
        cache.set("user:2:budget", 3, tags="budget")  # one tag given as text
        cache.set("user:22:profile", 4)
        cache.set(("tuple", "key"), 5)
        self.assertTrue(cache.invalidate("user:1:profile"))
        self.assertFalse(cache.invalidate("user:1:profile"))
        self.assertEqual(cache.invalidate_tag("budget"), 2)
        self.assertEqual(cache.invalidate_prefix("user:2"), 1)  # user:22:profile
        self.assertEqual(len(cache), 1)
        self.assertEqual(cache.get(("tuple", "key")), 5)
        self.assertEqual(cache.clear(), 1)
        self.assertEqual(cache.stats()["invalidations"], 5)

    def test_a_replaced_entry_leaves_its_old_tags(self):
        cache, _, _ = cache_of()
        cache.set("k", 1, tags=("old",))
        cache.set("k", 2, tags=("new",))
        self.assertEqual(cache.invalidate_tag("old"), 0)
        self.assertEqual(cache.get("k"), 2)

    def test_bad_keys_and_tags_never_raise(self):
        cache, _, _ = cache_of()
        cache.set(["unhashable"], 1)
        self.assertIsNone(cache.get(["unhashable"]))
        self.assertFalse(cache.invalidate({}))
        self.assertEqual(cache.invalidate_tag([]), 0)
        self.assertEqual(cache.invalidate_prefix(None), 0)
        cache.set("k", 1, tags=[["unhashable"]])
        self.assertEqual(cache.get_or_compute([], lambda: 7), 7)
        self.assertEqual(cache.stats()["bad_keys"], 4)


class SingleFlightTest(unittest.TestCase):
    def test_concurrent_misses_compute_once(self):
        cache, _, client = cache_of()
        threads_n = 16
        computing = threading.Event()
        release = threading.Event()
        calls = []

        def compute():
            calls.append(threading.get_ident())
            computing.set()
            release.wait(10)
            return "value"

        results = []
        barrier = threading.Barrier(threads_n)

        def worker():
            barrier.wait()
            results.append(cache.get_or_compute("key", compute))

        threads = [threading.Thread(target=worker) for _ in range(threads_n)]
        for t in threads:
            t.start()
        computing.wait(10)
        # Every other thread has missed and is waiting for the one computation.
        wait_for(lambda: cache.stats()["coalesced"] == threads_n - 1)
        release.set()
        for t in threads:
            t.join(10)
        self.assertEqual(len(calls), 1)
        self.assertEqual(results, ["value"] * threads_n)
        self.assertEqual(cache.get("key"), "value")
        stats = cache.stats()
        self.assertEqual((stats["computes"], stats["misses"]), (1, threads_n))

    def test_an_exception_reaches_every_waiter_and_nothing_is_stored(self):
        cache, _, _ = cache_of()
        computing, release = threading.Event(), threading.Event()

        def compute():
            computing.set()
            release.wait(10)
            raise ValueError("no score")

        errors = []

        def worker():
            try:
                cache.get_or_compute("k", compute)
            except ValueError as e:
                errors.append(e)

        first = threading.Thread(target=worker)
        first.start()
        computing.wait(10)
        others = [threading.Thread(target=worker) for _ in range(4)]
        for t in others:
            t.start()
        wait_for(lambda: cache.stats()["coalesced"] == 4)
        release.set()
        for t in [first] + others:
            t.join(10)
        self.assertEqual(len(errors), 5)
        self.assertNotIn("k", cache)
        self.assertEqual(cache.get_or_compute("k", lambda: 1), 1)  # computes again

    def test_invalidation_during_the_computation_keeps_its_result_out(self):
        cache, _, _ = cache_of()
        computing, release = threading.Event(), threading.Event()

        def compute():
            computing.set()
            release.wait(10)
            return "stale"

        out = []
        t = threading.Thread(target=lambda: out.append(
            cache.get_or_compute("user:1", compute, tags=("u1",))))
        t.start()
        computing.wait(10)
        cache.invalidate_tag("u1")
        release.set()
        t.join(10)
        self.assertEqual(out, ["stale"])  # the caller gets what it asked for
        self.assertNotIn("user:1", cache)  # but it is not kept


class DecoratorTest(unittest.TestCase):
    def setUp(self):
        self.clock = FakeClock()
        self.client = make_client(self.clock)
        mingus_monitor.configure(client=self.client, clock=self.clock,
                                 environ={"CACHE_TTL": "60", "CACHE_MAX_SIZE": "100"})

    def tearDown(self):
        mingus_monitor.configure(environ={})

    def test_cache_api_response_by_arguments(self):
        calls = []

        @mingus_monitor.cache_api_response(ttl=30)
        def budget(user_id, month="2025-06"):
            calls.append((user_id, month))
            return {"user": user_id, "total": len(calls)}

        self.assertEqual(budget(1), {"user": 1, "total": 1})
        self.assertEqual(budget(1), {"user": 1, "total": 1})
        self.assertEqual(budget(1, month="2025-06"), {"user": 1, "total": 2})  # other kwargs
        self.assertEqual(budget(2)["total"], 3)
        self.clock.advance(30)
        self.assertEqual(budget(1)["total"], 4)
        self.assertEqual(budget.invalidate(), 3)
        self.assertEqual(budget(2)["total"], 5)
        self.client.flush()
        caches = {e["cache"] for e in self.client.transport.events()}
        self.assertEqual(caches, {"api_response"})

    def test_cache_database_query_uses_cache_ttl_by_default_and_skips_uncacheable_args(self):
        calls = []

        class Repo:
            pass

        @mingus_monitor.cache_database_query
        def rows(repo, table):
            calls.append(table)
            return [table]

        @mingus_monitor.cache_database_query(key=lambda repo, table: table)
        def keyed_rows(repo, table):
            calls.append("keyed:" + table)
            return [table]

        repo = Repo()
        rows(repo, "users")
        rows(repo, "users")  # an object argument has no stable key: computed again
        keyed_rows(repo, "users")
        keyed_rows(repo, "users")
        self.assertEqual(calls, ["users", "users", "keyed:users"])
        self.assertEqual(mingus_monitor.cache_manager.stats()["uncacheable"], 2)
        self.clock.advance(59)
        keyed_rows(repo, "users")
        self.clock.advance(1)  # CACHE_TTL=60
        keyed_rows(repo, "users")
        self.assertEqual(calls[-1], "keyed:users")
        self.assertEqual(len(calls), 4)

    def test_cache_enabled_false_calls_through(self):
        mingus_monitor.configure(client=self.client, clock=self.clock,
                                 environ={"CACHE_ENABLED": "false"})
        calls = []

        @mingus_monitor.cache_api_response(ttl=30)
        def view():
            calls.append(1)
            return 1

        view()
        view()
        self.assertEqual(len(calls), 2)

    def test_input_hash_is_stable_and_tells_inputs_apart(self):
        self.assertEqual(input_hash(({"b": 1, "a": [1, 2]},)), input_hash(({"a": [1, 2], "b": 1},)))
        self.assertNotEqual(input_hash((1,)), input_hash(("1",)))
        self.assertNotEqual(input_hash((1,), {"x": 1}), input_hash((1,), {"x": 2}))
        self.assertEqual(input_hash(({1, 2, 3},)), input_hash(({3, 2, 1},)))
        self.assertIsNone(input_hash((object(),)))
        self.assertIsNone(input_hash(({1, "a"},)))  # a set with no order
        # Fixed across runs and processes (no hash randomisation in it): SHA-256 of
        # '[["credit",42],{}]'.
        self.assertEqual(input_hash(("credit", 42)), "5596c82a49a6772274a1276107f4c4e2")


if __name__ == "__main__":
    unittest.main()
