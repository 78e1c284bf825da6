"""The console's one door to the engine: configs, node control, runs and the event feed.

Every sync method here may block (files, Nautilus imports, validation), so the console
calls them from thread workers; the async ones (node control) run on the app loop and
only await (the node service's manager moves its own file I/O to threads).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from console.stats_format import stat_rows
from engine.workspace import Workspace
from widgets.data import NodeRow

if TYPE_CHECKING:  # engine.config builds its pydantic models on import: ~1 s of start-up
    from engine.config.issues import ConfigIssue
    from engine.config.store import ConfigStore
    from engine.config.validate import ValidationReport
    from engine.orders.outcome import Outcome
    from engine.principal import Principal
    from engine.risk.service import KillOutcome
    from engine.services.nodes import NodeService
    from engine.services.orders import OrderService
    from engine.watch import WorkspaceChange, WorkspaceWatcher

REPORT_ROW_LIMIT = 2000
RECENT_EVENTS = 2000  # shown from a running node's journal when the console attaches


@dataclass(frozen=True, slots=True)
class Template:
    """A node template the user can start from."""

    name: str
    description: str
    doc: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Report:
    """One results report as a table."""

    name: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class RunResults:
    """A run's state, statistics and reports."""

    node_id: str
    run_id: str
    state: str
    stats: tuple[tuple[str, str], ...] = ()
    reports: tuple[Report, ...] = ()
    error: str | None = None
    run_ids: tuple[str, ...] = ()  # every run of the node, oldest first (this one among them)

    def neighbour(self, step: int) -> str | None:
        """The run id ``step`` runs later (negative: earlier) than this one, if any."""
        if self.run_id not in self.run_ids:
            return None
        i = self.run_ids.index(self.run_id) + step
        return self.run_ids[i] if 0 <= i < len(self.run_ids) else None


@dataclass(frozen=True, slots=True)
class LiveNode:
    """What the node manager knows of one node's current run."""

    node_id: str
    mode: str
    state: str
    run_id: str
    uptime_s: float | None = None


@dataclass(slots=True)
class FeedDrain:
    """What one drain of the event feed returned: envelopes and missed ranges."""

    envelopes: list[Any] = field(default_factory=list)
    missed: int = 0
    failed: list[str] = field(default_factory=list)  # gaps the journal could not refill


class EventFeed(Protocol):
    """A non-blocking source of envelopes (an EventBus subscription)."""

    def drain(self) -> FeedDrain: ...


class Services(Protocol):
    """What the console needs from the engine."""

    workspace: Workspace

    def scan_nodes(self) -> list[NodeRow]: ...
    def list_nodes(self) -> list[NodeRow]: ...
    def templates(self) -> list[Template]: ...
    def load_doc(self, node_id: str, mode: str) -> dict[str, Any]: ...
    def check(self, doc: dict[str, Any], *, deep: bool) -> list[ConfigIssue]: ...
    def save(self, doc: dict[str, Any], *, new: bool) -> list[ConfigIssue]: ...
    def delete(self, node_id: str, mode: str) -> None: ...
    def node_log(self, node_id: str, limit: int = 500) -> list[str]: ...
    def results(self, node_id: str, run_id: str | None = None) -> RunResults | None: ...
    async def open(self) -> list[str]: ...
    async def launch(self, node_id: str, mode: str) -> str: ...
    async def stop(self, node_id: str) -> None: ...
    async def live_nodes(self) -> list[LiveNode]: ...
    def watch(self) -> AsyncIterator[WorkspaceChange]: ...
    async def order_command(
        self,
        node_id: str,
        command: dict[str, Any],
        *,
        confirm_notional: bool | Decimal | None = None,
        market: tuple[Any, Any] | None = None,
    ) -> dict[str, Any]: ...
    async def order_action(
        self, node_id: str, command: dict[str, Any], *, confirm_notional: bool | None = None
    ) -> Outcome: ...
    async def kill_switch(self) -> list[KillOutcome]: ...
    async def market(self, node_id: str, instrument_id: str) -> dict[str, Any]: ...
    def feed(self) -> EventFeed | None: ...
    async def close(self, *, stop_live: bool) -> None: ...


