"""optimize_score_calculation and parallel_score_calculation: memoisation with TTL, batch
order, per-item errors, and the environment's switches."""

import threading
import unittest

from support import FakeClock, make_client, mingus_monitor

from mingus_monitor import BatchResult, CacheManager, ScoreOptimizer


class Fixture(unittest.TestCase):
    def setUp(self):
        self.clock = FakeClock()
        self.client = make_client(self.clock)

    def configure(self, **environ):
        environ = {k: str(v) for k, v in environ.items()}
        mingus_monitor.configure(client=self.client, clock=self.clock, environ=environ)

    def tearDown(self):
        mingus_monitor.configure(environ={})

    def score_events(self):
        self.client.flush()
        return [e for e in self.client.transport.events() if e["type"] == "score"]


class OptimizeTest(Fixture):
    def test_memoised_by_input_with_ttl(self):
        self.configure(CACHE_TTL=100)
        calls = []

        @mingus_monitor.optimize_score_calculation
        def credit(profile):
            calls.append(profile["id"])
            self.clock.advance(0.25)  # the calculation takes 250 ms
            return profile["income"] / 1000

        self.assertEqual(credit({"id": 1, "income": 5000}), 5.0)
        self.assertEqual(credit({"income": 5000, "id": 1}), 5.0)  # same input, other order
        self.assertEqual(credit({"id": 2, "income": 7000}), 7.0)
        self.clock.advance(100)
        credit({"id": 1, "income": 5000})
        self.assertEqual(calls, [1, 2, 1])
        events = self.score_events()
        self.assertEqual([(e["name"], e["cached"], e["input_size"]) for e in events],
                         [("credit", False, 2), ("credit", True, 2), ("credit", False, 2),
                          ("credit", False, 2)])
        self.assertEqual(events[0]["duration_ms"], 250.0)
        self.assertEqual(events[1]["duration_ms"], 0.0)

    def test_with_arguments_and_cache_disabled(self):
        self.configure(CACHE_ENABLED="false")
        calls = []

        @mingus_monitor.optimize_score_calculation(ttl=5, name="risk")
        def risk(x):
            calls.append(x)
            return x * 2

        risk(1)
        risk(1)
        self.assertEqual(calls, [1, 1])
        self.assertEqual({e["name"] for e in self.score_events()}, {"risk"})

    def test_cache_max_size(self):
        self.configure(CACHE_MAX_SIZE=2)
        calls = []

        @mingus_monitor.optimize_score_calculation
        def f(x):
            calls.append(x)
            return x

        for x in (1, 2, 3, 1):  # 3 evicts 1
            f(x)
        self.assertEqual(calls, [1, 2, 3, 1])

    def test_exceptions_pass_through_and_are_not_memoised(self):
        self.configure()
        calls = []

        @mingus_monitor.optimize_score_calculation
        def f(x):
            calls.append(x)
            raise ValueError("bad input")

        for _ in range(2):
            with self.assertRaises(ValueError):
                f(1)
        self.assertEqual(calls, [1, 1])


class ParallelTest(Fixture):
    def test_order_is_kept_and_errors_are_reported_per_item(self):
        self.configure(MAX_WORKERS=4)
        threads = set()

        @mingus_monitor.parallel_score_calculation(max_workers=4)
        def score(item, scale=1):
            threads.add(threading.get_ident())
            if item % 7 == 3:
                raise ValueError(f"item {item}")
            return item * scale

        result = score(range(100), scale=10)
        self.assertIsInstance(result, BatchResult)
        self.assertEqual(len(result), 100)
        failed = {i for i in range(100) if i % 7 == 3}
        self.assertEqual(set(result.errors), failed)
        self.assertTrue(all(str(result.errors[i]) == f"item {i}" for i in failed))
        self.assertEqual([r for i, r in enumerate(result) if i not in failed],
                         [i * 10 for i in range(100) if i not in failed])
        self.assertTrue(all(result[i] is None for i in failed))
        self.assertFalse(result.ok)
        self.assertNotIn(threading.get_ident(), threads)  # ran on the pool
        self.assertLessEqual(len(threads), 4)
        events = self.score_events()
        self.assertEqual([(e["name"], e["input_size"]) for e in events], [("score.batch", 100)])
        self.assertIn(f"mingus.score.errors:{len(failed)}|c|#score:score",
                      self.client.transport.statsd())

    def test_really_concurrent(self):
        self.configure()
        barrier = threading.Barrier(3, timeout=10)

        @mingus_monitor.parallel_score_calculation(3)
        def wait_for_the_others(item):
            barrier.wait()  # returns only when three items run at once
            return item

        self.assertEqual(list(wait_for_the_others([1, 2, 3])), [1, 2, 3])

    def test_parallel_processing_disabled_runs_in_the_caller(self):
        self.configure(PARALLEL_PROCESSING_ENABLED="false")
        threads = set()

        @mingus_monitor.parallel_score_calculation
        def score(item):
            threads.add(threading.get_ident())
            return -item

        self.assertEqual(list(score([1, 2, 3])), [-1, -2, -3])
        self.assertEqual(threads, {threading.get_ident()})

    def test_a_batch_inside_a_batch_does_not_deadlock(self):
        self.configure()

        @mingus_monitor.parallel_score_calculation(2)
        def total(item):
            if isinstance(item, list):
                # A batch from one of the pool's threads runs in that thread, rather than
                # waiting for the pool's other threads, which may all be doing the same.
                return sum(total(item))
            return item

        self.assertEqual(list(total([[1, 2], [3, 4], [5], [[6, 7], 8]])), [3, 7, 5, 21])

    def test_empty_batch(self):
        self.configure()
        score = mingus_monitor.parallel_score_calculation(2)(lambda x: x)
        self.assertEqual(list(score([])), [])

    def test_max_workers_from_the_environment(self):
        self.configure(MAX_WORKERS=3)
        self.assertEqual(mingus_monitor.score_optimizer.max_workers, 3)

        @mingus_monitor.parallel_score_calculation
        def f(x):
            return x

        f([1, 2])
        self.assertEqual(f.current().pool.max_workers, 3)

    def test_optimizer_on_its_own(self):
        cache = CacheManager("s", 10, 60, client=self.client, clock=self.clock)
        optimizer = ScoreOptimizer(self.client, cache, parallel_enabled=True, max_workers=2,
                                   clock=self.clock)
        memo = optimizer.optimize(lambda x: x + 1, name="inc")
        batch = optimizer.parallel(name="incs")(memo)
        self.assertEqual(list(batch([1, 2, 1, 2])), [2, 3, 2, 3])
        self.assertEqual(cache.stats()["computes"], 2)


if __name__ == "__main__":
    unittest.main()
