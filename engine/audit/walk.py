"""The line-by-line check of a range of the audit log (``verify``'s and the sealer's).

Each line's hash depends only on its own bytes, and the chain is each line's ``prev``
equal to the line before's ``hash``. So a range of whole lines is checked on its own and
ranges are joined by their ends. Lines are sliced at their fixed prefix instead of decoded
as JSON. A problem's line number is local to the range (1-based) until the caller shifts it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from engine.audit.record import HASH_KEY, LINE_PREFIX, PREV_KEY

type ProblemKind = Literal["damaged", "altered", "missing", "truncated"]

READ_BLOCK = 1 << 22


@dataclass(frozen=True, slots=True)
class AuditProblem:
    kind: ProblemKind
    line: int  # 1-based line number in audit.jsonl
    seq: int | None  # the entry's seq where it could be read
    message: str


@dataclass(frozen=True, slots=True)
class Range:
    """What one range of lines holds: its ends, and its first problem (local line number)."""

    count: int
    first_seq: int
    first_prev: str
    last_seq: int
    last_hash: str
    problem: AuditProblem | None


def split(path: Path, size: int, parts: int, *, start: int = 0) -> list[tuple[int, int]]:
    """Byte ranges that start at line starts and together cover ``[start, size)``."""
    if size <= start:
        return []
    starts = [start]
    with path.open("rb") as fh:
        for i in range(1, parts):
            fh.seek(start + (size - start) * i // parts)
            fh.readline()  # to the next line start
            pos = fh.tell()
            if starts[-1] < pos < size:
                starts.append(pos)
    return list(zip(starts, [*starts[1:], size], strict=True))


def walk(path: str, start: int, end: int) -> Range:
    """Check the lines in ``[start, end)``; line numbers in a problem are local, 1-based."""
    sha256 = hashlib.sha256
    prefix_len = len(LINE_PREFIX)
    prev_len = len(PREV_KEY)
    first_seq, first_prev = 0, ""
    last_hash, last_seq, count = "", 0, 0

    def result(problem: AuditProblem | None) -> Range:
        return Range(count, first_seq, first_prev, last_seq, last_hash, problem)

    with open(path, "rb") as fh:
        fh.seek(start)
        left = end - start
        rest = b""
        while left > 0:
            block = fh.read(min(READ_BLOCK, left))
            if not block:
                break
            left -= len(block)
            lines = (rest + block).split(b"\n")
            rest = lines.pop()
            for line in lines:
                n = count + 1
                cut = line.rfind(HASH_KEY)
                comma = line.find(b",", prefix_len)
                if (
                    cut < 0
                    or comma < 0
                    or not line.startswith(LINE_PREFIX)
                    or not line.endswith(b'"}')
                ):
                    return result(damaged(n))
                try:
                    seq = int(line[prefix_len:comma])
                except ValueError:
                    return result(damaged(n))
                stored = line[cut + len(HASH_KEY) : -2]
                if sha256(line[:cut] + b"}").hexdigest().encode() != stored:
                    return result(
                        AuditProblem(
                            "altered", n, seq, f"entry seq {seq} (line {{line}}) was altered"
                        )
                    )
                if line[comma : comma + prev_len] != PREV_KEY:
                    return result(damaged(n))
                prev = line[comma + prev_len : comma + prev_len + 64].decode("ascii", "replace")
                if count == 0:
                    first_seq, first_prev = seq, prev
                elif seq != last_seq + 1 or prev != last_hash:
                    return result(missing(n, seq, last_seq))
                last_seq, last_hash, count = seq, stored.decode("ascii"), n
        if rest:
            return result(
                AuditProblem(
                    "damaged",
                    count + 1,
                    None,
                    "line {line} is cut off (no newline): a write a crash interrupted, "
                    "never acknowledged; the next append removes it",
                )
            )
    return result(None)


def damaged(line: int) -> AuditProblem:
    return AuditProblem("damaged", line, None, "line {line} is not an audit entry")


def missing(line: int, seq: int, after: int) -> AuditProblem:
    return AuditProblem(
        "missing",
        line,
        seq,
        f"entry seq {seq} (line {{line}}) does not follow seq {after}: "
        "an entry before it is missing or out of order",
    )
