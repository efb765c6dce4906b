"""Metrics for alert rules (the seed's alerting_system)."""

import re

_BAD = re.compile(r"[^a-zA-Z0-9_]")


def metric_name(name):
    """The Prometheus name a metric of update_metric gets: mingus_<name>, with characters
    other than letters, digits and '_' replaced by '_' ("api.latency" -> mingus_api_latency)."""
    name = _BAD.sub("_", str(name)).strip("_") or "unnamed"
    return name if name.startswith("mingus_") else "mingus_" + name


class AlertingSystem:
    """update_metric(name, value) sets a gauge on the agent, which the collector scrapes and
    its rules (configs/rules, Prometheus' format) compare against thresholds."""

    def __init__(self, client):
        self._client = client
        self._names = {}

    def update_metric(self, name, value, tags=None):
        """Set the gauge mingus_<name> (see metric_name) to value; tags become labels."""
        try:
            prom = self._names.get(name)
            if prom is None:
                prom = metric_name(name)
                if len(self._names) < 10000:
                    self._names[name] = prom
        except Exception:  # noqa: BLE001 - an unhashable or unprintable name
            self._client.count_drop("wrong_field_type")
            return
        self._client.gauge(prom, value, tags)