class BusFeed:
    """The console's subscription to the EventBus, drained by the UI timer.

    Gaps (the console fell behind) are re-read from the journal for the events that fold
    into order, position, account and risk state (:class:`~engine.events.refill.GapRefill`),
    so only log lines and the like are skipped, with their count shown.
    """

    def __init__(self, subscription: Any, runs_dir: Path | None = None) -> None:
        self.subscription = subscription
        self.received = 0  # envelopes handed to the console, re-read ones included
        self.state_received = 0  # of which order, position, account, risk, node, result
        self.dropped = 0  # missed and not re-read (log lines, metrics, progress)
        self._refill: Any = None
        if runs_dir is not None:
            from engine.events.refill import GapRefill

            self._refill = GapRefill(runs_dir)

    def drain(self) -> FeedDrain:
        out = FeedDrain()
        items = self.subscription.drain()
        if self._refill is not None:
            if items or self._refill.waiting:
                refilled = self._refill.feed(items)
                out.envelopes = refilled.envelopes
                out.missed = refilled.dropped
                out.failed = refilled.failed
                self._count(out)
            return out
        from engine.events.envelope import Gap

        for item in items:
            if isinstance(item, Gap):
                out.missed += item.count
            else:
                out.envelopes.append(item)
        self._count(out)
        return out

    def _count(self, out: FeedDrain) -> None:
        from engine.events.refill import STATE_KINDS

        self.received += len(out.envelopes)
        self.state_received += sum(1 for e in out.envelopes if e.kind in STATE_KINDS)
        self.dropped += out.missed

    def close(self) -> None:
        if self._refill is not None:
            self._refill.close()


