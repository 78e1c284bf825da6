"""One audit entry and its on-disk line.

A line is the entry's JSON with its hash appended as the last member::

    {"v":1,"seq":7,"prev":"<64 hex>","ts":"…","who":"ana","via":"cli","action":"orders.submit",
     "target":{…},"request":{…},"result":{…},"hash":"<64 hex>"}

``hash`` is SHA-256 of the line without ``,"hash":"…"`` (the body, closed with ``}``), and
``prev`` is the previous entry's hash, so changing, removing or reordering any entry breaks
the chain. The body's first members have a fixed shape, so the verifier reads ``seq`` and
``prev`` by slicing instead of decoding JSON (1M entries verify in well under a second).
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec

SCHEMA_VERSION = 1
GENESIS = "0" * 64
HASH_KEY = b',"hash":"'
LINE_PREFIX = b'{"v":1,"seq":'
PREV_KEY = b',"prev":"'
# A request or result member whose name contains one of these is never written.
SECRET_MARKERS = ("secret", "password", "passphrase", "api_key", "apikey", "token", "private")


class AuditEntry(msgspec.Struct, frozen=True):
    """What was done, by whom, when, and what came of it. Field order is the line's order."""

    v: int
    seq: int
    prev: str
    ts: str
    who: str
    via: str
    action: str
    target: dict[str, Any]
    request: dict[str, Any]
    result: dict[str, Any]
    hash: str = ""


_encoder = msgspec.json.Encoder()


def body_bytes(entry: AuditEntry) -> bytes:
    """The entry's JSON without its hash member (what the hash covers)."""
    data = _encoder.encode(entry)
    # msgspec writes members in field order; hash is last, so cut it off.
    cut = data.rfind(HASH_KEY)
    return data[:cut] + b"}"


def digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def line_bytes(entry: AuditEntry) -> tuple[bytes, str]:
    """The line to append (newline included) and the entry's hash."""
    body = body_bytes(entry)
    h = digest(body)
    return body[:-1] + HASH_KEY + h.encode("ascii") + b'"}\n', h


def redact(value: Any) -> Any:
    """Drop every member that could hold a secret, at any depth."""
    if isinstance(value, dict):
        return {
            str(k): ("<redacted>" if _secret_name(str(k)) else redact(v)) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _secret_name(name: str) -> bool:
    lowered = name.lower()
    return any(marker in lowered for marker in SECRET_MARKERS)


def decode(line: bytes) -> AuditEntry:
    """Parse one line (raises ``msgspec.DecodeError`` or ``msgspec.ValidationError``)."""
    try:
        return msgspec.json.decode(line, type=AuditEntry)
    except UnicodeDecodeError as exc:  # msgspec lets a string that is not UTF-8 through as this
        raise msgspec.DecodeError(f"not UTF-8: {exc.reason} at byte {exc.start}") from None
