"""Fill a subscriber's gaps from the journal, so state events are never lost to load.

An :class:`~engine.bus.EventBus` subscriber that falls behind gets a :class:`Gap` in place
of the events it missed. Log lines, metrics and progress may be dropped with a visible
count, but a missed ``OrderFilled`` would leave a stale order row for good. The
:class:`GapRefill` re-reads each gap's order, position, account and risk events from the
run's journal (the host journals an event before it sends it, so they are there), in a
thread so the caller's loop never waits on a disk, and holds that run's later events
until the re-read is in: what comes out is in seq order per run, without a gap in the
events that fold into state.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from engine.events.envelope import Envelope, Gap
from engine.journal.reader import JournalReader

__all__ = ["STATE_KINDS", "GapRefill", "Refilled"]

READ_CHUNK = 2_000  # events decoded at a time while re-reading a gap

# Event kinds that fold into state a pane shows until it changes again.
STATE_KINDS = frozenset({"order", "position", "account", "risk", "node", "result"})


@dataclass(slots=True)
class Refilled:
    """One :meth:`GapRefill.feed` result.

    ``envelopes`` in seq order per run; ``dropped`` counts the missed events not re-read
    (log lines, metrics...); ``failed`` names gaps whose journal could not be read.
    """

    envelopes: list[Envelope] = field(default_factory=list)
    dropped: int = 0
    failed: list[str] = field(default_factory=list)


_Entry = Envelope | tuple[Gap, Future[list[Envelope]]]


def _read_state_events(runs_dir: Path, gap: Gap, kinds: frozenset[str]) -> list[Envelope]:
    # In chunks, yielding the GIL between them: one decode of a 100k-event gap holds it
    # for ~0.1 s, a stall the UI's loop (whose keystrokes wait) would feel whole.
    out: list[Envelope] = []
    after = gap.first_seq - 1
    with JournalReader(runs_dir / gap.node_id / gap.run_id) as reader:
        while after < gap.last_seq:
            chunk = reader.read(after_seq=after, limit=min(READ_CHUNK, gap.last_seq - after))
            if not chunk:
                break
            after = chunk[-1].seq
            out += [e for e in chunk if e.kind in kinds and e.seq <= gap.last_seq]
            time.sleep(0)
    if after < gap.last_seq:
        raise LookupError(f"the journal ends at seq {after}")
    return out


class GapRefill:
    """Turn a stream of envelopes and gaps into envelopes with the state events re-read.

    Parameters
    ----------
    runs_dir
        The workspace's runs directory (``<runs_dir>/<node>/<run>/`` holds a journal).
    kinds
        The event kinds re-read from the journal; others in a gap only count as dropped.
    """

    def __init__(self, runs_dir: Path, kinds: frozenset[str] = STATE_KINDS) -> None:
        self.runs_dir = Path(runs_dir)
        self.kinds = kinds
        # Per run with a re-read under way: what came since, in order (a read or an event).
        self._pending: dict[tuple[str, str], deque[_Entry]] = {}
        self._pool: ThreadPoolExecutor | None = None

    @property
    def waiting(self) -> bool:
        """Return whether a re-read is still under way (events are held for it)."""
        return bool(self._pending)

    def feed(self, items: Iterable[Envelope | Gap]) -> Refilled:
        """Take what a subscription drained; return what can be shown now, in order."""
        out = Refilled()
        for item in items:
            key = (item.node_id, item.run_id)
            pending = self._pending.get(key)
            if isinstance(item, Gap):
                if pending is None:
                    pending = self._pending[key] = deque()
                pending.append((item, self._submit(item)))
            elif pending is not None:
                pending.append(item)
            else:
                out.envelopes.append(item)
        self._release(out)
        return out

    def close(self) -> None:
        """Stop the reader thread (re-reads under way finish; their results are dropped)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        self._pending.clear()

    def _submit(self, gap: Gap) -> Future[list[Envelope]]:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gap-refill")
        return self._pool.submit(_read_state_events, self.runs_dir, gap, self.kinds)

    def _release(self, out: Refilled) -> None:
        for key in list(self._pending):
            pending = self._pending[key]
            while pending:
                head = pending[0]
                if isinstance(head, Envelope):
                    out.envelopes.append(head)
                    pending.popleft()
                    continue
                gap, future = head
                if not future.done():
                    break
                pending.popleft()
                try:
                    events = future.result()
                except Exception as exc:  # a damaged or missing journal: say so, go on
                    out.failed.append(
                        f"{gap.node_id}/{gap.run_id} seq {gap.first_seq}-{gap.last_seq}: {exc}"
                    )
                    out.dropped += gap.count
                    continue
                out.envelopes.extend(events)
                out.dropped += gap.count - len(events)
            if not pending:
                del self._pending[key]
