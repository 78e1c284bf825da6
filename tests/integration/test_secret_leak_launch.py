"""Issue 7's leak test: a unique fake secret, stored, launched with and looked at everywhere.

The secret goes in through ``gateway adapters add --secrets-stdin`` and reaches the node
host only through the keyring. A live Binance node is configured with it, launched with
the real CLI (the adapter signs real requests with it against a loopback stand-in, then
fails on the WebSocket API), and inspected with ``ps``, ``attach``, ``logs``, ``runs``,
``nodes``, ``adapters show/test`` and the console. Then the secret (raw, base64, hex) is
in no file under the workspace, no captured output, no process's command line sampled
while the node host ran, and no environment of the node host or its supervisor.
"""

from __future__ import annotations

import base64
import contextlib
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from console.app import GatewayApp
from console.services import WorkspaceServices
from tests.integration.live_venue_support import PROFILE, Gateway, unique_credentials
from tests.integration.standins.binance import BinanceStandin

NODE = "leak-bn"


def _forms(value: str) -> list[bytes]:
    raw = value.encode()
    return [raw, base64.b64encode(raw), raw.hex().encode(), raw.hex().upper().encode()]


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:  # the process ended, or is not ours to read
        return b""


@dataclass
class ProcWatch:
    """Sample every process's command line, and the node processes' environments."""

    node_id: str
    cmdlines: dict[int, bytes] = field(default_factory=dict)
    environs: dict[int, bytes] = field(default_factory=dict)
    host_seen: bool = False
    _stop: threading.Event = field(default_factory=threading.Event)

    def sample(self) -> None:
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            cmdline = _read(proc / "cmdline")
            if not cmdline:
                continue
            pid = int(proc.name)
            self.cmdlines[pid] = cmdline
            if b"engine.host" in cmdline and self.node_id.encode() in cmdline:
                self.host_seen |= b"engine.host.supervisor" not in cmdline
                environ = _read(proc / "environ")
                if environ:
                    self.environs[pid] = environ

    @contextlib.contextmanager
    def running(self) -> Iterator[ProcWatch]:
        def loop() -> None:
            while not self._stop.is_set():
                self.sample()
                time.sleep(0.05)

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()


async def _look_with_the_console(root: Path) -> list[str]:
    """Open the console on the workspace for a moment; return the node rows it showed."""
    from engine.workspace import Workspace
    from tests.ui.helpers import wait_for

    workspace = Workspace(root)
    app = GatewayApp(WorkspaceServices(workspace), settings_path=workspace.settings_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.nodes_loaded > 0)
        await pilot.pause(0.5)
        return [row.node_id for row in app.node_rows]


async def test_a_launched_secret_reaches_no_file_output_argv_or_environment(
    tmp_path: Path, keyring_env: dict[str, str]
) -> None:
    root = tmp_path / ".gateway"
    gw = Gateway(root, keyring_env)
    key, secret = unique_credentials()
    watch = ProcWatch(NODE)
    with BinanceStandin() as venue:
        venue.keys[key] = secret
        assert gw.add_profile(venue, key, secret).code == 0
        assert gw.create_node(NODE).code == 0
        try:
            with watch.running():
                launch = gw("launch", NODE, "--follow", "--json")
        finally:
            gw.kill_hosts(NODE)
        assert launch.code == 1, launch.err  # failed on the WebSocket API, as expected
        assert ("GET", "/api/v3/account") in venue.requests  # signed with the secret
        # What a user looks at afterwards, two commands at a time (each starts Python).
        with ThreadPoolExecutor(2) as pool:
            looks = list(pool.map(lambda args: gw(*args), (
                ("ps", "--json"), ("attach", NODE, "--json"), ("logs", NODE, "--level", "DEBUG"),
                ("runs", "show", NODE, "--json"), ("nodes", "show", NODE),
                ("adapters", "show", PROFILE), ("adapters", "test", PROFILE, "--json"),
            )))  # fmt: skip
        assert [r.code for r in looks] == [0] * 7, looks
        shown = await _look_with_the_console(root)
    assert NODE in shown

    assert watch.host_seen, "the node host was never seen running"
    assert len(watch.environs) >= 2, "expected the host's and the supervisor's environments"
    forms = _forms(secret) + _forms(key)
    for pid, cmdline in watch.cmdlines.items():
        assert not any(f in cmdline for f in forms), (pid, cmdline)
    for pid, environ in watch.environs.items():
        assert not any(f in environ for f in forms), pid
    assert len(gw.results) == 10
    for result in gw.results:
        text = (result.out + result.err).encode()
        assert not any(f in text for f in forms), result
    files = [p for p in root.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"events.journal", "nautilus.jsonl", "host.out", "error.json"} <= names, names
    for path in files:
        data = path.read_bytes()
        assert not any(f in data for f in forms), path
