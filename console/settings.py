"""Console settings: one pydantic model stored in ``<workspace>/settings.json``.

An invalid file is reported and left alone: the console runs on defaults and does not
write over it, so nothing the user typed is lost.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from console.quick_settings import (
    DEFAULT_MAX_LINES,
    DEFAULT_REFRESH_HZ,
    DEFAULT_THEME,
    QuickSettings,
)
from engine.atomic import atomic_write_text
from engine.telemetry.alerts import AlertRule


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class EventLogSettings(_Section):
    """The event log pane."""

    max_lines: Annotated[int, Field(ge=100, le=1_000_000)] = DEFAULT_MAX_LINES
    """Events kept in memory (and shown) at most."""


class UiSettings(_Section):
    """How often panes refresh."""

    refresh_hz: Annotated[float, Field(ge=1, le=30)] = DEFAULT_REFRESH_HZ
    """Event batches per second delivered to the panes."""


class OrderSettings(_Section):
    """Order entry."""

    confirm_notional_above: Annotated[Decimal, Field(ge=0)] | None = Decimal(1_000_000)
    """Ask before sending a ticket whose notional exceeds this (None: never ask)."""


class ConsoleSettings(_Section):
    """Everything the console remembers between runs."""

    schema_version: Literal[1] = 1
    theme: str = DEFAULT_THEME
    keymap: dict[str, str] = Field(
        default_factory=dict,
        description="binding id -> keys, e.g. {'node.launch': 'ctrl+l'}",
    )
    event_log: EventLogSettings = Field(default_factory=EventLogSettings)
    ui: UiSettings = Field(default_factory=UiSettings)
    orders: OrderSettings = Field(default_factory=OrderSettings)
    alerts: list[AlertRule] = Field(
        default_factory=list,
        description="workspace alert rules; running nodes pick up changes within a second",
    )

    def quick(self) -> QuickSettings:
        """The values the panes use."""
        return QuickSettings(
            self.theme, dict(self.keymap), self.event_log.max_lines, self.ui.refresh_hz
        )


@dataclass(frozen=True, slots=True)
class SettingsLoad:
    """Settings read from disk: the model, and the problem if the file was unusable."""

    settings: ConsoleSettings
    error: str | None = None

    @property
    def writable(self) -> bool:
        """Saving is allowed only when the file was valid or absent."""
        return self.error is None


def load_settings(path: Path) -> SettingsLoad:
    """Read settings; a missing file gives defaults, a bad one defaults plus the error."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return SettingsLoad(ConsoleSettings())
    except OSError as exc:
        return SettingsLoad(ConsoleSettings(), f"{path}: cannot read: {exc.strerror}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return SettingsLoad(
            ConsoleSettings(), f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}"
        )
    try:
        return SettingsLoad(ConsoleSettings.model_validate(data))
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "(document)"
        value = "" if first["type"] == "missing" else f" (got {first.get('input')!r})"
        return SettingsLoad(ConsoleSettings(), f"{path}: {where}: {first['msg']}{value}")


def save_settings(path: Path, settings: ConsoleSettings) -> None:
    """Write settings atomically (temp file, fsync, rename)."""
    atomic_write_text(path, json.dumps(settings.model_dump(mode="json"), indent=2) + "\n")
