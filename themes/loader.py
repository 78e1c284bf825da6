"""Load themes from JSON data files into Textual ``Theme`` objects.

A theme file is a JSON object with Textual's Theme fields (``name``, ``primary``, …,
``variables``). Colours are checked when loading, so a bad file is reported with its path
and the console falls back to the default theme instead of failing to start.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from textual.color import Color, ColorParseError
from textual.theme import Theme

BUILTIN_DIR = Path(__file__).parent
DEFAULT_THEME = "gateway-dark"
BUILTIN_THEMES = ("gateway-dark", "gateway-light", "gateway-high-contrast")
_COLOUR_FIELDS = (
    "primary",
    "secondary",
    "warning",
    "error",
    "success",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
)
_ALLOWED = {f.name for f in fields(Theme)}


class ThemeFileError(ValueError):
    """A theme file that cannot be used; the message names the file and the field."""


@dataclass(frozen=True, slots=True)
class ThemeLoad:
    """Themes loaded from some directories, and the problems with the files that failed."""

    themes: tuple[Theme, ...]
    errors: tuple[str, ...]


def theme_from_dict(data: Any, source: str) -> Theme:
    """Build a Theme from a parsed theme document; raise ThemeFileError naming the field."""
    if not isinstance(data, dict):
        raise ThemeFileError(f"{source}: expected a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - _ALLOWED)
    if unknown:
        raise ThemeFileError(
            f"{source}: unknown field {unknown[0]!r}; "
            f"expected one of: {', '.join(sorted(_ALLOWED))}"
        )
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ThemeFileError(f"{source}: 'name' must be a non-empty string, got {name!r}")
    if "primary" not in data:
        raise ThemeFileError(f"{source}: 'primary' is required (a colour such as '#5fafff')")
    for key in _COLOUR_FIELDS:
        _check_colour(data.get(key), f"{source}: {key!r}")
    variables = data.get("variables", {})
    if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
        raise ThemeFileError(f"{source}: 'variables' must map names to strings")
    for key, value in variables.items():
        if not any(word in key for word in ("style", "scrollbar-corner")):
            _check_colour(value, f"{source}: variables.{key}")
    try:
        return Theme(**data)
    except TypeError as exc:
        raise ThemeFileError(f"{source}: {exc}") from None


def _check_colour(value: Any, where: str) -> None:
    if value is None:
        return
    try:
        Color.parse(value)
    except (ColorParseError, TypeError):
        raise ThemeFileError(
            f"{where}: expected a colour such as '#5fafff' or 'rgb(95,175,255)', got {value!r}"
        ) from None


def load_theme_file(path: Path) -> Theme:
    """Read one theme file."""
    from engine.json_input import JsonInputError, read_json_file

    try:
        data = read_json_file(path)
    except OSError as exc:
        raise ThemeFileError(f"{path}: cannot read: {exc.strerror}") from None
    except JsonInputError as exc:
        raise ThemeFileError(f"{path}: invalid JSON: {exc}") from None
    return theme_from_dict(data, str(path))


def load_themes(*directories: Path) -> ThemeLoad:
    """Load every ``*.json`` theme in the built-in directory, then in ``directories``."""
    themes: dict[str, Theme] = {}
    errors: list[str] = []
    for directory in (BUILTIN_DIR, *directories):
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.json")):
            try:
                theme = load_theme_file(path)
            except ThemeFileError as exc:
                errors.append(str(exc))
                continue
            themes[theme.name] = theme
    return ThemeLoad(tuple(themes.values()), tuple(errors))
