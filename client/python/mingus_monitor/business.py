"""Business events (the seed's business_intelligence) and the collector's insights report."""

from . import _collector_api


class BusinessIntelligence:
    """Sends `engagement`, `feature`, `feedback`, `user_metric` and `data_source` events; the
    agent counts them (mingus_engagement_actions_total, mingus_feature_usage_total,
    mingus_feedback_rating, ...) and spools them for the collector's reports. Raw user ids
    never become labels (the agent counts distinct users with HyperLogLog)."""

    def __init__(self, client, collector_url):
        self._client = client
        self.collector_url = collector_url

    def track_user_engagement(self, user_id, action, session_id=None, usage_time=None):
        """An action of a user ("login", "view_dashboard", ...); usage_time in seconds."""
        self._client.event("engagement", {"user_id": user_id, "action": action,
                                          "session_id": session_id, "usage_time": usage_time})

    def track_feature_usage(self, user_id, feature, session_id=None, usage_time=None):
        """A use of a feature; usage_time: seconds spent in it."""
        self._client.event("feature", {"user_id": user_id, "feature": feature,
                                       "session_id": session_id, "usage_time": usage_time})

    def track_user_feedback(self, user_id, kind, rating, comment=None):
        """A rating: kind "nps" (0..10), "csat" (1..5) or any other (0..10), with an optional
        comment (cut to 1 024 characters)."""
        self._client.event("feedback", {"user_id": user_id, "kind": kind, "rating": rating,
                                        "comment": comment})

    def track_user_metric(self, user_id, metric, value):
        """A number about a user (a score, a balance, ...)."""
        self._client.event("user_metric", {"user_id": user_id, "metric": metric, "value": value})

    def track_data_source(self, source, cost, value):
        """A call to a paid data source: its cost and the value attributed to it (ROI)."""
        self._client.event("data_source", {"source": source, "cost": cost, "value": value})

    def generate_insights_report(self, days=30, timeout=_collector_api.DEFAULT_TIMEOUT):
        """The collector's insights report over the last `days` days
        (GET /api/monitoring/insights?days=N): users, retention, engagement, features,
        satisfaction, score accuracy, ROI and anomalies. On failure, or when the collector
        does not serve the report, {"status": "error", "error": ...}."""
        try:
            days = int(days)
        except (TypeError, ValueError, OverflowError):
            return _collector_api.error(f"days must be a whole number, not {days!r}")
        if days <= 0:
            return _collector_api.error(f"days must be positive, not {days}")
        return _collector_api.get_json(self.collector_url, "/api/monitoring/insights",
                                       {"days": days}, timeout)
