"""Check the audit log's chain: every entry intact, none missing, none reordered.

Each line's hash depends only on its own bytes, and the chain is each line's ``prev``
equal to the line before's ``hash``. So the file splits at line boundaries into ranges that
are checked in parallel processes (a 1M-entry log is ~300 MB of SHA-256), and the ranges'
ends are joined after. Lines are sliced at their fixed prefix instead of decoded as JSON.
The first problem found is named by line number and seq.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from engine.audit.log import AuditLog
from engine.audit.record import GENESIS, HASH_KEY, LINE_PREFIX, PREV_KEY

type ProblemKind = Literal["damaged", "altered", "missing", "truncated"]

READ_BLOCK = 1 << 22
PARALLEL_ABOVE = 16 << 20  # bytes: below this, process start-up costs more than it saves


@dataclass(frozen=True, slots=True)
class AuditProblem:
    kind: ProblemKind
    line: int  # 1-based line number in audit.jsonl
    seq: int | None  # the entry's seq where it could be read
    message: str


@dataclass(frozen=True, slots=True)
class VerifyReport:
    path: str
    entries: int
    last_seq: int
    problem: AuditProblem | None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return data


@dataclass(frozen=True, slots=True)
class _Range:
    """What one range of lines holds: its ends, and its first problem (local line number)."""

    count: int
    first_seq: int
    first_prev: str
    last_seq: int
    last_hash: str
    problem: AuditProblem | None


def verify(log: AuditLog, *, workers: int | None = None) -> VerifyReport:
    """Walk the whole chain; stop at the first problem."""
    path = log.paths.log
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        size = 0
    workers = workers or (os.cpu_count() or 1)
    bounds = _split(path, size, workers if size >= PARALLEL_ABOVE else 1)
    if len(bounds) > 1:
        ctx = multiprocessing.get_context("spawn")  # never fork a process that has threads
        with ProcessPoolExecutor(len(bounds), mp_context=ctx) as pool:
            ranges = list(pool.map(_walk, [str(path)] * len(bounds), *zip(*bounds, strict=True)))
    else:
        ranges = [_walk(str(path), *bounds[0])] if bounds else []
    count, last_seq, last_hash = 0, 0, GENESIS
    for part in ranges:
        if part.count and (part.first_seq != last_seq + 1 or part.first_prev != last_hash):
            line = count + 1
            return VerifyReport(
                str(path), count, last_seq, _missing(line, part.first_seq, last_seq)
            )
        if part.problem is not None:
            p = part.problem
            local = AuditProblem(
                p.kind, count + p.line, p.seq, p.message.replace("{line}", str(count + p.line))
            )
            return VerifyReport(str(path), count + part.count, part.last_seq or last_seq, local)
        if part.count:
            count, last_seq, last_hash = count + part.count, part.last_seq, part.last_hash
    head = log.head()
    if head is not None and (head[0] > last_seq or (head[0] == last_seq and head[1] != last_hash)):
        problem = AuditProblem(
            "truncated",
            count + 1,
            head[0],
            f"entries after seq {last_seq} are missing: the head records seq {head[0]}",
        )
        return VerifyReport(str(path), count, last_seq, problem)
    return VerifyReport(str(path), count, last_seq, None)


def _split(path: Path, size: int, parts: int) -> list[tuple[int, int]]:
    """Byte ranges that start at line starts and together cover the file."""
    if size == 0:
        return []
    starts = [0]
    with path.open("rb") as fh:
        for i in range(1, parts):
            fh.seek(size * i // parts)
            fh.readline()  # to the next line start
            pos = fh.tell()
            if starts[-1] < pos < size:
                starts.append(pos)
    return list(zip(starts, [*starts[1:], size], strict=True))


def _walk(path: str, start: int, end: int) -> _Range:
    """Check the lines in ``[start, end)``; line numbers in a problem are local, 1-based."""
    sha256 = hashlib.sha256
    prefix_len = len(LINE_PREFIX)
    prev_len = len(PREV_KEY)
    first_seq, first_prev = 0, ""
    last_hash, last_seq, count = "", 0, 0

    def result(problem: AuditProblem | None) -> _Range:
        return _Range(count, first_seq, first_prev, last_seq, last_hash, problem)

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
                    return result(_damaged(n))
                try:
                    seq = int(line[prefix_len:comma])
                except ValueError:
                    return result(_damaged(n))
                stored = line[cut + len(HASH_KEY) : -2]
                if sha256(line[:cut] + b"}").hexdigest().encode() != stored:
                    return result(
                        AuditProblem(
                            "altered", n, seq, f"entry seq {seq} (line {{line}}) was altered"
                        )
                    )
                if line[comma : comma + prev_len] != PREV_KEY:
                    return result(_damaged(n))
                prev = line[comma + prev_len : comma + prev_len + 64].decode("ascii", "replace")
                if count == 0:
                    first_seq, first_prev = seq, prev
                elif seq != last_seq + 1 or prev != last_hash:
                    return result(_missing(n, seq, last_seq))
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


def _damaged(line: int) -> AuditProblem:
    return AuditProblem("damaged", line, None, "line {line} is not an audit entry")


def _missing(line: int, seq: int, after: int) -> AuditProblem:
    return AuditProblem(
        "missing",
        line,
        seq,
        f"entry seq {seq} (line {{line}}) does not follow seq {after}: "
        "an entry before it is missing or out of order",
    )
