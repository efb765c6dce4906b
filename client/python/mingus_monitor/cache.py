"""An in-process cache (the seed's cache_manager): LRU with a maximum size and a TTL per
entry, invalidation by key, prefix or tag, and single-flight get_or_compute; plus the
cache_api_response and cache_database_query decorators.

Every lookup is reported to the agent as a `cache` event (result hit or miss) and every entry
pushed out by the size limit as one with result eviction: mingus_cache_requests_total{cache,
result} on the agent's /metrics.
"""

import collections
import datetime
import decimal
import functools
import hashlib
import json
import math
import threading
import uuid

from ._clock import REAL_CLOCK

_MISSING = object()


def _tagset(tags):
    if not tags:
        return frozenset()
    if isinstance(tags, str):
        return frozenset((tags,))
    return frozenset(tags)


class _Entry:
    __slots__ = ("value", "expires", "tags")

    def __init__(self, value, expires, tags):
        self.value = value
        self.expires = expires
        self.tags = tags


class _Flight:
    """One computation in progress; callers that miss on the same key wait for it."""
    __slots__ = ("done", "value", "error", "valid", "tags")

    def __init__(self, tags):
        self.done = threading.Event()
        self.value = None
        self.error = None
        self.valid = True  # False once invalidated: the result is handed out, not stored
        self.tags = tags


