"""Following a launched run to its outcome: what every front end reports after a launch.

A run is followed through ``NodeManager.attach`` (its host's channel, then its journal)
until it is running or has ended, as asked. Its state is the one its events say; a host
that died without a final event is settled by whoever supervises it, and then the run's
``meta.json`` says. The outcome carries that state, the host's exit status, the message of
the run's ``error.json`` when it failed, and the exit code ``gateway launch`` exits with
(:data:`EXIT_BY_STATE`), so the CLI, the console and the API report the same thing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.events.envelope import Envelope
from engine.host.events import NODE_STATE_CHANGED, TERMINAL_STATES
from engine.runs import ERROR_FILE, read_json
from engine.services.models import LaunchOutcome, WaitFor

if TYPE_CHECKING:
    from engine.manager import NodeManager, RunHandle

EXIT_COMPLETED = 0
EXIT_FAILED = 1
EXIT_STOPPED = 3
# The exit code of ``gateway launch`` for the state a run ended in (anything else: failed).
EXIT_BY_STATE = {"completed": EXIT_COMPLETED, "failed": EXIT_FAILED, "stopped": EXIT_STOPPED}
HOST_EXIT_S = 30.0  # how long an ended run's host may take to exit (a backtest's writes results)

# What a timed-out wait says of the node it leaves as it is.
_GOES_ON = {
    "created": "it keeps launching",
    "starting": "it keeps launching",
    "running": "it keeps running",
}

type OnBatch = Callable[[list[Envelope]], None]


def exit_code_for(state: str | None, wait: WaitFor = "ended") -> int:
    """``gateway launch``'s exit code: 0 completed (or running, when that was awaited),
    1 failed, 3 stopped; any other state is a failure to get there."""
    if wait == "running" and state == "running":
        return EXIT_COMPLETED
    return EXIT_BY_STATE.get(state or "failed", EXIT_FAILED)


@dataclass(slots=True)
class _Seen:
    """What a follow has seen so far (kept when it times out)."""

    last_seq: int
    state: str | None = None  # the latest state the run's events said
    final: str | None = None  # the state the follow ended on: terminal, or running


async def _follow(
    manager: NodeManager, ref: str, seen: _Seen, on_batch: OnBatch | None, until: WaitFor
) -> None:
    async for batch in manager.attach(ref, seen.last_seq):
        if on_batch is not None:
            on_batch(batch)
        seen.last_seq = batch[-1].seq
        for env in batch:
            if env.type != NODE_STATE_CHANGED:
                continue
            state = env.payload.get("state")
            if not isinstance(state, str):
                continue
            seen.state = state
            if state in TERMINAL_STATES:
                seen.final = state
            elif until == "running" and state == "running":
                seen.final = state
                return
        if seen.final is not None:
            return


async def follow(
    manager: NodeManager,
    ref: str,
    on_batch: OnBatch | None = None,
    *,
    after_seq: int = 0,
    until: WaitFor = "ended",
) -> str | None:
    """Feed a run's events (``seq > after_seq``) to ``on_batch`` until it ends, or with
    ``until="running"`` until it runs; return that state (None: its events never said)."""
    seen = _Seen(after_seq)
    await _follow(manager, ref, seen, on_batch, until)
    return seen.final


async def wait_for_run(
    manager: NodeManager,
    handle: RunHandle,
    *,
    until: WaitFor = "ended",
    timeout_s: float | None = None,
    on_batch: OnBatch | None = None,
    after_seq: int = 0,
) -> LaunchOutcome:
    """Follow the run of ``handle`` until it runs or ends (``until``), at most
    ``timeout_s`` seconds (None: no limit); return where it stood.

    On a timeout the node is left as it is (launching or running) and the outcome says
    the state seen last. A run that ended is reported once its host exited (waited for up
    to :data:`HOST_EXIT_S`, within ``timeout_s``), with its exit status.
    """
    loop = asyncio.get_running_loop()
    deadline = None if timeout_s is None else loop.time() + timeout_s
    seen = _Seen(after_seq)
    timed_out = False
    limit = asyncio.timeout_at(deadline)
    try:
        async with limit:
            await _follow(manager, handle.run_id, seen, on_batch, until)
    except TimeoutError:
        if not limit.expired():
            raise
        timed_out = True

    state = seen.final
    host_code: int | None = None
    if not timed_out and (state is None or state in TERMINAL_STATES):
        # Wait for the host to exit and its supervisor to settle the run: a host that died
        # without a final event is marked (failed, with its exit status) only then.
        host_wait = HOST_EXIT_S if deadline is None else min(HOST_EXIT_S, deadline - loop.time())
        try:
            host_code = await handle.wait(max(0.0, host_wait))
        except TimeoutError:
            host_code = None
    meta = await handle.meta()
    if timed_out:
        state = seen.state or (meta.state if meta is not None else "created")
    elif state is None:
        state = meta.state if meta is not None else "failed"
    if host_code is None and meta is not None and meta.terminal:
        host_code = meta.exit_code
    ended = state in TERMINAL_STATES
    error = None
    if state == "failed":
        data = await asyncio.to_thread(read_json, handle.run_dir / ERROR_FILE)
        message = data.get("message") if data else None
        error = str(message) if message else (meta.error if meta is not None else None)
    return LaunchOutcome(
        run_id=handle.run_id,
        wait=until,
        state=state,
        ended=ended,
        timed_out=timed_out,
        exit_code=None if timed_out else exit_code_for(state, until),
        host_exit_code=host_code,
        reported=timed_out or seen.final is not None,
        error=error,
        last_seq=seen.last_seq,
        message=_sentence(handle.node_id, handle.run_id, until, state, timed_out, timeout_s, error),
    )


def _sentence(
    node_id: str,
    run_id: str,
    until: WaitFor,
    state: str,
    timed_out: bool,
    timeout_s: float | None,
    error: str | None,
) -> str:
    if timed_out:
        missed = "did not end" if until == "ended" else "was not running"
        goes_on = _GOES_ON.get(state, "it goes on")
        return (
            f"{node_id} {missed} within {timeout_s:g} s: {goes_on} "
            f"(state seen last: {state}; run {run_id})"
        )
    if state == "running":
        return f"{node_id} is running (run {run_id})"
    return f"run {run_id} of {node_id}: {state}" + (f": {error}" if error else "")
