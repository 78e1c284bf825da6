"""Reading a run's events: from its host's channel while it runs, then from its journal."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from engine.events.envelope import Envelope
from engine.host.events import NODE_STATE_CHANGED, TERMINAL_STATES
from engine.host.paths import socket_path
from engine.runs import Run
from engine.workspace import Workspace

JOURNAL_BATCH = 5000  # envelopes per batch when replaying a journal


async def from_channel(
    workspace: Workspace, run: Run, after_seq: int
) -> AsyncIterator[list[Envelope]]:
    """The run's events with ``seq > after_seq`` from its host's channel, while it serves
    this run (nothing once it does not)."""
    from engine.channel import ChannelError, NodeClient

    path = socket_path(workspace, run.node_id)
    try:
        client = await NodeClient.connect(path)
    except (OSError, ChannelError, TimeoutError):
        return
    if client.run_id != run.run_id:  # the socket now serves a newer run of the node
        with contextlib.suppress(Exception):
            await client.close()
        return
    last = after_seq
    try:
        async for batch in client.events(after_seq=after_seq):
            # The client's seqs are contiguous from after_seq and its run is ours: only
            # an overlap needs filtering, not every event of every batch.
            if batch[0].seq <= last:
                batch = [e for e in batch if e.seq > last]
                if not batch:
                    continue
            last = batch[-1].seq
            yield batch
    except (OSError, ChannelError, EOFError, asyncio.IncompleteReadError):
        return
    finally:
        with contextlib.suppress(Exception):
            await client.close()


async def from_journal(run_dir: Path, after_seq: int) -> AsyncIterator[list[Envelope]]:
    """The run's journaled events with ``seq > after_seq``, to the journal's current end."""
    from engine.journal import JournalReader

    reader = JournalReader(run_dir)
    try:
        last = after_seq
        while True:
            batch = await asyncio.to_thread(reader.read, last, JOURNAL_BATCH)
            if not batch:
                return
            last = batch[-1].seq
            yield batch
    finally:
        reader.close()


def is_final(env: Envelope) -> bool:
    """Whether ``env`` is a host's last state change (stopped, completed or failed)."""
    return env.type == NODE_STATE_CHANGED and env.payload.get("state") in TERMINAL_STATES