class WorkspaceServices:
    """Services over a workspace: the config store, run directories and the node service.

    The EventBus is the manager's when it has one, else our own (which tools such as the
    ingest benchmark publish to); the console subscribes to it once, as ``console``.
    """

    def __init__(self, workspace: Workspace, *, bus: Any = None, max_queue: int = 50_000) -> None:
        self.workspace = workspace
        self._store: ConfigStore | None = None
        self._node_service: NodeService | None = None
        self._attached: dict[str, asyncio.Task[None]] = {}
        self._relayed: dict[str, int] = {}  # run id -> last seq relayed to the bus
        self._watcher: WorkspaceWatcher | None = None
        self._watching: asyncio.Task[None] | None = None
        self._bus = bus
        self._max_queue = max_queue
        self._feed: EventFeed | None = None

    @property
    def bus(self) -> Any:
        """The EventBus (made on first use: its imports wait until after the first paint)."""
        if self._bus is None:
            from engine.bus import EventBus

            self._bus = EventBus()
        return self._bus

    # -- configs (blocking: call from a thread worker) ---------------------------------
    @property
    def store(self) -> ConfigStore:
        if self._store is None:
            from engine.config.store import ConfigStore

            self._store = ConfigStore(self.workspace)
        return self._store

    def scan_nodes(self) -> list[NodeRow]:
        """The stored nodes from their file names alone: fast enough for the first paint."""
        root = self.workspace.nodes_dir
        if not root.is_dir():
            return []
        return [
            NodeRow(path.parent.name, path.stem, "idle")
            for node_dir in sorted(p for p in root.iterdir() if p.is_dir())
            for path in sorted(node_dir.glob("*.json"))
        ]

    def list_nodes(self) -> list[NodeRow]:
        """The stored nodes, each loaded and checked (invalid ones say why)."""
        rows = []
        for stored in self.store.all(deep=False):
            problem = None
            if not stored.ok:
                errors = [i for i in stored.issues if i.severity == "error"]
                problem = errors[0].render() if errors else "invalid"
            rows.append(
                NodeRow(
                    stored.node_id,
                    stored.mode,
                    "invalid" if problem else "idle",
                    problem=problem,
                )
            )
        return rows

    def templates(self) -> list[Template]:
        from engine.demo import DEMO_NODES

        out = []
        for make in DEMO_NODES:
            doc = make()
            out.append(Template(f"{doc['mode']}: {doc['node_id']}", doc["description"], doc))
        return out

    def load_doc(self, node_id: str, mode: str) -> dict[str, Any]:
        path = self.store.path_for(node_id, mode)
        from engine.config.issues import ConfigInvalid
        from engine.config.store import parse_document

        try:
            return parse_document(path.read_bytes(), str(path))
        except ConfigInvalid as exc:  # callers handle ValueError: not JSON, too deep …
            raise ValueError(str(exc)) from None

    def check(self, doc: dict[str, Any], *, deep: bool) -> list[ConfigIssue]:
        from engine.config.validate import validate_node

        return validate_node(doc, self.workspace, deep=deep).issues

    def save(self, doc: dict[str, Any], *, new: bool) -> list[ConfigIssue]:
        """Validate deeply and store; raise ConfigInvalid (nothing written) on errors.

        Audited as the config service audits (``nodes.create`` / ``nodes.update``); an
        entry that cannot be written comes back as a warning: the config is saved.
        """
        from engine.config.issues import ConfigIssue
        from engine.services.errors import ServiceError

        target = {"node_id": doc.get("node_id"), "mode": doc.get("mode")}
        action, request = ("nodes.create", {"overwrite": False}) if new else ("nodes.update", {})
        try:
            report: ValidationReport = self._audited(
                action,
                target,
                request,
                lambda: self.store.save(doc, overwrite=not new, deep=True),
                lambda _: {"created": new},
            )
        except ServiceError as exc:  # saved, not recorded
            return [ConfigIssue("", exc.message, severity="warning")]
        return report.issues

    def delete(self, node_id: str, mode: str) -> None:
        """Delete one mode's config (audited as ``nodes.delete``; raises ServiceError when
        it was deleted but its entry could not be written)."""
        self._audited(
            "nodes.delete",
            {"node_id": node_id, "mode": mode},
            {},
            lambda: self.store.delete(node_id, mode),
            lambda _: {"mode": mode},
        )

    def _audited(
        self,
        action: str,
        target: dict[str, Any],
        request: dict[str, Any],
        call: Callable[[], Any],
        outcome: Callable[[Any], dict[str, Any]],
    ) -> Any:
        from engine.principal import Principal
        from engine.services.audit import audited

        who = Principal.local("console")
        return audited(self.workspace, who, action, target, request, call, outcome)

    # -- runs (blocking) -------------------------------------------------------------
    def node_log(self, node_id: str, limit: int = 500) -> list[str]:
        from engine import runs

        run = runs.latest_run(self.workspace, node_id)
        if run is None:
            return []
        for name in (runs.LOG_FILE, runs.HOST_OUTPUT):
            path = run.path / name
            if path.is_file():
                return [_log_text(line) for line in _tail(path, limit)]
        return []

    def results(self, node_id: str, run_id: str | None = None) -> RunResults | None:
        """A run of the node (its latest without ``run_id``); None when there is none."""
        from dataclasses import replace

        from engine import runs

        found = runs.list_runs(self.workspace, node_id)
        if run_id is None:
            run = found[-1] if found else None
        else:
            run = next((r for r in found if r.run_id == run_id), None)
        if run is None:
            return None
        results = read_results(run.path, node_id, run.run_id, run.meta.state, run.meta.error)
        return replace(results, run_ids=tuple(r.run_id for r in found))

    # -- node control (async, on the app loop) -------------------------------------------
    def _nodes(self) -> NodeService:
        """The node service (one NodeManager for the console), made on first use."""
        if self._node_service is None:
            from engine.services.nodes import NodeService

            self._node_service = NodeService(self.workspace)
        return self._node_service

    async def open(self) -> list[str]:
        """Attach to the node hosts already running (started by an earlier console)."""
        attached = []
        for status in await self._nodes().ps():
            if status.alive:
                run_dir = Path(status.run_dir or "")
                last = await asyncio.to_thread(_last_seq, run_dir)
                self._follow(status.run_id, after_seq=max(0, last - RECENT_EVENTS), run_dir=run_dir)
                attached.append(status.node_id)
        return attached

    def _follow(self, run_id: str, after_seq: int = 0, run_dir: Path | None = None) -> None:
        """Relay a run's events (journal first, then its channel) to the bus.

        A run followed before goes on after the last event relayed: no duplicate. A run
        first followed from ``after_seq`` > 0 (the recent end of a long run) first gets
        the earlier events that still shape its state (``engine.events.present``), so the
        orders still working and the positions opened long ago show too.
        """
        if run_id in self._attached and not self._attached[run_id].done():
            return
        prelude = run_dir if after_seq > 0 and run_id not in self._relayed else None
        after_seq = max(after_seq, self._relayed.get(run_id, 0))
        self._attached[run_id] = asyncio.create_task(
            self._relay(run_id, after_seq, prelude), name=f"attach-{run_id}"
        )

    async def _relay(self, run_id: str, after_seq: int, prelude: Path | None = None) -> None:
        if prelude is not None:
            from engine.events.present import journal_present_events

            # A worker thread: a long run's journal takes seconds to read, the UI none.
            events = await asyncio.to_thread(journal_present_events, prelude, after_seq)
            if events:
                self.bus.publish(events)
        self._relayed[run_id] = max(self._relayed.get(run_id, 0), after_seq)
        async for batch in self._nodes().attach(run_id, after_seq, follow=True):
            self._relayed[run_id] = batch[-1].seq
            self.bus.publish(batch)

    async def watch(self) -> AsyncIterator[WorkspaceChange]:
        """The workspace's changes (the whole picture first), as other processes make them.

        Runs of other launchers are relayed to the feed as they appear: a supervisor's
        restart after a crash, a launch from the CLI or another console. A run already
        followed is followed again when its meta changes (it ended, or its host came up),
        which picks up what its journal got after its channel closed.
        """
        from engine.watch import WorkspaceWatcher

        if self._watcher is None:
            self._watcher = WorkspaceWatcher(self.workspace)
            self._watching = asyncio.create_task(self._watcher.run(), name="workspace-watch")
        known: dict[str, str] = {}  # node id -> the newest run id seen
        async for change in self._watcher.changes():
            for run in change.runs:
                newer = run.run_id > known.get(run.node_id, "")
                if change.initial:
                    if run.alive:  # already running (open() attached it, if it could)
                        path = self.workspace.runs_dir / run.node_id / run.run_id
                        last = await asyncio.to_thread(_last_seq, path)
                        self._follow(
                            run.run_id, after_seq=max(0, last - RECENT_EVENTS), run_dir=path
                        )
                elif newer or run.run_id in self._attached:
                    self._follow(run.run_id)
                if newer:
                    known[run.node_id] = run.run_id
            yield change

    async def launch(self, node_id: str, mode: str) -> str:
        """Launch through the node service (audited under the console's user)."""
        launched = await self._nodes().launch(self._who(), node_id, mode)
        self._follow(launched.run_id)
        return launched.run_id

    async def stop(self, node_id: str) -> None:
        """Stop through the node service (audited under the console's user)."""
        from engine.services.models import StopRequest

        await self._nodes().stop(self._who(), node_id, StopRequest())

    def _orders(self) -> OrderService:
        """The order service over the console's one node manager."""
        from engine.services.orders import OrderService

        return OrderService(self._nodes().manager)

    @staticmethod
    def _who() -> Principal:
        from engine.principal import Principal

        return Principal.local("console")

    async def live_nodes(self) -> list[LiveNode]:
        if self._node_service is None:
            return []
        return [
            LiveNode(st.node_id, st.mode, st.state, st.run_id, st.uptime_s)
            for st in await self._node_service.ps()
            if st.alive
        ]

    async def order_command(
        self,
        node_id: str,
        command: dict[str, Any],
        *,
        confirm_notional: bool | Decimal | None = None,
        market: tuple[Any, Any] | None = None,
    ) -> dict[str, Any]:
        """Send an order command (submit, modify, cancel …) to a running node; its reply.

        Through ``OrderService.send``, as the API's: the core's notional guard first
        (``ServiceError`` code ``unconfirmed`` above the threshold unless confirmed; nothing
        sent, audited), a fresh idempotency key and the console's user as the principal,
        the command and the node's answer in the audit log (``audit_error`` in the reply
        when that entry could not be written). ``ServiceError`` when it was not sent (not
        running, unreachable). ``market``: the rules and quote the ticket valued it with."""
        from engine.orders.session import new_idempotency_key
        from engine.principal import Principal
        from engine.services.audit import AuditMissing
        from engine.services.models import OrderCommandRequest

        request = OrderCommandRequest(
            command=command,
            idempotency_key=new_idempotency_key(),
            confirm_notional=confirm_notional,
        )
        try:
            sent = await self._orders().send(
                Principal.local("console"), node_id, request, market=market
            )
        except AuditMissing as exc:  # done at the node: the reply stands, its record is missing
            reply: dict[str, Any] = exc.value.reply
            return {**reply, "audit_error": exc.message}
        return sent.reply

    async def order_action(
        self, node_id: str, command: dict[str, Any], *, confirm_notional: bool | None = None
    ) -> Outcome:
        """Modify, cancel, close or flatten and follow it to its verified outcome (the
        order service's ``carry_out``, which the CLI and the API call too); a modify
        raising the notional above the threshold comes back ``unconfirmed`` unless
        ``confirm_notional``."""
        from engine.principal import Principal

        return await self._orders().carry_out(
            Principal.local("console"), node_id, command, confirm=confirm_notional
        )

    async def kill_switch(self) -> list[KillOutcome]:
        """Every running sandbox/live node: REDUCING, flattened, then HALTED."""
        from engine.principal import Principal
        from engine.risk.service import kill_switch

        return await kill_switch(self.workspace, Principal.local("console"))

    async def market(self, node_id: str, instrument_id: str) -> dict[str, Any]:
        """An instrument's trading rules and latest quote from a running node."""
        reply: dict[str, Any] = await self._nodes().command(
            node_id, "market", instrument_id=instrument_id
        )
        return reply

    def feed(self) -> EventFeed | None:
        if self._feed is None:
            self._feed = BusFeed(
                self.bus.subscribe("console", max_queue=self._max_queue),
                self.workspace.runs_dir,
            )
        return self._feed

    async def close(self, *, stop_live: bool) -> None:
        """Detach from every host; with ``stop_live``, stop the live ones first."""
        if self._node_service is not None and stop_live:
            from engine.services.models import StopRequest

            for node in await self.live_nodes():
                with contextlib.suppress(Exception):  # one failing stop must not keep others
                    await self._node_service.stop(self._who(), node.node_id, StopRequest())
        for task in self._attached.values():
            task.cancel()
        self._attached.clear()
        if self._watching is not None:
            self._watching.cancel()
        if isinstance(self._feed, BusFeed):
            self._feed.close()


