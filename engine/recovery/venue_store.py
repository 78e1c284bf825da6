"""A sandbox venue's book on disk: ``.gateway/state/<node_id>/venue-<VENUE>.json``.

The node host is its one writer: it stores the book (temp file, rename) at every change,
before the node is told of the event, as a real venue has its state before it reports
it. A kill -9 at any point leaves the old book or the new one, never a torn one. No
fsync: two per order event cost the order path p50 0.7 ms, p99 11 ms here; what a
machine crash loses from the page cache shows as a difference at reconciliation, and
the node stays HALTED until the trader decides.
"""

from __future__ import annotations

import json
from pathlib import Path

from engine.atomic import atomic_write_text
from engine.recovery.venue_book import VenueBook
from engine.workspace import Workspace


class VenueStateError(RuntimeError):
    """A stored venue book cannot be read: the node must not trade on a guess."""


def venue_path(workspace: Workspace, node_id: str, venue: str) -> Path:
    return workspace.root / "state" / node_id / f"venue-{venue}.json"


def venue_paths(workspace: Workspace, node_id: str) -> list[Path]:
    return sorted((workspace.root / "state" / node_id).glob("venue-*.json"))


def load_book(workspace: Workspace, node_id: str, venue: str) -> VenueBook:
    """The stored book, or an empty one when the venue never held anything."""
    path = venue_path(workspace, node_id, venue)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return VenueBook(venue)
    except OSError as exc:
        raise VenueStateError(f"{path}: cannot read the venue's state: {exc}") from None
    try:
        return VenueBook.from_dict(json.loads(text))
    except (ValueError, AttributeError) as exc:
        raise VenueStateError(f"{path}: not a venue book: {exc}") from None


def save_book(workspace: Workspace, node_id: str, book: VenueBook) -> None:
    atomic_write_text(
        venue_path(workspace, node_id, book.venue),
        json.dumps(book.to_dict(), separators=(",", ":")) + "\n",
        0o600,
        fsync=False,
    )


def reset_books(workspace: Workspace, node_id: str) -> list[str]:
    """Forget every venue book of a node (its venues start empty); return the venues."""
    venues = []
    for path in venue_paths(workspace, node_id):
        venues.append(path.stem.removeprefix("venue-"))
        path.unlink(missing_ok=True)
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
