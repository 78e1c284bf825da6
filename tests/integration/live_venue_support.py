"""A live node on a Binance profile whose keys sit in the real keyring, set up through the CLI.

Shared by the live-venue test and the launch leak test: a spot testnet profile whose
REST and WebSocket base URLs point at a loopback :class:`BinanceStandin`, and a live node
whose data and execution clients use it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from engine.events.envelope import Envelope
from engine.host.paths import pid_file, supervisor_file
from engine.journal import JournalReader
from engine.runs import read_json, run_path
from engine.workspace import Workspace
from tests.integration.cli import Result, gateway
from tests.integration.standins.binance import BinanceStandin

PROFILE = "bn-testnet"


def unique_credentials() -> tuple[str, str]:
    """Return an API key and secret no other text can contain by chance."""
    return "LVKEY" + uuid.uuid4().hex.upper(), "LVSECRET" + uuid.uuid4().hex


def live_node_doc(node_id: str, profile: str = PROFILE) -> dict[str, object]:
    """A live node whose data and exec clients both use ``profile`` (Binance spot)."""
    return {
        "node_id": node_id,
        "mode": "live",
        "trader_id": "LIVE-001",
        "venues": [{"name": "BINANCE", "account_type": "CASH"}],
        "data_clients": [{"name": "BINANCE", "adapter": "binance", "profile": profile}],
        "exec_clients": [{"name": "BINANCE", "adapter": "binance", "profile": profile}],
    }


@dataclass
class Gateway:
    """The CLI of one workspace, pointed at the test keyring; every result is kept."""

    root: Path
    env: dict[str, str]
    results: list[Result] = field(default_factory=list)

    @property
    def workspace(self) -> Workspace:
        return Workspace(self.root)

    def __call__(self, *args: str, stdin: str | None = None, timeout: float = 60) -> Result:
        result = gateway(*args, workspace=self.root, stdin=stdin, env=self.env, timeout=timeout)
        self.results.append(result)
        return result

    def add_profile(
        self, standin: BinanceStandin, key: str, secret: str, name: str = PROFILE
    ) -> Result:
        ws_url = standin.url.replace("http://", "ws://")
        creds = json.dumps({"api_key": key, "api_secret": secret})
        return self(
            "adapters", "add", name, "-k", "binance_spot", "--env", "testnet",
            "--base-url-http", standin.url, "--base-url-ws", ws_url,
            "-o", "load_all_instruments=true", "--secrets-stdin",
            stdin=creds,
        )  # fmt: skip

    def create_node(self, node_id: str, profile: str = PROFILE) -> Result:
        return self("nodes", "create", "-f", "-", stdin=json.dumps(live_node_doc(node_id, profile)))

    def latest_run_id(self, node_id: str) -> str:
        runs = sorted(p.name for p in (self.root / "runs" / node_id).iterdir() if p.is_dir())
        return runs[-1]

    def journal(self, node_id: str, run_id: str) -> list[Envelope]:
        reader = JournalReader(run_path(self.workspace, node_id, run_id))
        try:
            return reader.read(0, 1_000_000)
        finally:
            reader.close()

    def kill_hosts(self, node_id: str) -> None:
        """Kill a node's supervisor and host if they still run (test teardown)."""
        for path in (supervisor_file(self.workspace, node_id), pid_file(self.workspace, node_id)):
            data = read_json(path) or {}
            with contextlib.suppress(ProcessLookupError, TypeError, ValueError):
                os.kill(int(data.get("pid")), signal.SIGKILL)  # type: ignore[arg-type]
