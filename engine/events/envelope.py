"""The envelope every node event travels in, and its msgpack / JSON-lines codecs.

One envelope format serves the journal on disk, the node channel and the console's
EventBus, so an event is encoded once in the node host and decoded once in a client.
"""

from __future__ import annotations

from typing import Any

import msgspec

KINDS: tuple[str, ...] = (
    "order",
    "position",
    "account",
    "risk",
    "system",
    "node",
    "log",
    "metric",
    "alert",
    "progress",
    "result",
)
_KIND_SET = frozenset(KINDS)


# gc=False: envelopes hold plain data and never take part in a reference cycle, so the
# cyclic collector need not track them; at 100k events/s it otherwise runs far more often.
class Envelope(msgspec.Struct, frozen=True, gc=False):
    """One event of one run of one node.

    Attributes
    ----------
    seq
        Per-run sequence number: starts at 1 and has no gaps.
    ts_ns
        Event time, UNIX nanoseconds.
    node_id, run_id
        The node and the run the event belongs to.
    kind
        One of :data:`KINDS`.
    type
        The Nautilus class name (``OrderFilled`` ...) or a gateway one (``NodeStateChanged``,
        ``LogLine``, ``Progress`` ...).
    payload
        The event's fields, plain msgpack/JSON-compatible data.
    """

    seq: int
    ts_ns: int
    node_id: str
    run_id: str
    kind: str
    type: str
    payload: dict[str, Any]


class Gap(msgspec.Struct, frozen=True):
    """Marker for events a subscriber missed: re-read ``first_seq..last_seq`` from the journal."""

    node_id: str
    run_id: str
    first_seq: int
    last_seq: int

    @property
    def count(self) -> int:
        """Return how many events the gap stands for."""
        return self.last_seq - self.first_seq + 1


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Envelope)
_many_decoder = msgspec.msgpack.Decoder(list[Envelope])
_json_encoder = msgspec.json.Encoder()
_json_decoder = msgspec.json.Decoder(Envelope)


def validate_kind(kind: str) -> str:
    """Return ``kind`` if it is one of :data:`KINDS`, else raise ``ValueError`` naming it."""
    if kind not in _KIND_SET:
        raise ValueError(f"envelope field 'kind': got {kind!r}, expected one of {', '.join(KINDS)}")
    return kind


def encode(env: Envelope) -> bytes:
    """Encode ``env`` as msgpack."""
    return _encoder.encode(env)


def decode(data: bytes | memoryview) -> Envelope:
    """Decode one msgpack-encoded envelope (raises ``msgspec.DecodeError`` on bad data)."""
    return _decoder.decode(data)


def decode_many(data: bytes | memoryview) -> list[Envelope]:
    """Decode a msgpack array of envelopes."""
    return _many_decoder.decode(data)


def to_json_line(env: Envelope) -> str:
    """Return ``env`` as one line of JSON (no trailing newline)."""
    return _json_encoder.encode(env).decode("utf-8")


def from_json_line(line: str | bytes) -> Envelope:
    """Parse one line written by :func:`to_json_line`."""
    return _json_decoder.decode(line)
