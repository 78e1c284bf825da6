"""Follow a workspace from outside its hosts: the node configs and each node's latest run.

Other processes change a workspace under a running console: the CLI creates, edits or
deletes a node config or launches a node, an editor saves a config, a supervisor starts a
new run after a host was killed. A :class:`WorkspaceWatcher` notices within one poll and
tells every subscriber (the console, an HTTP API) what changed.

It polls with ``stat()`` calls: one per config file, one per node's run directory, one
per node's latest ``meta.json``, and a pid check for a run that has not ended. A file is
read only when its stamp changed, or while its mtime is under a second old: file times
tick by the kernel's coarse clock (a few ms), so two writes within one tick, or a rename
that reuses a freed inode, can leave the stamp as it was (git's "racily clean" files).
Config changes are judged by content, so rewriting a file unchanged is no change. A scan
of 20 nodes with 5 runs each took ~4 ms on the shared 2-core machine: four a second is
under 2% of a core. Polling rather than inotify: nothing to install, and it sees files
written by any process on any file system.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from engine.runs import META_FILE, RUN_ID_PATTERN, TERMINAL_STATES, read_meta
from engine.workspace import Workspace

POLL_S = 0.25
MAX_QUEUED = 256  # changes a subscriber may have unread before it gets the view instead

type ConfigKey = tuple[str, str]  # (node_id, mode)
type Stamp = tuple[int, int, int]  # (mtime_ns, size, inode): an atomic rename changes inode
RACY_NS = 1_000_000_000  # a file changed this recently may change again under the same stamp


@dataclass(frozen=True, slots=True)
class RunState:
    """A node's latest run as its ``meta.json`` and its host process say.

    Attributes
    ----------
    alive
        Whether the host process of a run that has not ended runs (False once ended).
    started_s, ended_s
        UNIX seconds, or None when the meta has none.
    restart_of
        The run a supervisor restarted into this one, if it did.
    """

    node_id: str
    run_id: str
    mode: str
    state: str
    pid: int | None = None
    alive: bool = False
    started_s: float | None = None
    ended_s: float | None = None
    error: str | None = None
    restart_of: str | None = None

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL_STATES


@dataclass(frozen=True, slots=True)
class WorkspaceChange:
    """What one scan found different from the scan before it.

    ``runs`` holds the latest run of each node whose latest run is new or changed state
    (or whose host died); ``runs_removed`` the nodes left with no run at all.
    """

    configs_added: tuple[ConfigKey, ...] = ()
    configs_changed: tuple[ConfigKey, ...] = ()
    configs_removed: tuple[ConfigKey, ...] = ()
    runs: tuple[RunState, ...] = ()
    runs_removed: tuple[str, ...] = ()
    initial: bool = False  # the first scan: everything there is, not news

    @property
    def configs(self) -> bool:
        """Whether any node config was added, changed or removed."""
        return bool(self.configs_added or self.configs_changed or self.configs_removed)

    def __bool__(self) -> bool:
        return self.initial or self.configs or bool(self.runs or self.runs_removed)


@dataclass(slots=True)
class _NodeRuns:
    dir_mtime_ns: int = -1
    run_id: str | None = None
    meta_stamp: Stamp | None = None
    state: RunState | None = None


class WorkspaceWatcher:
    """Scan a workspace for changed node configs and runs; fan changes out to subscribers.

    :meth:`scan` is synchronous (file system calls only) and returns what changed since
    the last scan; :meth:`run` scans every ``interval_s`` on a thread and queues each
    change for every subscriber. A subscriber's first item is the initial scan, so it
    starts from the whole picture and then applies changes.
    """

    def __init__(self, workspace: Workspace, *, interval_s: float = POLL_S) -> None:
        self.workspace = workspace
        self.interval_s = interval_s
        self.configs: dict[ConfigKey, tuple[Stamp, int]] = {}  # stamp, content checksum
        self._nodes: dict[str, _NodeRuns] = {}
        self._scanned = False
        self._view = WorkspaceChange(initial=True)
        self._subscribers: list[asyncio.Queue[WorkspaceChange]] = []

    # -- the view ------------------------------------------------------------------------
    @property
    def runs(self) -> dict[str, RunState]:
        """The latest run of every node that has one, as of the last scan."""
        return {r.node_id: r for r in self._view.runs}

    def view(self) -> WorkspaceChange:
        """Everything the last scan saw, as an ``initial`` change (safe from any thread)."""
        return self._view

    def _make_view(self) -> WorkspaceChange:
        runs = {n: r.state for n, r in self._nodes.items() if r.state is not None}
        return WorkspaceChange(
            configs_added=tuple(sorted(self.configs)),
            runs=tuple(runs[n] for n in sorted(runs)),
            initial=True,
        )

    # -- scanning ------------------------------------------------------------------------
    def scan(self) -> WorkspaceChange:
        """Compare the workspace with the last scan (the first one returns the view)."""
        added, changed, removed = self._scan_configs()
        runs, runs_removed = self._scan_runs()
        self._view = self._make_view()  # replaced whole: readers see the old or the new
        if not self._scanned:
            self._scanned = True
            return self._view
        return WorkspaceChange(added, changed, removed, runs, runs_removed)

    def _scan_configs(self) -> tuple[tuple[ConfigKey, ...], ...]:
        old = self.configs
        found: dict[ConfigKey, tuple[Stamp, int]] = {}
        racy = time.time_ns() - RACY_NS
        for node_dir in _subdirs(self.workspace.nodes_dir):
            with contextlib.suppress(OSError):
                for entry in os.scandir(node_dir):
                    name = entry.name
                    if name.startswith(".") or not name.endswith(".json"):
                        continue  # temp files of atomic writes, editor backups
                    key = (Path(node_dir).name, name[:-5])
                    with contextlib.suppress(OSError):
                        st = entry.stat()
                        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
                        known = old.get(key)
                        if known is not None and known[0] == stamp and st.st_mtime_ns < racy:
                            found[key] = known
                        else:
                            try:
                                crc = zlib.crc32(Path(entry.path).read_bytes())
                            except OSError:  # unreadable: still there (the list says why)
                                crc = -1
                            found[key] = (stamp, crc)
        self.configs = found
        added = tuple(sorted(k for k in found if k not in old))
        changed = tuple(sorted(k for k in found if k in old and old[k][1] != found[k][1]))
        removed = tuple(sorted(k for k in old if k not in found))
        return added, changed, removed

    def _scan_runs(self) -> tuple[tuple[RunState, ...], tuple[str, ...]]:
        changed: list[RunState] = []
        removed: list[str] = []
        seen: set[str] = set()
        for node_dir in _subdirs(self.workspace.runs_dir):
            node_id = Path(node_dir).name
            seen.add(node_id)
            node = self._nodes.setdefault(node_id, _NodeRuns())
            before = node.state
            self._scan_node(node_id, Path(node_dir), node)
            if node.state is not None and node.state != before:
                changed.append(node.state)
            elif node.state is None and before is not None:
                removed.append(node_id)  # its runs were deleted
        for node_id, node in self._nodes.items():
            if node_id not in seen and node.state is not None:
                removed.append(node_id)  # its runs directory was
        self._nodes = {n: r for n, r in self._nodes.items() if n in seen}
        return tuple(changed), tuple(sorted(removed))

    def _scan_node(self, node_id: str, path: Path, node: _NodeRuns) -> None:
        try:
            mtime = path.stat().st_mtime_ns
        except OSError:
            return
        racy = time.time_ns() - RACY_NS
        if mtime != node.dir_mtime_ns or mtime >= racy:
            latest = _latest_run_id(path)
            if latest != node.run_id:
                node.run_id, node.meta_stamp = latest, None
                if latest is None:
                    node.state = None
            # A new run directory gets its meta.json a moment after it appears: until then
            # list the directory again on every scan.
            if latest is None or (path / latest / META_FILE).exists():
                node.dir_mtime_ns = mtime
        if node.run_id is None:
            return
        run_dir = path / node.run_id
        try:
            st = (run_dir / META_FILE).stat()
        except OSError:
            return
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        state = node.state
        if (
            stamp != node.meta_stamp
            or st.st_mtime_ns >= racy
            or state is None
            or state.run_id != node.run_id
        ):
            meta = read_meta(run_dir)
            if meta is None:
                return  # unreadable: keep what we knew, look again next scan
            node.meta_stamp = stamp
            restart_of = meta.extra.get("restart_of") if isinstance(meta.extra, dict) else None
            state = RunState(
                node_id=node_id,
                run_id=node.run_id,
                mode=meta.mode,
                state=meta.state,
                pid=meta.pid if isinstance(meta.pid, int) else None,
                started_s=_epoch(meta.started),
                ended_s=_epoch(meta.ended),
                error=meta.error,
                restart_of=restart_of if isinstance(restart_of, str) else None,
            )
        alive = not state.terminal and _host_runs(state.pid, state.run_id)
        if alive != state.alive:
            state = replace(state, alive=alive)
        node.state = state

    # -- subscribing ---------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[WorkspaceChange]]:
        """A queue of changes for as long as the block runs; the current view comes first
        (or, before the first scan, that scan's ``initial`` change)."""
        queue: asyncio.Queue[WorkspaceChange] = asyncio.Queue()
        if self._scanned:
            queue.put_nowait(self._view)
        self._subscribers.append(queue)
        try:
            yield queue
        finally:
            self._subscribers.remove(queue)

    async def changes(self) -> AsyncIterator[WorkspaceChange]:
        """Yield changes as :meth:`run` (started once, as a task) finds them, the current
        view first."""
        async with self.subscribe() as queue:
            while True:
                yield await queue.get()

    async def run(self) -> None:
        """Scan every ``interval_s`` until cancelled (the next scan only after the last)."""
        while True:
            change = await asyncio.to_thread(self.scan)
            if change:
                for queue in self._subscribers:
                    item = change
                    if queue.qsize() >= MAX_QUEUED:  # a subscriber that stopped reading:
                        while not queue.empty():  # the whole picture replaces its backlog
                            queue.get_nowait()
                        item = self._view
                    queue.put_nowait(item)
            await asyncio.sleep(self.interval_s)


def _subdirs(path: Path) -> list[str]:
    try:
        return sorted(
            e.path
            for e in os.scandir(path)
            if not e.name.startswith(".") and e.is_dir(follow_symlinks=False)
        )
    except OSError:
        return []


def _latest_run_id(node_dir: Path) -> str | None:
    try:
        names = [e.name for e in os.scandir(node_dir) if RUN_ID_PATTERN.fullmatch(e.name)]
    except OSError:
        return None
    return max(names) if names else None


def _epoch(iso: str | None) -> float | None:
    if not iso:
        return None
    try:
        return datetime.fromisoformat(iso).timestamp()
    except (TypeError, ValueError, OverflowError):
        return None


def _host_runs(pid: int | None, run_id: str) -> bool:
    from engine.manager import pid_alive

    return pid_alive(pid, run_id)