class CacheManager:
    """A thread-safe LRU cache with per-entry TTL.

    name: the `cache` label of its events. max_size: entries at most (CACHE_MAX_SIZE, 0: none
    are kept). default_ttl: seconds (CACHE_TTL); a ttl of 0 or less stores nothing, None means
    the default, math.inf never expires. enabled=False (CACHE_ENABLED=false): nothing is kept,
    get_or_compute always computes. client: where the events go (None: nowhere).
    """

    def __init__(self, name="default", max_size=1000, default_ttl=300.0, enabled=True,
                 client=None, clock=None, report=True):
        self.name = name
        self.max_size = max(0, int(max_size))
        self.default_ttl = float(default_ttl)
        self.enabled = bool(enabled)
        self._client = client
        self._clock = clock or (client.clock if client is not None else REAL_CLOCK)
        self._report = report and client is not None
        self._lock = threading.Lock()
        self._entries = collections.OrderedDict()  # least recently used first
        self._by_tag = {}
        self._flights = {}
        self._stats = collections.Counter()

    # ------------------------------------------------------------------ reading

    def get(self, key, default=None, label=None):
        """The value for key, or default when absent or expired."""
        try:
            with self._lock:
                value = self._lookup(key)
        except TypeError:  # an unhashable key
            self._stats["bad_keys"] += 1
            return default
        self._event("miss" if value is _MISSING else "hit", label)
        return default if value is _MISSING else value

    def __contains__(self, key):
        try:
            with self._lock:
                entry = self._entries.get(key)
                return entry is not None and entry.expires > self._clock.monotonic()
        except TypeError:
            return False

    def __len__(self):
        return len(self._entries)

    def _lookup(self, key):
        """Under the lock: the live value (now the most recently used) or _MISSING."""
        entry = self._entries.get(key)
        if entry is None:
            self._stats["misses"] += 1
            return _MISSING
        if entry.expires <= self._clock.monotonic():
            self._remove(key, entry)
            self._stats["expirations"] += 1
            self._stats["misses"] += 1
            return _MISSING
        self._entries.move_to_end(key)
        self._stats["hits"] += 1
        return entry.value

    # ------------------------------------------------------------------ writing

    def set(self, key, value, ttl=None, tags=()):
        """Store value under key for ttl seconds (default_ttl when None), tagged."""
        if not self.enabled:
            return
        try:
            with self._lock:
                evicted = self._store(key, value, ttl, tags)
        except TypeError:
            self._stats["bad_keys"] += 1
            return
        for _ in range(evicted):
            self._event("eviction")

    def _ttl(self, ttl):
        if ttl is None:
            return self.default_ttl
        try:
            ttl = float(ttl)
        except (TypeError, ValueError):
            return self.default_ttl
        return self.default_ttl if math.isnan(ttl) else ttl

    def _store(self, key, value, ttl, tags):
        """Under the lock; returns how many entries the size limit evicted."""
        ttl = self._ttl(ttl)
        tags = _tagset(tags)
        old = self._entries.get(key)
        if old is not None:
            self._remove(key, old)
        if ttl <= 0 or self.max_size == 0:
            return 0
        self._entries[key] = _Entry(value, self._clock.monotonic() + ttl, tags)
        for tag in tags:
            self._by_tag.setdefault(tag, set()).add(key)
        self._stats["sets"] += 1
        evicted = 0
        while len(self._entries) > self.max_size:
            oldest, entry = next(iter(self._entries.items()))
            self._remove(oldest, entry)
            evicted += 1
        self._stats["evictions"] += evicted
        return evicted

    def _remove(self, key, entry):
        del self._entries[key]
        for tag in entry.tags:
            keys = self._by_tag.get(tag)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_tag[tag]

    # ------------------------------------------------------------------ invalidation

    def invalidate(self, key):
        """Remove key (and keep a computation of it in progress from being stored).
        Returns True when an entry was removed."""
        try:
            with self._lock:
                flight = self._flights.get(key)
                if flight is not None:
                    flight.valid = False
                entry = self._entries.get(key)
                if entry is None:
                    return False
                self._remove(key, entry)
                self._stats["invalidations"] += 1
                return True
        except TypeError:
            return False

    delete = invalidate

    def invalidate_prefix(self, prefix):
        """Remove every text key starting with prefix; returns how many."""
        if not isinstance(prefix, str):
            return 0
        return self._invalidate_where(
            lambda key, tags: isinstance(key, str) and key.startswith(prefix))

    def invalidate_tag(self, tag):
        """Remove every entry tagged `tag`; returns how many."""
        try:
            hash(tag)
        except TypeError:
            return 0
        with self._lock:
            for flight in self._flights.values():
                if tag in flight.tags:
                    flight.valid = False
            keys = list(self._by_tag.get(tag, ()))
            for key in keys:
                self._remove(key, self._entries[key])
            self._stats["invalidations"] += len(keys)
            return len(keys)

    def clear(self):
        """Remove everything; returns how many entries there were."""
        return self._invalidate_where(lambda key, tags: True)

    def _invalidate_where(self, matches):
        with self._lock:
            for key, flight in self._flights.items():
                if matches(key, flight.tags):
                    flight.valid = False
            keys = [k for k, e in self._entries.items() if matches(k, e.tags)]
            for key in keys:
                self._remove(key, self._entries[key])
            self._stats["invalidations"] += len(keys)
            return len(keys)

    # ------------------------------------------------------------------ single flight

    def get_or_compute(self, key, compute, ttl=None, tags=(), label=None):
        """The cached value for key, else compute() stored for ttl seconds. Concurrent misses
        on one key compute once: the others wait for that result (or its exception, which
        each of them raises). compute's own exceptions are passed on; nothing is stored."""
        return self.lookup_or_compute(key, compute, ttl, tags, label)[0]

    def lookup_or_compute(self, key, compute, ttl=None, tags=(), label=None):
        """get_or_compute, also saying whether this call computed the value: (value, computed)."""
        if not self.enabled:
            return compute(), True
        try:
            with self._lock:
                value = self._lookup(key)
                if value is not _MISSING:
                    leader = None
                else:
                    flight = self._flights.get(key)
                    leader = flight is None
                    if leader:
                        flight = self._flights[key] = _Flight(_tagset(tags))
                    else:
                        self._stats["coalesced"] += 1
        except TypeError:  # an unhashable key: no caching
            self._stats["bad_keys"] += 1
            return compute(), True
        if leader is None:
            self._event("hit", label)
            return value, False
        self._event("miss", label)
        if not leader:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            return flight.value, False
        evicted = 0
        try:
            flight.value = compute()
        except BaseException as e:
            flight.error = e
            raise
        finally:
            with self._lock:
                if self._flights.get(key) is flight:
                    del self._flights[key]
                if flight.error is None and flight.valid and self.enabled:
                    evicted = self._store(key, flight.value, ttl, flight.tags)
                self._stats["computes"] += 1
            flight.done.set()
            for _ in range(evicted):
                self._event("eviction", label)
        return flight.value, True

    # ------------------------------------------------------------------ reporting

    def stats(self):
        """hits, misses, evictions (size limit), expirations, invalidations, sets, computes,
        coalesced (misses that waited for another caller's computation), bad_keys, size,
        max_size and hit_rate."""
        with self._lock:
            stats = dict(self._stats)
            size = len(self._entries)
        for name in ("hits", "misses", "evictions", "expirations", "invalidations", "sets",
                     "computes", "coalesced", "bad_keys"):
            stats.setdefault(name, 0)
        lookups = stats["hits"] + stats["misses"]
        stats.update(size=size, max_size=self.max_size,
                     hit_rate=stats["hits"] / lookups if lookups else 0.0)
        return stats

    def _event(self, result, label=None):
        if self._report:
            self._client.event("cache", {"cache": label or self.name, "result": result})


