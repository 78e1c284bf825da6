"""Seals: the audit log's bytes hashed in blocks, so ``verify`` need not walk every line.

Checking a 1M-entry log line by line is a Python loop and a SHA-256 call per entry (2.2 s
on one core here). A seal records a block of whole lines that the appender checked when it
sealed them (every seq following the last, every ``prev`` the previous hash, every hash
right) and the SHA-256 of the block's bytes. A block whose bytes still hash to its seal
still holds that checked chain, so ``verify`` hashes each sealed block in one call (on
threads: hashlib releases the GIL) and walks only a block that differs, and the lines after
the last seal, one by one.

``audit/seals.jsonl``, one seal per line, chained like the entries (``prev`` is the
previous seal's ``hash``, ``hash`` the SHA-256 of the line without its hash member)::

    {"v":1,"n":3,"first_seq":2001,"last_seq":3000,"start":801234,"end":1201876,
     "sha256":"<64 hex>","last_hash":"<hash of entry 3000>","prev":"<64 hex>","hash":"<64 hex>"}

A block rewritten with its chain recomputed (which the line walk alone cannot see) differs
from its seal: ``verify`` names it. A damaged seal is not the log's damage: the seals from
it on are ignored and those entries are walked line by line.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import msgspec

from engine.audit.record import GENESIS, HASH_KEY

SEAL_VERSION = 1
SEAL_EVERY = 1000  # entries: sealing costs one read and walk of ~400 KB per 1,000 appends
SEAL_MAX_BYTES = 8 << 20  # one seal covers at most this much (a log from before seals)
TAIL_CHUNK = 4096


class Seal(msgspec.Struct, frozen=True):
    """One sealed block of the log: lines ``[start, end)``, entries first_seq..last_seq."""

    v: int
    n: int
    first_seq: int
    last_seq: int
    start: int
    end: int
    sha256: str
    last_hash: str
    prev: str
    hash: str = ""


_encoder = msgspec.json.Encoder()


def seal_line(seal: Seal) -> tuple[bytes, str]:
    """The seal's line (newline included) and its hash."""
    data = _encoder.encode(seal)
    body = data[: data.rfind(HASH_KEY)] + b"}"
    h = hashlib.sha256(body).hexdigest()
    return body[:-1] + HASH_KEY + h.encode("ascii") + b'"}\n', h


def _intact(line: bytes) -> Seal | None:
    """The seal on a line, if the line is one and its hash holds."""
    try:
        seal = msgspec.json.decode(line, type=Seal)
    except ValueError:  # msgspec's errors, and UnicodeDecodeError for a byte that is not UTF-8
        return None
    if seal.v != SEAL_VERSION or seal_line(msgspec.structs.replace(seal, hash=""))[1] != seal.hash:
        return None
    return seal


@dataclass(frozen=True, slots=True)
class SealRead:
    """The seals that can be trusted, in order, and why the rest (if any) cannot."""

    seals: list[Seal]
    damaged: str | None  # what stopped the reading, for the report


def read_seals(path: Path) -> SealRead:
    """Every seal up to the first that is damaged, out of place or not chained."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return SealRead([], None)
    except OSError as exc:
        return SealRead([], f"cannot read {path}: {exc.strerror}")
    seals: list[Seal] = []
    prev = GENESIS
    lines = raw.split(b"\n")
    if lines[-1]:  # a line a crash cut off: never acknowledged, the next seal removes it
        lines.pop()
    for number, line in enumerate(lines, 1):
        if not line:
            continue
        seal = _intact(line)
        last = seals[-1] if seals else None
        if (
            seal is None
            or seal.prev != prev
            or seal.n != len(seals) + 1
            or seal.start != (last.end if last else 0)
            or seal.first_seq != (last.last_seq if last else 0) + 1
            or seal.last_seq < seal.first_seq
            or seal.end <= seal.start
        ):
            return SealRead(seals, f"{path.name} line {number} is damaged")
        seals.append(seal)
        prev = seal.hash
    return SealRead(seals, None)


def last_seal(fd: int) -> tuple[Seal | None, bool]:
    """The newest seal on the open seals file and whether it can be chained from.

    Drops a last line a crash cut off. A damaged last seal cannot be chained from: no more
    seals are written (``verify`` walks the rest line by line, and says why).
    """
    size = os.fstat(fd).st_size
    if size == 0:
        return None, True
    start = max(0, size - TAIL_CHUNK)
    tail = os.pread(fd, size - start, start)
    if not tail.endswith(b"\n"):
        cut = tail.rfind(b"\n") + 1
        if cut == 0 and start > 0:
            return None, False  # a seal longer than the chunk: not ours
        os.ftruncate(fd, start + cut)
        tail = tail[:cut]
        if not tail:
            return None, True
    if start > 0 and b"\n" not in tail[:-1]:
        return None, False  # a seal longer than the chunk: not ours
    seal = _intact(tail[:-1].rsplit(b"\n", 1)[-1])
    return seal, seal is not None
