"""Console settings: one pydantic model stored in ``<workspace>/settings.json``.

An invalid file is reported and left alone: the console runs on defaults and does not
write over it, so nothing the user typed is lost.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from console.quick_settings import (
    DEFAULT_MAX_LINES,
    DEFAULT_REFRESH_HZ,
    DEFAULT_THEME,
    QuickSettings,
)
from engine.atomic import atomic_write_text
from engine.orders.order_settings import OrderSettings
from engine.settings_file import (
    read_settings_document,
    validate_keeping_the_rest,
)
from engine.state.target import RedisTargetInvalid, parse_redis_url
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


class RedisSettings(_Section):
    """Which Redis sandbox and live nodes keep their state in (default: the workspace's own)."""

    url: str | None = None
    """redis://HOST:PORT (database 0, no password); a node config's redis_url overrides it."""

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_redis_url(value, "redis.url", "settings")
            except RedisTargetInvalid as exc:
                raise ValueError(f"{exc.expected} (got {exc.value!r})") from None
        return value


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
    redis: RedisSettings | None = None

    def quick(self) -> QuickSettings:
        """The values the panes use."""
        return QuickSettings(
            self.theme, dict(self.keymap), self.event_log.max_lines, self.ui.refresh_hz
        )


@dataclass(frozen=True, slots=True)
class SettingsLoad:
    """Settings read from disk: the model (defaults in place of every refused entry), and
    every problem found, each naming its path."""

    settings: ConsoleSettings
    problems: tuple[str, ...] = ()  # "field: why (got value)", or the file's whole problem
    source: str = "settings.json"

    @property
    def error(self) -> str | None:
        """All problems in one text, after the file's path (None when there are none)."""
        return f"{self.source}: " + "; ".join(self.problems) if self.problems else None

    @property
    def writable(self) -> bool:
        """Saving is allowed only when the file was valid or absent (nothing is lost)."""
        return not self.problems


def load_settings(path: Path) -> SettingsLoad:
    """Read settings, checking the whole file at once.

    A missing file gives defaults. Otherwise every invalid entry is reported (``path:
    field: why (got value)``) and replaced by its default, while the valid ones are kept
    (the rules of :mod:`engine.settings_file`, which the engine reads the file by too);
    the keymap is checked against the console's bindings (:mod:`console.keymap_check`).
    """
    source = str(path)
    doc = read_settings_document(path)
    if doc.data is None:
        return SettingsLoad(ConsoleSettings(), (doc.problem,) if doc.problem else (), source)
    settings, problems = validate_keeping_the_rest(ConsoleSettings, doc.data)
    from console.keymap_check import check_keymap

    keymap, keymap_problems = check_keymap(dict(settings.keymap))
    if keymap_problems:
        settings = settings.model_copy(update={"keymap": keymap})
        problems += keymap_problems
    return SettingsLoad(settings, tuple(problems), source)


def save_settings(path: Path, settings: ConsoleSettings) -> None:
    """Write settings atomically (temp file, fsync, rename)."""
    atomic_write_text(path, json.dumps(settings.model_dump(mode="json"), indent=2) + "\n")
