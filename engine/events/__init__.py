"""Sequence-numbered event envelopes: the unit of the journal, the channel and the bus."""

from engine.events.envelope import (
    KINDS,
    Envelope,
    Gap,
    decode,
    decode_many,
    encode,
    from_json_line,
    to_json_line,
    validate_kind,
)

__all__ = [
    "KINDS",
    "Envelope",
    "Gap",
    "decode",
    "decode_many",
    "encode",
    "from_json_line",
    "to_json_line",
    "validate_kind",
]
