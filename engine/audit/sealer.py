"""Sealing the audit log as it grows: the appender's side of ``engine.audit.seals``."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from engine.audit.record import GENESIS
from engine.audit.seals import SEAL_MAX_BYTES, SEAL_VERSION, Seal, last_seal, seal_line
from engine.audit.walk import walk


def seal_pending(log_path: Path, seals_path: Path, last_seq: int, every: int) -> None:
    """Seal the entries after the last seal once there are ``every`` of them.

    Called under the audit lock after an append, so the log does not change meanwhile. A
    block that does not check out is left unsealed, for ``verify`` to walk and name. A seal
    that cannot be written is skipped: the entry is already durable, and an unsealed block
    only costs ``verify`` time.
    """
    try:
        fd = os.open(seals_path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    except OSError:
        return
    try:
        last, chainable = last_seal(fd)
        sealed_seq = last.last_seq if last else 0
        if not chainable or last_seq - sealed_seq < every:
            return
        start = last.end if last else 0
        end = _block_end(log_path, start)
        if end <= start:
            return
        part = walk(str(log_path), start, end)
        if (
            part.problem is not None
            or part.count == 0
            or part.first_seq != sealed_seq + 1
            or part.first_prev != (last.last_hash if last else GENESIS)
        ):
            return
        digest = _digest(log_path, start, end)
        seal = Seal(
            v=SEAL_VERSION,
            n=(last.n if last else 0) + 1,
            first_seq=part.first_seq,
            last_seq=part.last_seq,
            start=start,
            end=end,
            sha256=digest,
            last_hash=part.last_hash,
            prev=last.hash if last else GENESIS,
        )
        os.write(fd, seal_line(seal)[0])
        os.fsync(fd)
    except OSError:
        return
    finally:
        os.close(fd)


def _block_end(log_path: Path, start: int) -> int:
    """The end of the next block: the log's end, or the first line end past the cap."""
    size = log_path.stat().st_size
    if size - start <= SEAL_MAX_BYTES:
        return size
    with log_path.open("rb") as fh:
        fh.seek(start + SEAL_MAX_BYTES)
        fh.readline()
        return min(fh.tell(), size)


def _digest(log_path: Path, start: int, end: int) -> str:
    h = hashlib.sha256()
    with log_path.open("rb") as fh:
        fh.seek(start)
        left = end - start
        while left > 0:
            chunk = fh.read(min(1 << 20, left))
            if not chunk:
                break
            h.update(chunk)
            left -= len(chunk)
    return h.hexdigest()
