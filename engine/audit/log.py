"""The workspace's audit log: ``.gateway/audit/audit.jsonl``, appended under a file lock.

Every front end (console, CLI, HTTP API, MCP) records each command that changes something
through :meth:`AuditLog.append`, after the command's outcome is known. Writers in several
processes serialize on ``audit.lock`` (filelock); an append is acknowledged only after
``fsync``, so a line without its newline at the end of the file is a write that a crash cut
off and that nobody was told about: the next append removes it before writing.

``head.json`` holds the newest entry's seq and hash, so a cut-off tail (entries removed from
the end, which the chain alone cannot show) is found by ``verify``. It is replaced atomically
but not fsynced: after a machine crash it may lag the log (never lead it). Every
``seal_every`` entries the appender seals the block it checked (``engine.audit.seals``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from filelock import FileLock

from engine.atomic import atomic_write_text
from engine.audit.record import (
    GENESIS,
    SCHEMA_VERSION,
    AuditEntry,
    decode,
    line_bytes,
    redact,
)
from engine.audit.sealer import seal_pending
from engine.audit.seals import SEAL_EVERY
from engine.principal import Principal
from engine.workspace import Workspace

TAIL_CHUNK = 65536
LOCK_TIMEOUT_S = 10.0
LOCK_POLL_S = 0.001  # another process appending holds the lock ~1-2 ms (one fsync)
_THREAD_LOCKS: dict[Path, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


def _thread_lock(path: Path) -> threading.Lock:
    """This process's lock for one audit log (shared by every AuditLog of that path)."""
    with _THREAD_LOCKS_GUARD:
        return _THREAD_LOCKS.setdefault(path.resolve(), threading.Lock())


class AuditWriteError(RuntimeError):
    """The audit log could not be written (the command's result must say so)."""


@dataclass(frozen=True, slots=True)
class AuditPaths:
    directory: Path

    @property
    def log(self) -> Path:
        return self.directory / "audit.jsonl"

    @property
    def lock(self) -> Path:
        return self.directory / "audit.lock"

    @property
    def head(self) -> Path:
        return self.directory / "head.json"

    @property
    def seals(self) -> Path:
        return self.directory / "seals.jsonl"


class AuditLog:
    """Append to and read the audit log of one workspace."""

    def __init__(self, directory: Path, *, seal_every: int = SEAL_EVERY) -> None:
        self.paths = AuditPaths(directory)
        self.seal_every = seal_every

    @classmethod
    def of(cls, workspace: Workspace) -> AuditLog:
        return cls(workspace.root / "audit")

    def append(
        self,
        who: Principal,
        action: str,
        *,
        target: dict[str, Any] | None = None,
        request: dict[str, Any] | None = None,
        result: dict[str, Any] | None = None,
    ) -> AuditEntry:
        """Record one command and its outcome; return the entry as written."""
        try:
            self.paths.directory.mkdir(parents=True, exist_ok=True)
            # Threads of this process queue on a lock of their own first: on the file lock
            # alone a waiting thread polls (every 50 ms by default), and a server's
            # concurrent commands each waited tens of ms for the one appending before.
            deadline = time.monotonic() + LOCK_TIMEOUT_S
            mine = _thread_lock(self.paths.lock)
            if not mine.acquire(timeout=LOCK_TIMEOUT_S):
                raise TimeoutError(f"another thread held it for {LOCK_TIMEOUT_S:g} s")
            try:
                left = max(0.0, deadline - time.monotonic())
                with FileLock(self.paths.lock, timeout=left, poll_interval=LOCK_POLL_S):
                    return self._append_locked(who, action, target, request, result)
            finally:
                mine.release()
        except OSError as exc:  # includes filelock.Timeout and TimeoutError
            raise AuditWriteError(f"cannot write the audit log {self.paths.log}: {exc}") from exc

    def _append_locked(
        self,
        who: Principal,
        action: str,
        target: dict[str, Any] | None,
        request: dict[str, Any] | None,
        result: dict[str, Any] | None,
    ) -> AuditEntry:
        fd = os.open(self.paths.log, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            seq, prev = _last_link(fd)
            entry = AuditEntry(
                v=SCHEMA_VERSION,
                seq=seq + 1,
                prev=prev,
                ts=dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
                who=who.name,
                via=who.via,
                action=action,
                target=redact(target or {}),
                request=redact(request or {}),
                result=redact(result or {}),
            )
            data, h = line_bytes(entry)
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        seal_pending(self.paths.log, self.paths.seals, entry.seq, self.seal_every)
        # Not fsynced (the entry is): a head that a crash leaves behind the log, or unreadable,
        # is what verify already accepts, since a crash may come before the head is written at
        # all; one never gets ahead of the log. Its two fsyncs (file, directory) cost 0.8 ms
        # p50 and 10 ms p99 on each audited command (an order submit through the API).
        atomic_write_text(
            self.paths.head, json.dumps({"seq": entry.seq, "hash": h}), 0o600, fsync=False
        )
        return msgspec.structs.replace(entry, hash=h)

    def entries(self) -> Iterator[AuditEntry]:
        """Every readable entry, oldest first (a damaged line is skipped; verify names it)."""
        try:
            fh = self.paths.log.open("rb")
        except FileNotFoundError:
            return
        with fh:
            for line in fh:
                if not line.endswith(b"\n"):
                    return
                try:
                    yield decode(line)
                except (msgspec.DecodeError, msgspec.ValidationError):
                    continue

    def head(self) -> tuple[int, str] | None:
        """The newest entry's (seq, hash) as the head file records it, if any."""
        try:
            data = json.loads(self.paths.head.read_text("utf-8"))
            return int(data["seq"]), str(data["hash"])
        except (OSError, ValueError, KeyError, TypeError):
            return None


def _last_link(fd: int) -> tuple[int, str]:
    """The newest complete entry's (seq, hash); drops a tail a crash cut off mid-line."""
    size = os.fstat(fd).st_size
    if size == 0:
        return 0, GENESIS
    start = max(0, size - TAIL_CHUNK)
    tail = os.pread(fd, size - start, start)
    while b"\n" not in tail[:-1] and start > 0:  # one entry longer than the chunk
        start = max(0, start - TAIL_CHUNK)
        tail = os.pread(fd, size - start, start)
    if not tail.endswith(b"\n"):
        cut = tail.rfind(b"\n") + 1  # 0 when the only line is torn
        os.ftruncate(fd, start + cut)
        tail = tail[:cut]
        if not tail:
            return (0, GENESIS) if start == 0 else _last_link(fd)
    last = tail[:-1].rsplit(b"\n", 1)[-1] + b"\n"
    try:
        entry = decode(last)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise AuditWriteError(
            "the audit log's last entry is damaged; run `gateway audit verify`"
        ) from exc
    if entry.v > SCHEMA_VERSION:  # a newer gateway's log: appending would mix two formats
        raise AuditWriteError(
            f"the audit log's last entry has v {entry.v}, newer than this gateway writes "
            f"({SCHEMA_VERSION}); upgrade nautilus-gateway (the log is left as it is)"
        )
    return entry.seq, entry.hash


def record(
    workspace: Workspace,
    who: Principal,
    action: str,
    *,
    target: dict[str, Any],
    request: dict[str, Any],
    result: dict[str, Any],
) -> str | None:
    """Append one entry after the fact; return why it could not be written, else ``None``.

    For a command that has already happened: its outcome stands, and the caller says that
    its record is missing (a front end prints it; the command's exit status reflects it).
    """
    try:
        AuditLog.of(workspace).append(who, action, target=target, request=request, result=result)
    except AuditWriteError as exc:
        return str(exc)
    return None
