"""Node hosts: launch (and follow to an outcome), stop, restart, ps, attach, commands
(over NodeManager); each change audited."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from engine.config.issues import ConfigInvalid
from engine.config.store import AmbiguousNode, NodeNotFound
from engine.events.envelope import Envelope
from engine.manager import NodeAlreadyRunning, NodeManager, NodeNotRunning

# The handle ``start`` returns, named here for front ends that must not import the manager.
from engine.nodes.handles import RunHandle as RunHandle
from engine.principal import Principal
from engine.runs import Run, RunNotFound, list_runs
from engine.services.audit import audited_async
from engine.services.configs import check_mode, check_node_ref, lookup_error
from engine.services.errors import ServiceError
from engine.services.follow import OnBatch, follow, wait_for_run
from engine.services.models import (
    Launched,
    LaunchOutcome,
    NodeState,
    Stopped,
    StopRequest,
    WaitFor,
)
from engine.workspace import Workspace

if TYPE_CHECKING:
    from engine.host.standby import Standby

DEFAULT_WAIT_S = 60.0  # a launch asked to wait, without a timeout


class NodeService:
    """Start, stop and list node hosts of one workspace (one manager for the process)."""

    def __init__(self, workspace: Workspace, manager: NodeManager | None = None) -> None:
        self.workspace = workspace
        self.manager = manager or NodeManager(workspace)

    async def ps(self, *, all_nodes: bool = False) -> list[NodeState]:
        """Node hosts with a pid file; with ``all_nodes`` also every other node's latest run."""
        rows = [
            NodeState(
                node_id=s.node_id,
                run_id=s.run_id,
                mode=s.mode,
                pid=s.pid,
                state=s.state,
                alive=s.alive,
                uptime_s=s.uptime_s,
                socket=s.socket,
                run_dir=s.run_dir,
            )
            for s in await self.manager.ps()
        ]
        if all_nodes:
            hosted = {r.node_id for r in rows}
            latest = {
                run.node_id: run for run in await asyncio.to_thread(list_runs, self.workspace)
            }
            for node_id, run in sorted(latest.items()):
                if node_id not in hosted:
                    m = run.meta
                    rows.append(
                        NodeState(
                            node_id=node_id,
                            run_id=m.run_id,
                            mode=m.mode,
                            state=m.state,
                            alive=False,
                            run_dir=str(run.path),
                            error=m.error,
                        )
                    )
        return rows

    async def start(
        self,
        who: Principal,
        node_id: str,
        mode: str | None = None,
        *,
        standby: Standby | None = None,
    ) -> RunHandle:
        """Start a host for the node (audited) and return its handle at once: the CLI
        follows a backtest to its end through it. ``standby``: see ``engine.host.standby``.
        """

        async def call() -> RunHandle:
            check_node_ref(node_id)
            resolved = check_mode(mode)
            try:
                return await self.manager.launch(
                    node_id, resolved.value if resolved else None, standby=standby
                )
            except (NodeNotFound, AmbiguousNode, ConfigInvalid) as exc:
                err = lookup_error(exc, node_id)
                if err.code == "conflict":  # a stored config that is invalid cannot launch
                    err.code = "invalid"
                raise err from exc  # the cause: the CLI prints a config's issues from it
            except NodeAlreadyRunning as exc:
                raise ServiceError(
                    "conflict",
                    str(exc),
                    field="node_id",
                    value=node_id,
                    expected="a node with no host running",
                ) from exc

        return await audited_async(
            self.workspace,
            who,
            "nodes.launch",
            {"node_id": node_id},
            {"mode": mode},
            call,
            lambda h: {"run_id": h.run_id, "pid": h.pid},
        )

    async def launch(
        self,
        who: Principal,
        node_id: str,
        mode: str | None = None,
        *,
        wait: WaitFor | None = None,
        timeout_s: float | None = None,
    ) -> Launched:
        """Start a host for the node; return at once (it runs detached), or with ``wait``
        once it runs or its run ended (at most ``timeout_s``, default 60 s), with the
        outcome."""
        handle = await self.start(who, node_id, mode)
        return await self._launched(handle, wait, timeout_s)

    async def _launched(
        self, handle: RunHandle, wait: WaitFor | None, timeout_s: float | None
    ) -> Launched:
        outcome = None
        if wait is not None:
            outcome = await self.wait(handle, until=wait, timeout_s=timeout_s or DEFAULT_WAIT_S)
        return Launched(
            node_id=handle.node_id,
            run_id=handle.run_id,
            mode=handle.mode,
            pid=handle.pid,
            outcome=outcome,
        )

    async def wait(
        self,
        handle: RunHandle,
        *,
        until: WaitFor = "ended",
        timeout_s: float | None = None,
        on_batch: OnBatch | None = None,
        after_seq: int = 0,
    ) -> LaunchOutcome:
        """Follow a started run (its events to ``on_batch``) until it runs or ends; its
        outcome (see ``engine.services.follow``). No ``timeout_s``: as long as it takes."""
        return await wait_for_run(
            self.manager,
            handle,
            until=until,
            timeout_s=timeout_s,
            on_batch=on_batch,
            after_seq=after_seq,
        )

    async def follow(
        self,
        ref: str,
        on_batch: OnBatch | None = None,
        *,
        after_seq: int = 0,
        until: WaitFor = "ended",
    ) -> str | None:
        """Feed a run's events to ``on_batch`` until it ends (or runs); the state seen."""
        return await follow(self.manager, ref, on_batch, after_seq=after_seq, until=until)

    async def find_run(self, ref: str) -> Run:
        """A run by id, unique id prefix, or node id (its live or latest run)."""
        try:
            return await self.manager.find_run(ref)
        except RunNotFound as exc:
            raise ServiceError(
                "not_found",
                str(exc),
                field="node_id",
                value=ref,
                expected="a node id with a run, or a run id",
            ) from None

    def attach(
        self, ref: str, after_seq: int = 0, *, follow: bool = True
    ) -> AsyncIterator[list[Envelope]]:
        """A run's events with ``seq > after_seq`` in batches, once each: from its host's
        channel while it runs, from its journal otherwise; with ``follow`` until the host
        ended, else to the journal's current end (``NodeManager.attach``)."""
        return self.manager.attach(ref, after_seq, follow=follow)

    async def command(self, node_id: str, cmd: str, **args: Any) -> dict[str, Any]:
        """Send a channel command to the node's live host; its answer (not audited: for
        reads such as ``market``, and for callers that audit the command themselves)."""
        return await self.manager.command(node_id, cmd, **args)

    async def stop(self, who: Principal, node_id: str, request: StopRequest) -> Stopped:
        """Stop the node's host (gracefully, or killed); return how its run ended."""

        async def call() -> Stopped:
            check_node_ref(node_id)
            try:
                meta = await self.manager.stop(
                    node_id,
                    kill=request.kill,
                    timeout_s=request.timeout_s,
                    cancel_orders=request.cancel_orders,
                    flatten=request.flatten,
                )
            except NodeNotRunning as exc:
                raise ServiceError.not_running(node_id, str(exc)) from None
            return Stopped(
                node_id=node_id, run_id=meta.run_id, state=meta.state, exit_code=meta.exit_code
            )

        return await audited_async(
            self.workspace,
            who,
            "nodes.stop",
            {"node_id": node_id},
            request.model_dump(),
            call,
            lambda r: {"run_id": r.run_id, "state": r.state, "exit_code": r.exit_code},
        )

    async def restart(
        self,
        who: Principal,
        node_id: str,
        request: StopRequest | None = None,
        *,
        wait: WaitFor | None = None,
        timeout_s: float | None = None,
    ) -> Launched:
        """Stop the node's host if one runs, then launch the node again in the same mode
        (with ``wait``: as :meth:`launch`)."""

        async def call() -> RunHandle:
            check_node_ref(node_id)
            live = {s.node_id: s for s in await self.manager.ps() if s.alive}
            mode = live[node_id].mode if node_id in live else None
            if node_id in live:
                await self.stop(who, node_id, request or StopRequest())
            return await self.start(who, node_id, mode)

        handle: RunHandle = await audited_async(
            self.workspace,
            who,
            "nodes.restart",
            {"node_id": node_id},
            {},
            call,
            lambda h: {"run_id": h.run_id, "pid": h.pid},
        )
        return await self._launched(handle, wait, timeout_s)
