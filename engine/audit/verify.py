"""Check the audit log's chain: every entry intact, none missing, none reordered.

Sealed blocks (``engine.audit.seals``) are checked by hashing each block's bytes in one
call, on threads; a block that differs from its seal, and the lines after the last seal,
are walked line by line (``engine.audit.walk``), in parallel processes when there are many.
The first problem found is named by line number and seq.
"""

from __future__ import annotations

import hashlib
import mmap
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from engine.audit.log import AuditLog
from engine.audit.record import GENESIS
from engine.audit.seals import Seal, read_seals
from engine.audit.walk import AuditProblem, Range, missing, split, walk

PARALLEL_ABOVE = 16 << 20  # bytes: below this, process start-up costs more than it saves

__all__ = ["PARALLEL_ABOVE", "AuditProblem", "VerifyReport", "verify"]


@dataclass(frozen=True, slots=True)
class VerifyReport:
    path: str
    entries: int
    last_seq: int
    problem: AuditProblem | None
    sealed: int = 0  # entries checked through their seals
    note: str | None = None  # why some seals could not be used (the log itself may be fine)

    @property
    def ok(self) -> bool:
        return self.problem is None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return data


@dataclass(slots=True)
class _Chain:
    """How far the check has come: lines, the last seq and hash."""

    path: str
    count: int = 0
    last_seq: int = 0
    last_hash: str = GENESIS
    sealed: int = 0
    note: str | None = None

    def report(self, problem: AuditProblem | None, *, entries: int | None = None) -> VerifyReport:
        return VerifyReport(
            self.path,
            self.count if entries is None else entries,
            self.last_seq,
            problem,
            self.sealed,
            self.note,
        )

    def join(self, part: Range) -> AuditProblem | None:
        """Add a walked range; return its problem (line numbers made the file's)."""
        if part.count and (
            part.first_seq != self.last_seq + 1 or part.first_prev != self.last_hash
        ):
            return missing(self.count + 1, part.first_seq, self.last_seq)
        if part.problem is not None:
            p = part.problem
            line = self.count + p.line
            self.count += part.count
            self.last_seq = part.last_seq or self.last_seq
            return AuditProblem(p.kind, line, p.seq, p.message.replace("{line}", str(line)))
        if part.count:
            self.count += part.count
            self.last_seq, self.last_hash = part.last_seq, part.last_hash
        return None


def verify(log: AuditLog, *, workers: int | None = None) -> VerifyReport:
    """Walk the whole chain; stop at the first problem."""
    path = log.paths.log
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        size = 0
    workers = workers or (os.cpu_count() or 1)
    read = read_seals(log.paths.seals)
    chain = _Chain(
        str(path), note=read.damaged and f"{read.damaged}: entries after it checked line by line"
    )
    seals = [s for s in read.seals if s.end <= size]
    for seal, intact in zip(seals, _hash_blocks(path, seals, workers), strict=True):
        if intact:
            chain.count += seal.last_seq - seal.first_seq + 1
            chain.sealed += seal.last_seq - seal.first_seq + 1
            chain.last_seq, chain.last_hash = seal.last_seq, seal.last_hash
            continue
        first_line = chain.count + 1
        problem = chain.join(walk(str(path), seal.start, seal.end))
        if problem is None:  # every line checks out, yet the bytes are not the sealed ones
            problem = AuditProblem(
                "altered",
                first_line,
                seal.first_seq,
                f"entries seq {seal.first_seq}-{seal.last_seq} (from line {first_line}) differ "
                "from their seal: they were rewritten after they were written, chain and all",
            )
        return chain.report(problem)
    if len(seals) < len(read.seals):
        lost = read.seals[len(seals)]
        return chain.report(
            AuditProblem(
                "truncated",
                chain.count + 1,
                lost.first_seq,
                f"entries from seq {lost.first_seq} to {read.seals[-1].last_seq} were sealed, "
                f"but the log ends at byte {size}: they are missing",
            )
        )
    start = seals[-1].end if seals else 0
    for part in _walk_ranges(path, start, size, workers):
        problem = chain.join(part)
        if problem is not None:
            return chain.report(problem)
    head = log.head()
    if head is not None and (
        head[0] > chain.last_seq or (head[0] == chain.last_seq and head[1] != chain.last_hash)
    ):
        problem = AuditProblem(
            "truncated",
            chain.count + 1,
            head[0],
            f"entries after seq {chain.last_seq} are missing: the head records seq {head[0]}",
        )
        return chain.report(problem)
    return chain.report(None)


def _hash_blocks(path: Path, seals: list[Seal], workers: int) -> list[bool]:
    """Whether each sealed block's bytes still hash to its seal (on threads)."""
    if not seals:
        return []
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        if hasattr(mm, "madvise"):
            mm.madvise(mmap.MADV_SEQUENTIAL)
        view = memoryview(mm)
        try:

            def intact(seal: Seal) -> bool:
                with view[seal.start : seal.end] as block:
                    return hashlib.sha256(block).hexdigest() == seal.sha256

            if workers == 1 or len(seals) == 1:
                return [intact(s) for s in seals]
            with ThreadPoolExecutor(workers) as pool:
                return list(pool.map(intact, seals))
        finally:
            view.release()


def _walk_ranges(path: Path, start: int, size: int, workers: int) -> list[Range]:
    """Walk ``[start, size)`` line by line, in parallel processes when it is large."""
    if size <= start:
        return []
    parts = workers if size - start >= PARALLEL_ABOVE else 1
    bounds = split(path, size, parts, start=start)
    if len(bounds) == 1:
        return [walk(str(path), *bounds[0])]
    ctx = multiprocessing.get_context("spawn")  # never fork a process that has threads
    with ProcessPoolExecutor(len(bounds), mp_context=ctx) as pool:
        return list(pool.map(walk, [str(path)] * len(bounds), *zip(*bounds, strict=True)))
