"""Keys in one burst, as SSH and pastes deliver them, land in the field focused for each.

The real `gateway` in tmux; every burst is one ``send-keys`` call, so the console reads it
from the terminal in one go. Tab, shift+tab and backspace inside a burst used to act after
the keys behind them (Textual runs bindings once a key has bubbled up to the app): the
order ticket's ``100000<Tab>1.0850`` made a quantity of ``1000001.0850``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.workspace import Workspace

GATEWAY = Path(sys.executable).with_name("gateway")
pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None and os.environ.get("CI") != "true",
    reason="tmux not installed (make system-deps installs it)",
)
SOCKET = f"gw-keys-{os.getpid()}"


def _tmux(*args: str) -> str:
    return subprocess.run(
        ["tmux", "-L", SOCKET, *args], check=True, capture_output=True, text=True, timeout=10
    ).stdout


def _gateway(workspace: Workspace, *args: str, timeout: float = 120) -> None:
    subprocess.run(
        [str(GATEWAY), "--workspace", str(workspace.root), *args],
        check=True,
        capture_output=True,
        timeout=timeout,
        env={**os.environ, "NO_COLOR": "1"},
    )


@pytest.fixture(scope="module", autouse=True)
def tmux_server() -> Iterator[None]:
    if shutil.which("tmux") is None:
        yield
        return
    _tmux("new-session", "-d", "-s", "keeper", "sleep 3600")
    socket_path = Path(_tmux("display-message", "-p", "#{socket_path}").strip())
    try:
        yield
    finally:
        subprocess.run(["tmux", "-L", SOCKET, "kill-server"], capture_output=True, timeout=10)
        socket_path.unlink(missing_ok=True)


class Console:
    """One `gateway` console in a tmux session of a given size."""

    def __init__(self, workspace: Workspace, width: int, height: int) -> None:
        self.session = f"gw-{uuid.uuid4().hex[:8]}"
        command = f"TERM=xterm-256color {GATEWAY} --workspace {workspace.root}; sleep 30"
        size = ("-x", str(width), "-y", str(height))
        _tmux("new-session", "-d", "-s", self.session, *size, command)
        _tmux("resize-window", "-t", self.session, *size)  # else tmux may keep 80x24

    def screen(self) -> str:
        return _tmux("capture-pane", "-p", "-t", self.session)

    def wait(self, text: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if re.search(text, screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared; the screen was:\n{screen}")

    def keys(self, *keys: str) -> None:
        """Send ``keys`` (tmux key names) in one burst."""
        _tmux("send-keys", "-t", self.session, *keys)

    def typed(self, text: str) -> None:
        """Send ``text`` literally in one burst (tabs included), as a paste types it."""
        _tmux("send-keys", "-t", self.session, "-l", text)

    def field(self, label: str) -> str | None:
        """The text right of ``label`` on its row (the screen's first such row), or None."""
        for line in self.screen().splitlines():
            match = re.search(rf"\b{re.escape(label)}\s{{2,}}(\S.*?)\s*(?:[█│▼]|$)", line)
            if match:
                return match.group(1)
        return None

    def settled(self, label: str, expected: str, timeout: float = 20) -> str | None:
        """The field once it shows ``expected`` (a burst takes a moment), else as it is."""
        deadline = time.monotonic() + timeout
        value = self.field(label)
        while value != expected and time.monotonic() < deadline:
            time.sleep(0.1)
            value = self.field(label)
        return value

    def close(self) -> None:
        subprocess.run(
            ["tmux", "-L", SOCKET, "kill-session", "-t", self.session],
            capture_output=True,
            timeout=10,
        )


def backspaces(n: int) -> list[str]:
    return ["BSpace"] * n


@pytest.fixture
def sandbox(workspace: Workspace) -> Iterator[Workspace]:
    """The demo workspace with demo-sandbox running in its own node host."""
    _gateway(workspace, "demo", "init")
    _gateway(workspace, "launch", "demo-sandbox")
    try:
        yield workspace
    finally:
        subprocess.run(
            [str(GATEWAY), "--workspace", str(workspace.root), "stop", "demo-sandbox", "--kill"],
            capture_output=True,
            timeout=60,
        )


def test_order_ticket_takes_bursts_with_tab_and_backspaces(sandbox: Workspace) -> None:
    console = Console(sandbox, 80, 24)
    try:
        console.wait(r"demo-sandbox\s+sandbox\s+running")
        console.keys("Down")
        time.sleep(0.5)
        console.keys("b")
        console.wait("BUY LIMIT")
        console.typed("100000\t1.0850")
        assert console.settled("limit price", "1.0850") == "1.0850"
        assert console.field("quantity") == "100000"

        # Back to the quantity, clear it, retype; on to the price, clear it, retype.
        console.keys("BTab", *backspaces(12), *"250000", "Tab", *backspaces(12), *"1.0912", "Tab")
        assert console.settled("limit price", "1.0912") == "1.0912"
        assert console.field("quantity") == "250000"
        assert console.field("instrument") == "EUR/USD.SIM"
    finally:
        console.close()


def test_node_form_takes_a_typed_node_id_and_tabs_in_one_burst(workspace: Workspace) -> None:
    console = Console(workspace, 100, 30)
    try:
        console.wait(r"demo-backtest\s+backtest")
        console.keys("e")  # the first row, demo-backtest
        console.wait("Edit demo-backtest")
        console.keys(
            "Tab", *backspaces(20), *"desk-one", "Tab", "Tab", "Tab", *backspaces(12), *"DESK-007"
        )
        assert console.settled("trader_id", "DESK-007") == "DESK-007"
        assert console.field("node_id") == "desk-one"
        assert console.field("mode") == "backtest"
        assert console.field("schema_version") == "1"
        assert console.field("description").startswith("EMA cross (10/20)")
    finally:
        console.close()


def test_adapter_form_puts_key_and_secret_each_in_its_own_field(workspace: Workspace) -> None:
    console = Console(workspace, 160, 48)
    try:
        console.wait(r"demo-backtest\s+backtest\s+idle")  # loaded, keys are read
        time.sleep(1)
        # Opening the screen and the form is part of the burst: the keys wait for each
        # screen's own focus instead of going to the one before.
        console.typed("Aa" + "desk1" + "\t" * 12 + "KEY123\tSECRET4567\tnote")
        assert console.settled("description", "note") == "note"
        assert console.field("name") == "desk1"
        assert console.field("api_key") == "•" * 6
        assert console.field("api_secret") == "•" * 10
        assert console.field("recv_window_ms").startswith("5000")
    finally:
        console.close()
