"""Settings from the environment: the seed's variables (DESIGN.md, "Configuration") and the
SDK's own. A value that does not parse falls back to the default; reading never raises."""

import os

DEFAULT_AGENT_ADDR = "127.0.0.1:8125"
DEFAULT_COLLECTOR_URL = "http://127.0.0.1:9190"

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def env_bool(name, default, environ=None):
    value = (os.environ if environ is None else environ).get(name)
    if value is None:
        return default
    value = value.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return default


def env_number(name, default, minimum=None, environ=None, kind=float):
    value = (os.environ if environ is None else environ).get(name)
    if value is None:
        return default
    try:
        number = kind(value.strip())
    except ValueError:
        return default
    if number != number or (minimum is not None and number < minimum):  # NaN, too small
        return default
    return number


class Settings:
    """A snapshot of the variables. Pass `environ` (a dict) to read something other than
    os.environ, as the tests do."""

    def __init__(self, environ=None):
        env = os.environ if environ is None else environ
        self.agent_addr = env.get("MINGUS_AGENT_ADDR") or DEFAULT_AGENT_ADDR
        self.collector_url = (env.get("MINGUS_COLLECTOR_URL") or DEFAULT_COLLECTOR_URL).rstrip("/")
        self.cache_enabled = env_bool("CACHE_ENABLED", True, env)
        self.cache_ttl = env_number("CACHE_TTL", 300.0, 0, env)
        self.cache_max_size = env_number("CACHE_MAX_SIZE", 1000, 0, env, int)
        self.parallel_enabled = env_bool("PARALLEL_PROCESSING_ENABLED", True, env)
        self.max_workers = env_number("MAX_WORKERS", min(8, (os.cpu_count() or 1) + 2), 1, env, int)
        self.queue_size = env_number("MINGUS_QUEUE_SIZE", 10000, 1, env, int)
        self.flush_interval = env_number("MINGUS_FLUSH_INTERVAL", 0.1, 0.001, env)
