"""Check a run's journal record by record and name every problem in it.

The reader stops at the first record that fails its length or CRC check: right for a
live tail that is still being written, silent for a journal damaged in the middle or cut
short by a crash. :func:`verify_journal` reads the whole file and reports what the reader
would not say: a truncated tail, bad frames (checksum, header, body), and sequence gaps,
with the byte offset of each, and up to which seq the journal can be trusted.
"""

from __future__ import annotations

import mmap
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import msgspec

from engine.journal.format import HEADER, JOURNAL_FILE, MAX_RECORD

ProblemKind = Literal["truncated", "bad_frame", "bad_header", "seq_gap", "unreadable"]


class _Head(msgspec.Struct):
    """The fields of an envelope the check reads; decoding skips the payload (4x faster)."""

    seq: int
    kind: str
    type: str


_decoder = msgspec.msgpack.Decoder(_Head)
_MAX_PROBLEMS = 100  # a journal of random bytes has as many as it has frames


@dataclass(frozen=True, slots=True)
class JournalProblem:
    """One problem at one byte offset of the journal."""

    kind: ProblemKind
    offset: int
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "offset": self.offset, "message": self.message}


@dataclass(slots=True)
class JournalCheck:
    """What :func:`verify_journal` found.

    Attributes
    ----------
    intact_seq
        Seq of the last record of the undamaged prefix: what readers deliver. Events
        after it are missing or unreliable when ``problems`` is not empty.
    records
        Records that passed every check (including any after a damaged one).
    """

    path: Path
    size: int = 0
    records: int = 0
    intact_seq: int = 0
    last_seq: int = 0
    problems: list[JournalProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.ok:
            return f"{self.records} events, intact"
        head = "; ".join(p.message for p in self.problems[:3])
        more = f" (+{len(self.problems) - 3} more)" if len(self.problems) > 3 else ""
        return f"damaged after seq {self.intact_seq}: {head}{more}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "ok": self.ok,
            "size": self.size,
            "records": self.records,
            "intact_seq": self.intact_seq,
            "last_seq": self.last_seq,
            "problems": [p.to_dict() for p in self.problems],
        }


def verify_journal(run_dir: Path, *, live_tail: bool = False) -> JournalCheck:
    """Check ``run_dir``'s journal from its first byte to its last.

    ``live_tail``: the host still writes the journal, so a cut-short last record is a
    write in progress, not damage.
    """
    path = Path(run_dir) / JOURNAL_FILE
    check = JournalCheck(path)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return check  # no events yet: nothing to distrust
    except OSError as exc:
        check.problems.append(JournalProblem("unreadable", 0, f"cannot read: {exc.strerror}"))
        return check
    try:
        size = os.fstat(fd).st_size
        check.size = size
        if size:
            with mmap.mmap(fd, size, access=mmap.ACCESS_READ) as data:
                _scan(data, check, live_tail)
    except OSError as exc:
        check.problems.append(JournalProblem("unreadable", 0, f"cannot read: {exc.strerror}"))
    finally:
        os.close(fd)
    return check


def _scan(data: mmap.mmap, check: JournalCheck, live_tail: bool) -> None:
    # Slicing the mmap copies each record out: no view outlives the mapping.
    size = len(data)
    offset = 0
    expected = 1  # the seq the next record should carry
    damaged = False

    def problem(kind: ProblemKind, at: int, message: str) -> None:
        nonlocal damaged
        damaged = True
        if len(check.problems) < _MAX_PROBLEMS:
            check.problems.append(JournalProblem(kind, at, f"offset {at}: {message}"))

    while offset < size:
        if size - offset < HEADER.size:
            if not live_tail or damaged:
                problem(
                    "truncated",
                    offset,
                    f"journal ends inside the header of seq {expected} "
                    f"({size - offset} of {HEADER.size} bytes)",
                )
            return
        length, crc = HEADER.unpack_from(data, offset)
        if length > MAX_RECORD:
            problem(
                "bad_header",
                offset,
                f"record length {length} is impossible; "
                f"the {size - offset} bytes from here cannot be read",
            )
            return
        end = offset + HEADER.size + length
        if end > size:
            if not live_tail or damaged:
                problem(
                    "truncated",
                    offset,
                    f"last record is cut short "
                    f"({size - offset - HEADER.size} of {length} bytes; seq {expected} "
                    "and anything after it lost)",
                )
            return
        body = data[offset + HEADER.size : end]
        if zlib.crc32(body) != crc:
            problem("bad_frame", offset, f"record (seq {expected}?) fails its checksum")
        else:
            try:
                env = _decoder.decode(body)
            except msgspec.DecodeError as exc:
                problem("bad_frame", offset, f"record (seq {expected}?) is not an event ({exc})")
            else:
                if env.seq != expected:
                    problem("seq_gap", offset, f"expected seq {expected}, found {env.seq}")
                    expected = env.seq
                check.records += 1
                check.last_seq = max(check.last_seq, env.seq)
                if not damaged:
                    check.intact_seq = env.seq
        expected += 1
        offset = end
