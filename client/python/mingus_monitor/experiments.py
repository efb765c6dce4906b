"""Deterministic variant assignment and experiment events (docs/experiments.md).

The same user gets the same variant from every service, language and run, with no state
kept anywhere: the C++ SDK (client/cpp/include/mingus/experiments.h) computes the same, and
both are held to tests/fixtures/sdk/variant_vectors.tsv.
"""

import numbers

_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_MASK = 0xFFFFFFFFFFFFFFFF
MAX_WEIGHT = 10 ** 6
DEFAULT_VARIANTS = ("control", "treatment")


def _text(value):
    """An id as the spec reads it: text as is, an integer in decimal."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise TypeError("a bool is not an id")
    if isinstance(value, numbers.Integral):
        return str(int(value))
    return str(value)  # a UUID and the like


def _utf8(text):
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: as the client sends them
        return text.encode("utf-8", "replace")


def experiment_hash(experiment, user_id):
    """FNV-1a 64-bit over the experiment's UTF-8 bytes, one 0x00 byte, then the user id's."""
    h = _FNV_OFFSET
    for byte in _utf8(_text(experiment)) + b"\x00" + _utf8(_text(user_id)):
        h = ((h ^ byte) * _FNV_PRIME) & _MASK
    return h


def normalise_variants(variants):
    """[(name, weight), ...] from names (weight 1 each), (name, weight) pairs or a dict
    {name: weight}, in order. Raises ValueError on a weight that is not a whole number in
    0..10^6, TypeError on a name that is not text."""
    if isinstance(variants, dict):
        pairs = list(variants.items())
    else:
        pairs = [v if isinstance(v, tuple) else (v, 1) for v in variants]
    out = []
    for name, weight in pairs:
        if not isinstance(name, str):
            raise TypeError(f"variant name {name!r} is not text")
        if isinstance(weight, bool) or not isinstance(weight, numbers.Integral) \
                or not 0 <= weight <= MAX_WEIGHT:
            raise ValueError(f"variant {name!r}: weight {weight!r} is not a whole number "
                             "in 0..10^6")
        out.append((name, int(weight)))
    return out


def assign_variant(experiment, user_id, variants=DEFAULT_VARIANTS):
    """The variant `user_id` sees in `experiment`: with bucket = hash mod 10000 and total the
    sum of the weights, the first variant i with bucket * total < (w_0 + ... + w_i) * 10000.
    None when there are no variants or every weight is 0. Raises on bad input (see
    normalise_variants); Experiments.assign does not."""
    pairs = normalise_variants(variants)
    total = sum(w for _, w in pairs)
    scaled = experiment_hash(experiment, user_id) % 10000 * total
    cumulative = 0
    for name, weight in pairs:
        cumulative += weight
        if scaled < cumulative * 10000:
            return name
    return None


class Experiment:
    """One experiment and its variants; immutable, thread-safe."""

    def __init__(self, experiments, name, variants=DEFAULT_VARIANTS):
        self._experiments = experiments
        self.name = name
        self.variants = variants

    def assign(self, user_id):
        return self._experiments.assign(self.name, user_id, self.variants)

    def expose(self, user_id):
        return self._experiments.expose(self.name, user_id, self.variants)

    def convert(self, user_id, variant=None):
        return self._experiments.convert(self.name, user_id, variant, self.variants)


class Experiments:
    """Assignment plus the `experiment` events (exposure, conversion) that the agent counts in
    mingus_experiment_{exposures,conversions}_total{experiment,variant} and the collector's UX
    report turns into rates, lift and significance. Never raises: bad input (a weight that is
    not a whole number, a name that is not text) gives None and counts a drop."""

    def __init__(self, client):
        self._client = client

    def experiment(self, name, variants=DEFAULT_VARIANTS):
        return Experiment(self, name, variants)

    def assign(self, experiment, user_id, variants=DEFAULT_VARIANTS, weights=None):
        """The user's variant (no event). `weights`, when given, pairs with `variants`."""
        try:
            if weights is not None:
                variants = list(zip(variants, weights))
            return assign_variant(experiment, user_id, variants)
        except Exception:  # noqa: BLE001
            self._client.count_drop("bad_experiment")
            return None

    def expose(self, experiment, user_id, variants=DEFAULT_VARIANTS, weights=None):
        """Assigns, sends the exposure event, returns the variant (None: nothing sent)."""
        variant = self.assign(experiment, user_id, variants, weights)
        if variant is not None:
            self._send(experiment, variant, user_id, "exposure")
        return variant

    def convert(self, experiment, user_id, variant=None, variants=DEFAULT_VARIANTS, weights=None):
        """Sends the conversion event for the user's variant (assigned again unless given);
        returns the variant."""
        if variant is None:
            variant = self.assign(experiment, user_id, variants, weights)
        if variant is not None:
            self._send(experiment, variant, user_id, "conversion")
        return variant

    def _send(self, experiment, variant, user_id, event):
        self._client.event("experiment", {"experiment": experiment, "variant": variant,
                                          "user_id": user_id, "event": event})
