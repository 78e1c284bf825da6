"""A sandbox venue's book on disk: ``.gateway/state/<node_id>/venue-<VENUE>.json``.

The node host is its one writer. Each change is appended, before the node is told of the
event (as a real venue has its state before it reports it), to ``venue-<VENUE>.log``:
one JSON line per change, carrying the book's change counter. Every ``COMPACT_EVERY``
changes the whole book is written (temp file, rename) and the log emptied. Loading reads
the book, then replays the log's lines past its counter; a line cut off by a kill -9 was
never acknowledged and is dropped. Rewriting the whole book at every event instead made
the order path O(working orders): with 1,000 resting orders, p50 9.4 ms against 3.8 ms.
No fsync: two per event cost the order path p50 0.7 ms, p99 11 ms here; what a machine
crash loses from the page cache shows as a difference at reconciliation, and the node
stays HALTED until the trader decides.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from engine.atomic import atomic_write_text
from engine.recovery.venue_book import VenueBook
from engine.workspace import Workspace


class VenueStateError(RuntimeError):
    """A stored venue book cannot be read: the node must not trade on a guess."""


def venue_path(workspace: Workspace, node_id: str, venue: str) -> Path:
    return workspace.root / "state" / node_id / f"venue-{venue}.json"


COMPACT_EVERY = 500  # changes between two whole-book writes


def log_path(workspace: Workspace, node_id: str, venue: str) -> Path:
    return workspace.root / "state" / node_id / f"venue-{venue}.log"


def venue_paths(workspace: Workspace, node_id: str) -> list[Path]:
    return sorted((workspace.root / "state" / node_id).glob("venue-*.json"))


def load_book(workspace: Workspace, node_id: str, venue: str) -> VenueBook:
    """The stored book with its log replayed, or an empty one when the venue never held
    anything."""
    path = venue_path(workspace, node_id, venue)
    try:
        text = path.read_text()
    except FileNotFoundError:
        book = VenueBook(venue)
    except OSError as exc:
        raise VenueStateError(f"{path}: cannot read the venue's state: {exc}") from None
    else:
        try:
            book = VenueBook.from_dict(json.loads(text))
        except (ValueError, AttributeError) as exc:
            raise VenueStateError(f"{path}: not a venue book: {exc}") from None
    _replay(book, log_path(workspace, node_id, venue))
    return book


def _replay(book: VenueBook, path: Path) -> None:
    try:
        lines = path.read_bytes().split(b"\n")
    except FileNotFoundError:
        return
    except OSError as exc:
        raise VenueStateError(f"{path}: cannot read the venue's log: {exc}") from None
    for n, line in enumerate(lines[:-1], 1):  # the last piece: empty, or cut off
        try:
            op = json.loads(line)
            if int(op["seq"]) <= book.seq:
                continue  # already in the book (a compaction the kill interrupted)
            if "balances" in op:
                book.set_balances(op["balances"])
            else:
                book.apply(op["type"], op["event"], op.get("order"))
            book.seq = int(op["seq"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise VenueStateError(f"{path}: line {n} is not a venue change: {exc}") from None


class VenueLog:
    """Appends a venue's changes to its log; writes the whole book every COMPACT_EVERY."""

    def __init__(self, workspace: Workspace, node_id: str) -> None:
        self.workspace = workspace
        self.node_id = node_id
        self._since: dict[str, int] = {}
        # Kept open (O_APPEND): opening the file for each change cost the node's order path
        # ~1% of its CPU. A compaction empties the file in place, so the descriptor stays
        # right: appends go to the new end.
        self._fds: dict[str, int] = {}

    def append(self, book: VenueBook, op: dict[str, Any]) -> None:
        if self._since.get(book.venue, COMPACT_EVERY) >= COMPACT_EVERY:
            save_book(self.workspace, self.node_id, book)  # the book holds this change too
            self._since[book.venue] = 0
            return
        fd = self._fds.get(book.venue)
        if fd is None:
            path = log_path(self.workspace, self.node_id, book.venue)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            self._fds[book.venue] = fd
        line = json.dumps({**op, "seq": book.seq}, separators=(",", ":"), default=str)
        os.write(fd, line.encode() + b"\n")  # one write: a kill leaves it whole or cut off
        self._since[book.venue] = self._since.get(book.venue, 0) + 1

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()


def save_book(workspace: Workspace, node_id: str, book: VenueBook) -> None:
    """Write the whole book, then empty its log (lines it holds are skipped on replay)."""
    atomic_write_text(
        venue_path(workspace, node_id, book.venue),
        json.dumps(book.to_dict(), separators=(",", ":")) + "\n",
        0o600,
        fsync=False,
    )
    path = log_path(workspace, node_id, book.venue)
    if path.exists():
        path.write_bytes(b"")


def reset_books(workspace: Workspace, node_id: str) -> list[str]:
    """Forget every venue book of a node (its venues start empty); return the venues."""
    venues = []
    for path in venue_paths(workspace, node_id):
        venue = path.stem.removeprefix("venue-")
        venues.append(venue)
        path.unlink(missing_ok=True)
        log_path(workspace, node_id, venue).unlink(missing_ok=True)
    return venues


def reset_path(workspace: Workspace, node_id: str) -> Path:
    return workspace.root / "state" / node_id / "reset.json"


def mark_reset(workspace: Workspace, node_id: str, after_run: str | None) -> None:
    """Record that the node's state was reset after ``after_run``: the next run starts from
    nothing instead of what the journals of that run and earlier ones end in (their events
    still count in the node's sequence)."""
    atomic_write_text(
        reset_path(workspace, node_id), json.dumps({"after_run": after_run}) + "\n", 0o600
    )


def reset_after(workspace: Workspace, node_id: str) -> str | None:
    """The run after which the node's state was reset (None: never, or unreadable)."""
    try:
        data = json.loads(reset_path(workspace, node_id).read_text())
    except (OSError, ValueError):
        return None
    after = data.get("after_run") if isinstance(data, dict) else None
    return after if isinstance(after, str) else None
