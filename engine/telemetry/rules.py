"""Which alert rules apply to a node: defaults, then the workspace's, then the node's.

A rule replaces an earlier one of the same name, so a node can tighten the default
``latency-p99`` rule or disable ``memory`` (``"enabled": false``) without copying the rest.
Workspace rules live under ``"alerts"`` in ``.gateway/settings.json``; a running node host
re-reads them when the file changes, so rules change while nodes run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.json_input import JsonInputError, read_json_file
from engine.telemetry.alerts import AlertRule, default_rules, parse_rules
from engine.workspace import Workspace


class RulesInvalid(ValueError):
    """The workspace's alert rules cannot be read; the message names the field."""


def workspace_rules(workspace: Workspace) -> list[AlertRule]:
    """The ``alerts`` list of the workspace settings (empty when there is none)."""
    path = workspace.settings_path
    try:
        data: Any = read_json_file(path)
    except FileNotFoundError:
        return []
    except (OSError, JsonInputError) as exc:
        raise RulesInvalid(f"{path}: cannot read settings: {exc}") from None
    raw = data.get("alerts", []) if isinstance(data, dict) else []
    if not isinstance(raw, list):
        raise RulesInvalid(f"{path}: settings.alerts: expected a list of rules")
    try:
        return parse_rules(raw, where="settings.alerts")
    except ValueError as exc:
        raise RulesInvalid(f"{path}: {exc}") from None


def merge_rules(*layers: Iterable[AlertRule]) -> list[AlertRule]:
    """Later layers replace earlier rules of the same name; order is kept."""
    merged: dict[str, AlertRule] = {}
    for layer in layers:
        for rule in layer:
            merged[rule.name] = rule
    return list(merged.values())


def effective_rules(workspace: Workspace, node_rules: Sequence[AlertRule] = ()) -> list[AlertRule]:
    """Defaults, then workspace rules, then the node's own."""
    return merge_rules(default_rules(), workspace_rules(workspace), node_rules)


@dataclass
class RulesWatcher:
    """Re-reads the workspace rules when settings.json changes (one stat per call)."""

    workspace: Workspace
    node_rules: Sequence[AlertRule] = ()
    _stamp: tuple[int, int] | None = field(default=None, init=False)
    _rules: list[AlertRule] | None = field(default=None, init=False)

    def _current_stamp(self) -> tuple[int, int] | None:
        try:
            st = Path(self.workspace.settings_path).stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def prime(self) -> list[AlertRule]:
        """The rules now, remembering the file's stamp."""
        self._stamp = self._current_stamp()
        self._rules = effective_rules(self.workspace, self.node_rules)
        return self._rules

    def changed(self) -> list[AlertRule] | None:
        """New rules if settings.json changed since the last call and its rules differ
        from those in force, else ``None`` (the console rewrites the file for a theme).

        An unreadable or invalid file keeps the rules in force (raises RulesInvalid so
        the caller can report it once).
        """
        stamp = self._current_stamp()
        if stamp == self._stamp:
            return None
        self._stamp = stamp
        rules = effective_rules(self.workspace, self.node_rules)
        if rules == self._rules:
            return None
        self._rules = rules
        return rules