# ---------------------------------------------------------------------------- keys

class _Uncacheable(TypeError):
    pass


def _key_default(value):
    """JSON for the argument types that have one obvious textual identity."""
    if isinstance(value, (set, frozenset)):
        try:
            return {"__set__": sorted(value)}
        except TypeError:
            raise _Uncacheable(type(value).__name__) from None
    if isinstance(value, (bytes, bytearray)):
        return {"__bytes__": bytes(value).hex()}
    if isinstance(value, (datetime.date, datetime.time, datetime.timedelta, decimal.Decimal,
                          uuid.UUID)):
        return {"__" + type(value).__name__ + "__": str(value)}
    raise _Uncacheable(type(value).__name__)


_key_json = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=_key_default,
                             ensure_ascii=False).encode


def input_hash(args, kwargs=None):
    """A stable hash of a call's arguments (JSON with sorted keys, SHA-256), or None when an
    argument has no stable textual form (an arbitrary object: its repr may hold its address)."""
    try:
        text = _key_json([list(args), kwargs or {}])
    except (TypeError, ValueError, RecursionError):
        return None
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def function_name(fn):
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def make_cache_decorator(kind, get_cache):
    """cache_api_response / cache_database_query: caches a function's results by its
    arguments under the key "<kind>:<module.function>:<input hash>" in get_cache() (looked up
    at each call, so that mingus_monitor.configure() applies), single-flight.

    ttl: seconds (default CACHE_TTL). key: a function of the call's arguments returning the
    key's last part, for arguments without a stable JSON form (methods' self, ORM objects);
    otherwise calls with such arguments are not cached (counted as uncacheable). tags: tags of
    every entry. The wrapper's cache_prefix is its keys' prefix and invalidate() drops them.
    Cache what a view computes (dicts, lists), not framework response objects.
    """
    def decorator_factory(ttl=None, key=None, tags=(), cache=None):
        if callable(ttl) and key is None and not tags and cache is None:
            return decorator_factory()(ttl)  # used bare: @cache_api_response

        def decorator(fn):
            prefix = f"{kind}:{function_name(fn)}:"

            @functools.wraps(fn)
            def wrapper(*args, **kwargs):
                manager = cache if cache is not None else get_cache()
                if not manager.enabled:
                    return fn(*args, **kwargs)
                try:
                    if key is not None:
                        suffix = str(key(*args, **kwargs))
                    else:
                        suffix = input_hash(args, kwargs)
                except Exception:  # noqa: BLE001 - a key function that fails: no caching
                    suffix = None
                if suffix is None:
                    with manager._lock:
                        manager._stats["uncacheable"] += 1
                    return fn(*args, **kwargs)
                return manager.get_or_compute(prefix + suffix, lambda: fn(*args, **kwargs),
                                              ttl, tags, label=kind)

            wrapper.cache_prefix = prefix
            wrapper.invalidate = lambda: (
                cache if cache is not None else get_cache()).invalidate_prefix(prefix)
            return wrapper
        return decorator
    return decorator_factory
