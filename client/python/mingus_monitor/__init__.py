"""Mingus Monitor's Python SDK: sends an app's timings and events to the mingus-agent over
UDP, and caches and parallelises inside the app. Standard library only.

    from mingus_monitor import performance_monitor, business_intelligence, cache_api_response

    with performance_monitor.api_timer("/users/<int:user_id>", "GET") as t:
        ...
        t.status = 200
    business_intelligence.track_feature_usage(user_id, "budget_planner")

The agent is found at MINGUS_AGENT_ADDR (default 127.0.0.1:8125), the collector's API at
MINGUS_COLLECTOR_URL (default http://127.0.0.1:9190). Calls never block or raise: what cannot
be sent is counted (get_client().stats()). See client/python/README.md.
"""

import functools
import threading

from . import _config
from .alerting import AlertingSystem
from .business import BusinessIntelligence
from .cache import CacheManager, input_hash, make_cache_decorator
from .client import Client
from .experiments import Experiment, Experiments, assign_variant, experiment_hash
from .middleware import MingusMiddleware, instrument_flask
from .performance import PerformanceMonitor
from .scores import BatchResult, ScoreOptimizer
from .ux import UXOptimizer
from ._clock import Clock, FakeClock

__version__ = "0.1.0"

__all__ = [
    "AlertingSystem", "BatchResult", "BusinessIntelligence", "CacheManager", "Client", "Clock",
    "Experiment", "Experiments", "FakeClock", "MingusMiddleware", "PerformanceMonitor",
    "ScoreOptimizer", "UXOptimizer", "alerting_system", "assign_variant",
    "business_intelligence", "cache_api_response", "cache_database_query", "cache_manager",
    "configure", "experiment_hash", "experiments", "get_client", "input_hash",
    "instrument_flask", "optimize_score_calculation", "parallel_score_calculation",
    "performance_monitor", "score_optimizer", "ux_optimizer",
]

# The module-level objects, made by configure(); configure() again reconfigures them in place.
_client = None
performance_monitor = None
business_intelligence = None
ux_optimizer = None
alerting_system = None
experiments = None
cache_manager = None
score_optimizer = None


def configure(agent_addr=None, collector_url=None, environ=None, client=None, clock=None,
              **client_options):
    """(Re)configure the package's objects in place (names imported earlier keep working).
    agent_addr and collector_url override MINGUS_AGENT_ADDR and MINGUS_COLLECTOR_URL; environ
    (a dict) replaces os.environ for every setting (CACHE_ENABLED, CACHE_TTL,
    CACHE_MAX_SIZE, PARALLEL_PROCESSING_ENABLED, MAX_WORKERS, MINGUS_QUEUE_SIZE,
    MINGUS_FLUSH_INTERVAL); client_options go to Client (queue_size, flush_interval,
    background, transport, ...). The cache is emptied; the previous client is flushed and
    closed. Returns the new client."""
    global _client, performance_monitor, business_intelligence, ux_optimizer
    global alerting_system, experiments, cache_manager, score_optimizer
    settings = _config.Settings(environ)
    collector_url = (collector_url or settings.collector_url).rstrip("/")
    new_client = client or Client(agent_addr, settings=settings, clock=clock, **client_options)
    clock = clock or new_client.clock
    old = _client
    _client = new_client

    def cache(name):
        return CacheManager(name, settings.cache_max_size, settings.cache_ttl,
                            settings.cache_enabled, new_client, clock)

    fresh = {
        "performance_monitor": PerformanceMonitor(new_client, clock, collector_url),
        "business_intelligence": BusinessIntelligence(new_client, collector_url),
        "experiments": Experiments(new_client),
        "alerting_system": AlertingSystem(new_client),
        "cache_manager": cache("default"),
        "score_optimizer": ScoreOptimizer(new_client, cache("score"), settings.parallel_enabled,
                                          settings.max_workers, clock),
    }
    fresh["ux_optimizer"] = UXOptimizer(new_client, fresh["experiments"])
    module = globals()
    for name, made in fresh.items():
        existing = module[name]
        if existing is None:
            module[name] = made
        else:  # keep the object, take the new one's state (locks and all)
            existing.__dict__.clear()
            existing.__dict__.update(made.__dict__)
    ux_optimizer.experiments = experiments
    if old is not None and old is not new_client:
        old.close()
    return new_client


def get_client():
    """The client the package's objects send through."""
    return _client


cache_api_response = make_cache_decorator("api_response", lambda: cache_manager)
cache_api_response.__doc__ = """Decorator: cache a view's result by its arguments for ttl
seconds (default CACHE_TTL) in cache_manager; see cache.make_cache_decorator."""
cache_database_query = make_cache_decorator("database_query", lambda: cache_manager)
cache_database_query.__doc__ = """Decorator: cache a query function's result by its arguments
for ttl seconds (default CACHE_TTL) in cache_manager; see cache.make_cache_decorator."""


def _follow_optimizer(fn, make):
    """A wrapper of fn that applies make(score_optimizer) to the package's current optimizer
    (made again when configure() changes it)."""
    bound = [None, None]  # the optimizer's configuration, and fn wrapped by it
    lock = threading.Lock()

    def current():
        optimizer = score_optimizer
        with lock:
            if bound[0] is not optimizer.configuration:
                previous = bound[1]
                bound[0], bound[1] = optimizer.configuration, make(optimizer)
                if getattr(previous, "pool", None) is not None:
                    previous.pool.shutdown()  # its idle threads would stay otherwise
            return bound[1]

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return current()(*args, **kwargs)

    wrapper.current = current
    return wrapper


def optimize_score_calculation(fn=None, *, ttl=None, name=None, key=None):
    """Decorator: memoise a score function by the hash of its input for ttl seconds (default
    CACHE_TTL), see ScoreOptimizer.optimize. Usable bare or with arguments."""
    if fn is None:
        return lambda f: optimize_score_calculation(f, ttl=ttl, name=name, key=key)
    wrapper = _follow_optimizer(fn, lambda o: o.optimize(fn, ttl=ttl, name=name, key=key))
    wrapper.invalidate = lambda: wrapper.current().invalidate()
    return wrapper


def parallel_score_calculation(max_workers=None, *, name=None):
    """Decorator: the wrapper takes a batch of items, runs the one-item function over it on a
    thread pool of max_workers (default MAX_WORKERS), and returns a BatchResult in input
    order with each item's error reported separately (see ScoreOptimizer.parallel)."""
    if callable(max_workers):
        return parallel_score_calculation()(max_workers)

    def decorator(fn):
        wrapper = _follow_optimizer(fn, lambda o: o.parallel(max_workers, name=name)(fn))
        wrapper.single = fn
        return wrapper
    return decorator


configure()
