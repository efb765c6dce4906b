"""The agent's wire formats, as its parsers read them (shared/src/wire/json_event.cpp and
shared/src/wire/statsd.cpp): one line per event, many lines per datagram.

Everything here runs on the client's sender thread, never in the caller. A line the agent
would refuse is refused here instead and counted by reason, so that bad input costs one
counter increment and never a parse error on the agent.
"""

import math
import numbers
import re
import uuid
from json.encoder import encode_basestring as _quote  # C; keeps non-ASCII as is

# DogStatsD's optimal UDP payload: a 1 500-byte Ethernet MTU less IPv6 and UDP headers, with
# room to spare. Every datagram is shorter than this (as the C++ SDK's kMaxDatagramBytes).
MAX_DATAGRAM = 1432

# A string field longer than this many characters is cut (and counted); `query` and `comment`
# may be longer. A line that still does not fit into one datagram loses characters from its
# longest string field until it does.
MAX_FIELD_CHARS = 256
LONG_FIELD_CHARS = {"query": 1024, "comment": 1024}

# The agent refuses a DogStatsD tag longer than this (kMaxTagBytes in statsd.h).
MAX_TAG_BYTES = 256
MAX_NAME_CHARS = 200

TEXT, NUMBER, FLAG, ID = "text", "number", "flag", "id"

# The wire schema of DESIGN.md, "JSON events", field by field as json_event.cpp has it:
# (name, kind, required).
SCHEMAS = {
    "api": (("endpoint", TEXT, True), ("method", TEXT, True), ("status", NUMBER, True),
            ("duration_ms", NUMBER, True), ("user_id", ID, False), ("request_id", ID, False)),
    "db": (("query", TEXT, True), ("duration_ms", NUMBER, True), ("rows", NUMBER, False),
           ("request_id", ID, False), ("user_id", ID, False)),
    "score": (("name", TEXT, True), ("duration_ms", NUMBER, True), ("input_size", NUMBER, False),
              ("cached", FLAG, False), ("user_id", ID, False), ("predicted", NUMBER, False),
              ("actual", NUMBER, False)),
    "engagement": (("user_id", ID, True), ("action", TEXT, True), ("session_id", ID, False),
                   ("usage_time", NUMBER, False)),
    "feature": (("user_id", ID, True), ("feature", TEXT, True), ("session_id", ID, False),
                ("usage_time", NUMBER, False)),
    "feedback": (("user_id", ID, True), ("kind", TEXT, True), ("rating", NUMBER, True),
                 ("comment", TEXT, False)),
    "user_metric": (("user_id", ID, True), ("metric", TEXT, True), ("value", NUMBER, True)),
    "interaction": (("user_id", ID, True), ("event_type", TEXT, True), ("element_id", TEXT, True),
                    ("page_url", TEXT, True), ("session_id", ID, False)),
    "experiment": (("experiment", TEXT, True), ("variant", TEXT, True), ("user_id", ID, True),
                   ("event", TEXT, True)),
    "cache": (("cache", TEXT, True), ("result", TEXT, True)),
    "data_source": (("source", TEXT, True), ("cost", NUMBER, True), ("value", NUMBER, True)),
}

_NON_NEGATIVE = frozenset(("duration_ms", "rows", "input_size", "usage_time", "cost"))

# Per event type: (name, kind, required, longest text, cannot be negative), ready for the
# sender's loop.
_FIELDS = {
    event_type: tuple((name, kind, required, LONG_FIELD_CHARS.get(name, MAX_FIELD_CHARS),
                       name in _NON_NEGATIVE) for name, kind, required in schema)
    for event_type, schema in SCHEMAS.items()}


