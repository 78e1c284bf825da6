"""Reading the workspace's ``settings.json``: the rules every reader of it shares.

The console loads the whole file (``console.settings``) and the engine reads the parts it
acts on (the order confirmation threshold, ``engine.orders.order_settings``) with the
same rules, so the two never disagree about a value:

- a missing file gives the defaults;
- an unreadable file, one that is not a JSON object, or one written by a newer gateway
  (``schema_version`` above :data:`SETTINGS_VERSION`) gives the defaults and a problem;
- otherwise every entry pydantic refuses is reported (``field: why (got value)``) and
  replaced by its default, while the valid ones are kept.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

SETTINGS_VERSION = 1  # engine.migrate.kinds.SETTINGS; bump both with a migration


@dataclass(frozen=True, slots=True)
class SettingsDocument:
    """The file's JSON object (``None``: use the defaults) and why it could not be used."""

    data: dict[str, Any] | None
    problem: str | None = None


def read_settings_document(path: Path) -> SettingsDocument:
    """Read ``settings.json`` as a JSON object of a version this gateway knows."""
    from engine.json_input import JsonInputError, read_json_file
    from engine.migrate.versions import VersionError, check_version

    try:
        data = read_json_file(path)
    except FileNotFoundError:
        return SettingsDocument(None)
    except OSError as exc:
        return SettingsDocument(None, f"cannot read: {exc.strerror}")
    except JsonInputError as exc:
        return SettingsDocument(None, str(exc))
    if not isinstance(data, dict):
        return SettingsDocument(None, f"expected a JSON object, got {type(data).__name__}")
    try:  # a newer gateway's settings: named as such, and (not writable) never saved over
        check_version(data, "schema_version", "settings", SETTINGS_VERSION, missing=1)
    except VersionError as exc:
        return SettingsDocument(None, str(exc).removeprefix("settings: "))
    return SettingsDocument(data)


def validate_keeping_the_rest[M: BaseModel](
    model: type[M], data: Any, where: tuple[str, ...] = ()
) -> tuple[M, list[str]]:
    """Validate ``data`` as ``model``; drop each entry pydantic refuses (its default takes
    over) and repeat. ``where`` prefixes the reported paths (a section of the file)."""
    problems: list[str] = []
    doc = copy.deepcopy(data)
    for _ in range(100):  # each round drops at least one entry
        try:
            return model.model_validate(doc), problems
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
        dropped = False
        for err in errors:
            loc = [p for p in err["loc"] if not (isinstance(p, str) and "[" in p)]
            where_ = render_loc([*where, *loc]) or "(document)"
            value = "" if err["type"] == "missing" else f" (got {short(err.get('input'))})"
            problems.append(f"{where_}: {err['msg']}{value}")
            dropped |= _drop(doc, loc)
        if not dropped:
            break
    return model(), problems


def render_loc(loc: list[int | str]) -> str:
    """``orders.confirm_notional_above``, ``alerts[2].name``."""
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


def short(value: Any, limit: int = 60) -> str:
    """``repr`` of a value, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
