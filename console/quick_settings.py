"""The few settings the first paint needs, read without pydantic.

Importing pydantic and building the settings model costs a few hundred milliseconds of
start-up; the console paints with these values first and validates the whole file with
:mod:`console.settings` in a worker right after. A file that turns out invalid is then
reported and its values are dropped for the defaults.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_THEME = "gateway-dark"
DEFAULT_MAX_LINES = 2000
DEFAULT_REFRESH_HZ = 10.0


@dataclass(frozen=True, slots=True)
class QuickSettings:
    """Theme, keymap, event log size and refresh rate, as the panes use them."""

    theme: str = DEFAULT_THEME
    keymap: dict[str, str] = field(default_factory=dict)
    max_lines: int = DEFAULT_MAX_LINES
    refresh_hz: float = DEFAULT_REFRESH_HZ


def peek_settings(path: Path) -> QuickSettings:
    """Read the values the first paint needs; anything unusable gives the default."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return QuickSettings()
    if not isinstance(data, dict):
        return QuickSettings()
    keymap = data.get("keymap")
    log: dict[str, Any] = _typed(data.get("event_log"), dict, {})
    ui: dict[str, Any] = _typed(data.get("ui"), dict, {})
    return QuickSettings(
        theme=_typed(data.get("theme"), str, DEFAULT_THEME),
        keymap=_safe_keymap(keymap),
        max_lines=_ranged(log.get("max_lines"), 100, 1_000_000, DEFAULT_MAX_LINES),
        refresh_hz=float(_ranged(ui.get("refresh_hz"), 1, 30, DEFAULT_REFRESH_HZ)),
    )


def _safe_keymap(keymap: Any) -> dict[str, str]:
    """The keymap for the first paint, without entries that touch the reserved keys.

    The whole keymap is checked right after (console.keymap_check); until then Ctrl+Q
    must not launch a node because a file said so.
    """
    from console.keymap_check import FIXED_BINDINGS, RESERVED_KEYS

    if not isinstance(keymap, dict):
        return {}
    out = {}
    for binding_id, keys in keymap.items():
        if not isinstance(keys, str) or binding_id in FIXED_BINDINGS:
            continue
        if any(k.strip() in RESERVED_KEYS or not k.strip() for k in keys.split(",")):
            continue
        out[str(binding_id)] = keys
    return out


def _typed(value: Any, kind: type, default: Any) -> Any:
    return value if isinstance(value, kind) else default


def _ranged(value: Any, low: float, high: float, default: Any) -> Any:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and low <= value <= high
    return value if ok else default