class Refused(Exception):
    """A line that cannot be sent; `reason` is the drop counter's key."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def _text(value, limit, notes):
    if not isinstance(value, str):
        raise Refused("wrong_field_type")
    if len(value) > limit:
        notes.append(1)
        value = value[:limit]
    return value


def _number(value):
    # bool is an int to Python, not a number to the agent.
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise Refused("wrong_field_type")
    if isinstance(value, int):
        if not -2 ** 63 <= value < 2 ** 63:
            raise Refused("bad_field_value")
        return int(value)
    value = float(value)
    if value - value != 0.0:  # NaN or infinite
        raise Refused("not_finite")
    return value


def _id(value, notes):
    if isinstance(value, bool):
        raise Refused("wrong_field_type")
    if isinstance(value, int):
        # The agent reads integer ids as int64 or uint64; anything larger as text.
        return int(value) if -2 ** 63 <= value < 2 ** 64 else str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return _text(value, MAX_FIELD_CHARS, notes)


def build_event(event_type, fields, notes):
    """The event as a dict in wire order ("type" first) holding only str, int, float and
    bool, checked against the schema.

    `fields` maps field names to values; None means absent. Unknown fields are left out (the
    agent would ignore them). Raises Refused with the reason; appends one entry to `notes`
    for each string it had to cut. (The common types are tested first: this runs once per
    event on the sender thread.)
    """
    schema = _FIELDS.get(event_type)
    if schema is None:
        raise Refused("unknown_event_type")
    get = fields.get
    out = {"type": event_type}
    for name, kind, required, limit, non_negative in schema:
        value = get(name)
        if value is None:
            if required:
                raise Refused("missing_field")
            continue
        kind_of = type(value)
        if kind is TEXT or (kind is ID and kind_of is str):
            if kind_of is not str:
                raise Refused("wrong_field_type")
            if len(value) > limit:
                notes.append(1)
                value = value[:limit]
        elif kind is NUMBER:
            if kind_of is float:
                if value - value != 0.0:
                    raise Refused("not_finite")
                if name == "duration_ms":
                    value = round(value, 4)  # 0.1 µs: shorter lines, more to a datagram
            elif kind_of is not int or not -2 ** 63 <= value < 2 ** 63:
                value = _number(value)
            if non_negative and value < 0:
                raise Refused("bad_field_value")
        elif kind is ID:
            value = _id(value, notes)
        elif kind_of is not bool:
            raise Refused("wrong_field_type")
        out[name] = value
    status = out.get("status")
    if status is not None and (status != int(status) or not 100 <= status <= 599):
        raise Refused("bad_field_value")
    if event_type == "experiment" and out["event"] not in ("exposure", "conversion"):
        raise Refused("bad_field_value")
    return out


def _dumps(event):
    """Compact JSON of a flat event of str, int, float and bool values (as build_event makes
    them), non-ASCII characters kept as they are. Faster than json.dumps for these."""
    parts = []
    for key, value in event.items():
        kind_of = type(value)
        if kind_of is str:
            parts.append(f'"{key}":{_quote(value)}')
        elif kind_of is bool:
            parts.append(f'"{key}":{"true" if value else "false"}')
        elif kind_of is float:
            parts.append(f'"{key}":{value!r}')
        else:
            parts.append(f'"{key}":{int(value)}')
    return "{" + ",".join(parts) + "}"


_SURROGATE = re.compile("[\ud800-\udfff]")


def _utf8(text):
    """UTF-8 bytes of text; lone surrogates (from surrogateescape'd file names, say) become
    U+FFFD, which the agent accepts, instead of bytes it would refuse."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text).encode("utf-8")


def encode_event(event, notes, max_bytes=MAX_DATAGRAM):
    """One JSON line (bytes) shorter than max_bytes. Strings that make it longer are shortened,
    longest first; a line that cannot fit is Refused("too_long")."""
    for _ in range(8):
        line = _utf8(_dumps(event))
        if len(line) < max_bytes:
            return line
        longest = max((k for k, v in event.items() if isinstance(v, str) and k != "type"),
                      key=lambda k: len(event[k]), default=None)
        if longest is None or not event[longest]:
            break
        text = event[longest]
        # Escapes and multi-byte characters make a character more than one byte: cut as many
        # characters as the excess takes at this string's bytes per character, then measure
        # again.
        excess = len(line) - max_bytes + 1
        per_char = len(_utf8(_quote(text))) / len(text)
        event[longest] = text[:max(0, len(text) - max(1, math.ceil(excess / per_char)))]
        notes.append(1)
    raise Refused("too_long")


# ---------------------------------------------------------------------------- StatsD

STATSD_TYPES = ("c", "g", "ms", "h", "d", "s")
_NAME_BAD = str.maketrans({c: "_" for c in ":|@#,\n\r "})
_TAG_BAD = str.maketrans({c: "_" for c in "|,#\n\r"})


def _cut_utf8(text, max_bytes):
    data = _utf8(text)
    if len(data) <= max_bytes:
        return text, False
    return data[:max_bytes].decode("utf-8", "ignore"), True


def encode_statsd(name, value, kind, tags, notes, sample_rate=None):
    """One StatsD/DogStatsD line (bytes): name:value|kind[|@rate][|#k:v,...].

    The name and tags lose the characters that would end their section; each tag is cut to
    the agent's 256 bytes, and one that is not key:value is left out (counted as a cut).
    Values must be finite; counters and timers not negative (a negative gauge is sent as a
    reset to 0 followed by a delta, see Client._encode)."""
    if kind not in STATSD_TYPES:
        raise Refused("unknown_type")
    if not isinstance(name, str) or not name:
        raise Refused("wrong_field_type")
    name = name.translate(_NAME_BAD)
    if len(name) > MAX_NAME_CHARS:
        name = name[:MAX_NAME_CHARS]
        notes.append(1)
    if kind == "s":
        text = str(value).translate(_NAME_BAD)
        if not text:
            raise Refused("missing_value")
        text = text[:MAX_FIELD_CHARS]
    else:
        value = _number(value)
        if value < 0 and kind in ("c", "ms"):
            raise Refused("bad_field_value")
        text = repr(value) if isinstance(value, float) else str(value)
    parts = [name, ":", text, "|", kind]
    if sample_rate is not None:
        if not (isinstance(sample_rate, numbers.Real) and 0 < sample_rate <= 1):
            raise Refused("bad_sample_rate")
        if sample_rate < 1:
            parts.append("|@" + repr(float(sample_rate)))
    if tags:
        items = tags.items() if isinstance(tags, dict) else tags
        rendered = []
        for tag in items:
            if isinstance(tag, tuple):
                key, val = tag
                tag = f"{key}:{val}"
            tag = str(tag).translate(_TAG_BAD)
            if tag.find(":") <= 0:
                notes.append(1)  # no key:value (the agent would count a malformed tag)
                continue
            tag, cut = _cut_utf8(tag, MAX_TAG_BYTES)
            if cut:
                notes.append(1)
            rendered.append(tag)
        if rendered:
            parts.append("|#" + ",".join(rendered))
    line = _utf8("".join(parts))
    if len(line) >= MAX_DATAGRAM:
        raise Refused("too_long")
    return line


# ---------------------------------------------------------------------------- packing

class Packer:
    """Packs lines into datagrams shorter than max_bytes, '\\n'-separated, in order. `send`
    takes each full datagram and the number of lines in it."""

    __slots__ = ("max_bytes", "_send", "_buf", "_lines")

    def __init__(self, send, max_bytes=MAX_DATAGRAM):
        self.max_bytes = max_bytes
        self._send = send
        self._buf = bytearray()
        self._lines = 0

    def add(self, line):
        if self._buf and len(self._buf) + 1 + len(line) >= self.max_bytes:
            self.flush()
        if self._buf:
            self._buf += b"\n"
        self._buf += line
        self._lines += 1

    def flush(self):
        if self._buf:
            datagram, lines = bytes(self._buf), self._lines
            self._buf.clear()
            self._lines = 0
            self._send(datagram, lines)
