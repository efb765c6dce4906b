"""UI interactions (the seed's ux_optimizer)."""


class UXOptimizer:
    """Sends `interaction` events: the agent counts mingus_ux_interactions_total{page,
    event_type, element} (page with id-like path segments folded) and spools them for the
    collector's UX report (click maps, funnels, rage and dead clicks)."""

    def __init__(self, client, experiments=None):
        self._client = client
        self.experiments = experiments

    def track_user_interaction(self, user_id, event_type, element_id, page_url, session_id=None):
        """One interaction: event_type "click", "view", "submit", ...; element_id the element's
        id; page_url the page (a path or a URL)."""
        self._client.event("interaction", {"user_id": user_id, "event_type": event_type,
                                           "element_id": element_id, "page_url": page_url,
                                           "session_id": session_id})

    # The seed's A/B testing lived here too: the same as the experiments object's methods.
    def assign_variant(self, experiment, user_id, variants=("control", "treatment"), weights=None):
        return self.experiments.assign(experiment, user_id, variants, weights)

    def track_experiment_exposure(self, experiment, user_id, variants=("control", "treatment"),
                                  weights=None):
        return self.experiments.expose(experiment, user_id, variants, weights)

    def track_experiment_conversion(self, experiment, user_id, variant=None,
                                    variants=("control", "treatment"), weights=None):
        return self.experiments.convert(experiment, user_id, variant, variants, weights)