def read_results(
    path: Path, node_id: str, run_id: str, state: str, error: str | None = None
) -> RunResults:
    """Read ``stats.json`` and the CSV reports of a run directory."""
    from engine import runs

    stats_doc = runs.read_json(path / runs.STATS_FILE) or {}
    stats = tuple(stat_rows(stats_doc)) if stats_doc else ()
    reports = []
    for name, filename in runs.REPORTS.items():
        file = path / filename
        if file.is_file():
            reports.append(_read_csv(name, file))
    return RunResults(node_id, run_id, state, stats, tuple(reports), error)


def _read_csv(name: str, path: Path) -> Report:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = tuple(next(reader, []))
        rows = []
        truncated = False
        for i, row in enumerate(reader):
            if i >= REPORT_ROW_LIMIT:
                truncated = True
                break
            rows.append(tuple(row))
    return Report(name, header, tuple(rows), truncated)


def _last_seq(run_dir: Path) -> int:
    from engine.journal import JournalReader

    with JournalReader(run_dir) as reader:
        return reader.last_seq()


def _tail(path: Path, limit: int) -> list[str]:
    with path.open("rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        fh.seek(max(0, size - 256 * limit))
        data = fh.read().decode("utf-8", errors="replace")
    return data.splitlines()[-limit:]


def _log_text(line: str) -> str:
    # Nautilus's JSON log lines: {"timestamp", "level", "component", "message"}.
    if line.startswith("{"):
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            return line
        if isinstance(rec, dict):
            return (
                f"{rec.get('timestamp', '')} {rec.get('level', '')} "
                f"{rec.get('component', '')}: {rec.get('message', '')}"
            )
    return line
