"""Console settings: one pydantic model stored in ``<workspace>/settings.json``.

An invalid file is reported and left alone: the console runs on defaults and does not
write over it, so nothing the user typed is lost.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from console.quick_settings import (
    DEFAULT_MAX_LINES,
    DEFAULT_REFRESH_HZ,
    DEFAULT_THEME,
    QuickSettings,
)
from engine.atomic import atomic_write_text
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


class OrderSettings(_Section):
    """Order entry."""

    confirm_notional_above: Annotated[Decimal, Field(ge=0)] | None = Decimal(1_000_000)
    """Ask before sending a ticket whose notional exceeds this (None: never ask)."""


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
    field: why (got value)``) and replaced by its default, while the valid ones are kept;
    the keymap is checked against the console's bindings (:mod:`console.keymap_check`).
    """
    from engine.json_input import JsonInputError, read_json_file

    source = str(path)
    try:
        data = read_json_file(path)
    except FileNotFoundError:
        return SettingsLoad(ConsoleSettings(), source=source)
    except OSError as exc:
        return SettingsLoad(ConsoleSettings(), (f"cannot read: {exc.strerror}",), source)
    except JsonInputError as exc:
        return SettingsLoad(ConsoleSettings(), (str(exc),), source)
    if not isinstance(data, dict):
        problem = f"expected a JSON object, got {type(data).__name__}"
        return SettingsLoad(ConsoleSettings(), (problem,), source)
    settings, problems = _validate_keeping_the_rest(data)
    from console.keymap_check import check_keymap

    keymap, keymap_problems = check_keymap(dict(settings.keymap))
    if keymap_problems:
        settings = settings.model_copy(update={"keymap": keymap})
        problems += keymap_problems
    return SettingsLoad(settings, tuple(problems), source)


def _validate_keeping_the_rest(data: dict[str, Any]) -> tuple[ConsoleSettings, list[str]]:
    """Validate; drop each entry pydantic refuses (its default takes over) and repeat."""
    problems: list[str] = []
    doc = copy.deepcopy(data)
    for _ in range(100):  # each round drops at least one entry
        try:
            return ConsoleSettings.model_validate(doc), problems
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
        dropped = False
        for err in errors:
            loc = [p for p in err["loc"] if not (isinstance(p, str) and "[" in p)]
            where = _render_loc(loc) or "(document)"
            value = "" if err["type"] == "missing" else f" (got {_short(err.get('input'))})"
            problems.append(f"{where}: {err['msg']}{value}")
            dropped |= _drop(doc, loc)
        if not dropped:
            break
    return ConsoleSettings(), problems


def _render_loc(loc: list[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _drop(doc: Any, loc: list[int | str]) -> bool:
    # Remove the value at loc (or the nearest container entry above it that exists).
    parents = []
    node = doc
    for part in loc:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            parents.append((node, part))
            node = node[part]
        else:
            break
    if not parents:
        return False
    container, key = parents[-1]
    del container[key]
    return True


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def save_settings(path: Path, settings: ConsoleSettings) -> None:
    """Write settings atomically (temp file, fsync, rename)."""
    atomic_write_text(path, json.dumps(settings.model_dump(mode="json"), indent=2) + "\n")
