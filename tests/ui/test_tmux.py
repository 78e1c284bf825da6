"""The real `gateway` in a real terminal (tmux): it paints, takes keys, and quits."""

from __future__ import annotations

import json
import os
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
# `make test` installs tmux; a local run without it may skip, CI must not.
pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None and os.environ.get("CI") != "true",
    reason="tmux not installed (make system-deps installs it)",
)


# A tmux server of the tests' own, kept up by an idle session: with the default server, a
# session started just after the last one was killed could reach a server on its way out
# (new-session failed with status 1 in a full run), and a user's own tmux stays untouched.
SOCKET = f"gw-test-{os.getpid()}"


def _tmux(*args: str) -> str:
    return subprocess.run(
        ["tmux", "-L", SOCKET, *args], check=True, capture_output=True, text=True, timeout=10
    ).stdout


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


def _screen(session: str) -> str:
    return _tmux("capture-pane", "-p", "-t", session)


def _wait_screen(session: str, text: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = _screen(session)
        if text in screen:
            return screen
        time.sleep(0.1)
    raise AssertionError(f"{text!r} never appeared; the screen was:\n{screen}")


def _wait_gone(session: str, text: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while text in _screen(session):
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} is still on screen")
        time.sleep(0.1)


def test_gateway_runs_in_a_real_terminal(workspace: Workspace) -> None:
    session = f"gw-{uuid.uuid4().hex[:8]}"
    command = f"TERM=xterm-256color {GATEWAY} --workspace {workspace.root}; sleep 30"
    _tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "30", command)
    try:
        _wait_screen(session, "demo-sandbox")
        # Under load the tab labels can paint a frame after the node list.
        screen = _wait_screen(session, "1 Nodes", timeout=10)
        assert "demo-backtest" in screen

        _tmux("send-keys", "-t", session, "2")
        _wait_screen(session, "following")

        _tmux("send-keys", "-t", session, "1", "?")
        screen = _wait_screen(session, "node.launch")
        assert "Keys · nodes pane" in screen
        _tmux("send-keys", "-t", session, "q")  # q closes it (Escape waits for a sequence)
        _wait_gone(session, "Keys · nodes pane")

        _tmux("send-keys", "-t", session, "C-t")
        deadline = time.monotonic() + 10
        while not workspace.settings_path.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert json.loads(workspace.settings_path.read_text())["theme"] == "gateway-light"

        _tmux("send-keys", "-t", session, "C-q")
        _wait_gone(session, "demo-sandbox")  # the console quit and left the terminal
    finally:
        subprocess.run(
            ["tmux", "-L", SOCKET, "kill-session", "-t", session], capture_output=True, timeout=10
        )


def _painted(workspace: Workspace, keys: list[str]) -> str:
    """The terminal, colours included, after ``keys`` (each once the last one showed)."""
    session = f"gw-{uuid.uuid4().hex[:8]}"
    command = f"TERM=xterm-256color {GATEWAY} --workspace {workspace.root}; sleep 30"
    _tmux("new-session", "-d", "-s", session, "-x", "160", "-y", "48", command)
    try:
        _wait_screen(session, "demo-sandbox")
        for key in keys:
            before = _tmux("capture-pane", "-p", "-e", "-t", session)
            _tmux("send-keys", "-t", session, key)
            deadline = time.monotonic() + 10
            while _tmux("capture-pane", "-p", "-e", "-t", session) == before:
                assert time.monotonic() < deadline, f"key {key!r} changed nothing"
                time.sleep(0.05)
        time.sleep(0.5)  # any late repaint lands
        return _tmux("capture-pane", "-p", "-e", "-t", session)
    finally:
        subprocess.run(
            ["tmux", "-L", SOCKET, "kill-session", "-t", session], capture_output=True, timeout=10
        )


def test_moving_the_focus_leaves_no_stale_paint(workspace: Workspace) -> None:
    """The focus moves repaint only the panes it touches: a tour of every pane and back
    leaves the terminal exactly as a fresh start paints it (borders, colours, scrollbars).
    """
    toured = _painted(workspace, ["2", "3", "4", "5", "6", "1"])
    assert toured == _painted(workspace, [])
