"""Score calculation: memoised by input hash (the seed's optimize_score_calculation) and in
parallel over a batch (parallel_score_calculation). Timings go to the agent as `score`
events (mingus_score_duration_seconds{score}, mingus_score_calculations_total{cached,score}).
"""

import concurrent.futures
import functools
import os
import threading
import weakref

from .cache import CacheManager, function_name, input_hash

_pools = weakref.WeakSet()
_worker = threading.local()


class BatchResult(list):
    """A batch's results in input order; a failed item holds None there and its exception in
    `errors` (index -> exception)."""

    def __init__(self, results, errors):
        super().__init__(results)
        self.errors = errors

    @property
    def ok(self):
        return not self.errors

    def succeeded(self):
        """(index, result) of the items that did not fail."""
        return [(i, r) for i, r in enumerate(self) if i not in self.errors]


def _input_size(args):
    if not args:
        return None
    try:
        return len(args[0])
    except Exception:  # noqa: BLE001 - not sized
        return None


class _Pool:
    """A thread pool made on first use, and again in a forked child."""

    def __init__(self, max_workers, name):
        self.max_workers = max_workers
        self.name = name
        self._executor = None
        self._lock = threading.Lock()
        _pools.add(self)

    def executor(self):
        with self._lock:
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(
                    self.max_workers, thread_name_prefix=f"mingus-score-{self.name}",
                    initializer=self._mark)
            return self._executor

    def _mark(self):
        _worker.pool = self

    def in_worker(self):
        return getattr(_worker, "pool", None) is self

    def after_fork(self):
        self._executor = None
        self._lock = threading.Lock()

    def shutdown(self):
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=False)
                self._executor = None


class ScoreOptimizer:
    """Memoisation and parallel batches for score functions.

    cache: where memoised scores live (its size, TTL and enabled flag come from CACHE_MAX_SIZE,
    CACHE_TTL and CACHE_ENABLED). parallel_enabled (PARALLEL_PROCESSING_ENABLED) and
    max_workers (MAX_WORKERS): batches run on a thread pool of that many threads, or in the
    caller when disabled. Threads help scores that wait (I/O, a database, a C extension that
    releases the GIL); pure-Python arithmetic gains nothing from them.
    """

    def __init__(self, client, cache=None, parallel_enabled=True, max_workers=4, clock=None):
        self._client = client
        self._clock = clock or client.clock
        if cache is None:
            cache = CacheManager("score", client=client, clock=self._clock)
        self.cache = cache
        self.parallel_enabled = bool(parallel_enabled)
        self.max_workers = max(1, int(max_workers))
        self.configuration = object()  # a new one each time the optimizer is configured

    def _record(self, name, started, input_size, cached):
        duration = (self._clock.monotonic() - started) * 1000.0
        self._client.event("score", {"name": name, "duration_ms": duration,
                                     "input_size": input_size, "cached": cached})

    def optimize(self, fn=None, *, ttl=None, name=None, key=None):
        """Decorator: fn's results memoised by the hash of its arguments for ttl seconds
        (default CACHE_TTL), concurrent calls with the same input computed once. Each call
        sends a `score` event (cached true or false) named `name` (default: the function's
        name). Arguments without a stable JSON form are computed every time unless `key`
        (a function of the arguments) names them."""
        if fn is None:
            return lambda f: self.optimize(f, ttl=ttl, name=name, key=key)
        score_name = name or getattr(fn, "__name__", "score")
        prefix = f"score:{function_name(fn)}:"

        @functools.wraps(fn)
        def optimized(*args, **kwargs):
            started = self._clock.monotonic()
            cache = self.cache
            digest = None
            if cache.enabled:
                try:
                    if key is not None:
                        digest = str(key(*args, **kwargs))
                    else:
                        digest = input_hash(args, kwargs)
                except Exception:  # noqa: BLE001
                    digest = None
            computed = True
            if digest is None:
                value = fn(*args, **kwargs)
            else:
                value, computed = cache.lookup_or_compute(
                    prefix + digest, lambda: fn(*args, **kwargs), ttl)
            try:
                self._record(score_name, started, _input_size(args), not computed)
            except Exception:  # noqa: BLE001
                self._client.count_drop("internal_error")
            return value

        optimized.cache_prefix = prefix
        optimized.invalidate = lambda: self.cache.invalidate_prefix(prefix)
        return optimized

    def parallel(self, max_workers=None, *, name=None):
        """Decorator for a function of one item: the wrapper takes an iterable of items (and
        any further arguments, passed to every call) and returns a BatchResult in input
        order, each item's exception in .errors instead of raised. Runs on a pool of
        max_workers threads (default MAX_WORKERS); in the caller when parallel processing is
        off, for a batch of one, or when called from one of the pool's own threads (a batch
        inside a batch). One `score` event per batch, named "<name>.batch", and
        mingus_score_errors_total{score} counts the failed items. wrapper.single(item) calls
        the function on one item."""
        if callable(max_workers):
            return self.parallel()(max_workers)  # used bare

        def decorator(fn):
            score_name = (name or getattr(fn, "__name__", "score")) + ".batch"
            pool = _Pool(max(1, int(max_workers or self.max_workers)),
                         getattr(fn, "__name__", "score"))

            def run_chunk(items, start, args, kwargs):
                out = []
                for offset, item in enumerate(items):
                    try:
                        out.append((fn(item, *args, **kwargs), None))
                    except Exception as e:  # noqa: BLE001 - reported per item
                        out.append((None, e))
                return start, out

            @functools.wraps(fn)
            def batch(items, *args, **kwargs):
                started = self._clock.monotonic()
                items = list(items)
                results, errors = [None] * len(items), {}
                workers = min(pool.max_workers, len(items))
                if self.parallel_enabled and workers > 1 and not pool.in_worker():
                    # A few chunks per worker: fewer futures than items, and a slow item holds
                    # up only its own chunk.
                    size = max(1, -(-len(items) // (workers * 4)))
                    chunks, pending = [], []
                    for i in range(0, len(items), size):
                        try:
                            pending.append(pool.executor().submit(
                                run_chunk, items[i:i + size], i, args, kwargs))
                        except RuntimeError:  # no new threads (the interpreter is exiting)
                            chunks.append(run_chunk(items[i:i + size], i, args, kwargs))
                    chunks += [f.result() for f in pending]
                else:
                    chunks = [run_chunk(items, 0, args, kwargs)]
                for start, out in chunks:
                    for offset, (value, error) in enumerate(out):
                        if error is None:
                            results[start + offset] = value
                        else:
                            errors[start + offset] = error
                try:
                    self._record(score_name, started, len(items), False)
                    if errors:
                        self._client.increment("mingus.score.errors", len(errors),
                                               {"score": score_name[:-len(".batch")]})
                except Exception:  # noqa: BLE001
                    self._client.count_drop("internal_error")
                return BatchResult(results, errors)

            batch.single = fn
            batch.pool = pool
            return batch
        return decorator


def _after_fork_in_child():
    for pool in list(_pools):
        pool.after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
