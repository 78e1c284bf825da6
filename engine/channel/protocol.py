"""Frames on the node channel: ``<u8 type><u32 length><body>``.

Event frames carry journal records verbatim (``<u32 len><u32 crc><msgpack Envelope>`` ...),
so the host sends bytes straight from the journal file and never re-encodes an event.
Every other frame's body is a msgpack map.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Any

import msgspec

from engine.events.envelope import Envelope
from engine.journal.format import HEADER

PROTOCOL_VERSION = 1
FRAME = struct.Struct("<BI")
MAX_FRAME = 64 * 1024 * 1024

HELLO = ord("H")  # host -> client: {"version", "node_id", "run_id", "last_seq"}
SUBSCRIBE = ord("S")  # client -> host: {"after_seq"}
EVENTS = ord("E")  # host -> client: journal records
COMMAND = ord("C")  # client -> host: {"id", "cmd": {...}}
REPLY = ord("R")  # host -> client: {"id", "ok", "result" | "error"}
END = ord("X")  # host -> client: {"last_seq"}: the host closed the run's stream
ERROR = ord("!")  # host -> client: {"error"}: a request the host refuses

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(dict[str, Any])
_env_decoder = msgspec.msgpack.Decoder(Envelope)
_HEADER_SIZE = HEADER.size


def frame(kind: int, body: dict[str, Any]) -> bytes:
    """Return a control frame: ``kind`` with ``body`` as msgpack."""
    data = _encoder.encode(body)
    return FRAME.pack(kind, len(data)) + data


def frame_header(kind: int, length: int) -> bytes:
    """Return the header of a frame whose body is ``length`` bytes."""
    return FRAME.pack(kind, length)


def parse_body(data: bytes) -> dict[str, Any]:
    """Decode a control frame's body."""
    return _decoder.decode(data)


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes] | None:
    """Read one frame; return ``None`` at a clean end of stream."""
    try:
        header = await reader.readexactly(FRAME.size)
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise ConnectionResetError("channel closed mid-frame") from None
        return None
    kind, length = FRAME.unpack(header)
    if length > MAX_FRAME:
        raise ConnectionResetError(f"channel frame of {length} bytes exceeds {MAX_FRAME}")
    try:
        body = await reader.readexactly(length)
    except asyncio.IncompleteReadError:
        raise ConnectionResetError("channel closed mid-frame") from None
    return kind, body


def decode_records(data: bytes) -> list[Envelope]:
    """Decode the journal records of an event frame."""
    out: list[Envelope] = []
    append = out.append
    decode = _env_decoder.decode
    unpack = HEADER.unpack_from
    view = memoryview(data)
    pos = 0
    size = len(data)
    while pos < size:
        start = pos + _HEADER_SIZE
        pos = start + unpack(data, pos)[0]
        append(decode(view[start:pos]))
    view.release()
    return out
