"""Start a standby backtest host as the very first thing `gateway launch` does.

The entry point calls :func:`prestart` before importing click or the engine, so the host
imports Nautilus on the other core while this process imports everything else, validates
the node's config and creates the run (~0.1 s earlier than the launch command itself
could). The command line is read here only roughly; a wrong guess (another workspace,
another mode) costs nothing but a standby that ``launch`` discards. A standby that no
command takes is killed when the process exits.
"""

from __future__ import annotations

import atexit
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.host.standby import Standby
    from engine.workspace import Workspace

_VALUE_OPTIONS = {"--mode", "--workspace", "-w"}
_prestarted: Standby | None = None


def launch_target(argv: list[str]) -> tuple[str | None, str, str | None] | None:
    """``(workspace option, node id, mode option)`` of a ``launch`` command line, else None.

    Options may come before or after ``launch`` (click's ``-w`` is on both); ``--help``,
    an unknown option or a missing node id give None: no standby for those.
    """
    workspace: str | None = None
    mode: str | None = None
    node: str | None = None
    seen_launch = False
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, eq, value = arg.partition("=")
        if arg.startswith("-w") and len(arg) > 2 and not arg.startswith("--"):
            name, eq, value = "-w", "=", arg[2:]
        if name in _VALUE_OPTIONS:
            if not eq:
                i += 1
                if i >= len(argv):
                    return None
                value = argv[i]
            if name == "--mode":
                mode = value
            else:
                workspace = value
        elif arg in ("--headless", "--json", "--follow", "-f") and seen_launch:
            pass
        elif arg.startswith("-"):
            return None  # --help, or something this rough reading does not know
        elif not seen_launch:
            if arg != "launch":
                return None
            seen_launch = True
        elif node is None:
            node = arg
        else:
            return None
        i += 1
    return (workspace, node, mode) if seen_launch and node else None


def prestart(argv: list[str]) -> None:
    """Start a standby host if ``argv`` launches a backtest node (see the module doc)."""
    global _prestarted
    target = launch_target(argv)
    if target is None:
        return
    from engine.host.standby import Standby, likely_mode
    from engine.workspace import Workspace

    explicit, node_id, mode = target
    try:
        workspace = Workspace.resolve(explicit)
        guess = likely_mode(workspace, node_id, mode)
        standby = Standby.start(workspace, guess) if guess else None
    except (OSError, ValueError):
        return  # the launch command reports whatever is wrong, as it would anyway
    if standby is not None:
        _prestarted = standby
        atexit.register(_discard_unused)


def take(workspace: Workspace, mode: str | None) -> Standby | None:
    """The prestarted standby if it fits ``workspace`` and ``mode``; else discard it."""
    global _prestarted
    standby, _prestarted = _prestarted, None
    if standby is None:
        return None
    if standby.workspace.root != workspace.root or standby.mode != mode:
        standby.discard()
        return None
    return standby


def _discard_unused() -> None:
    global _prestarted
    standby, _prestarted = _prestarted, None
    if standby is not None:
        standby.discard()
