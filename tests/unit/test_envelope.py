"""Envelope codecs: what the journal, the channel and `--json` output rely on."""

from __future__ import annotations

import json

import msgspec
import pytest

from engine.events import KINDS, Envelope, Gap, decode, encode, from_json_line, to_json_line


def _env(**over: object) -> Envelope:
    fields: dict[str, object] = {
        "seq": 7,
        "ts_ns": 1_700_000_000_123_456_789,
        "node_id": "ema-cross",
        "run_id": "20261125-0700-ab12",
        "kind": "order",
        "type": "OrderFilled",
        "payload": {"client_order_id": "O-1", "last_px": "1.10002", "qty": 100_000},
    }
    fields.update(over)
    return Envelope(**fields)  # type: ignore[arg-type]


def test_msgpack_round_trip_keeps_every_field() -> None:
    env = _env()
    assert decode(encode(env)) == env


def test_json_line_is_one_line_of_named_fields() -> None:
    env = _env(payload={"text": "two\nlines"})
    line = to_json_line(env)
    assert "\n" not in line
    data = json.loads(line)
    assert data["seq"] == 7 and data["type"] == "OrderFilled" and data["kind"] == "order"
    assert from_json_line(line) == env


def test_envelope_is_immutable() -> None:
    env = _env()
    with pytest.raises(AttributeError):
        env.seq = 8  # type: ignore[misc]


def test_decode_rejects_garbage_with_an_error() -> None:
    with pytest.raises(msgspec.DecodeError):
        decode(b"\x93\x01\x02")


def test_kinds_are_the_documented_ones() -> None:
    assert KINDS == (
        "order", "position", "account", "risk", "system", "node",
        "log", "metric", "alert", "progress", "result",
    )  # fmt: skip


def test_gap_counts_the_events_it_stands_for() -> None:
    assert Gap("n", "r", 11, 20).count == 10
