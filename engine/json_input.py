"""JSON from users and from disk, read without a traceback whatever the bytes are.

Every reader of a user's file (node configs, order tickets, settings) goes through
:func:`parse_json`, so non-UTF-8 bytes, nesting that would exhaust the parser's recursion,
and non-standard constants (``NaN``, ``Infinity``, which Python's json accepts and JSON
does not) each give one plain sentence instead of an exception from deep inside ``json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

MAX_DEPTH = 64  # far beyond any real config or ticket; keeps pydantic and repr shallow


class JsonInputError(ValueError):
    """The text is not usable JSON; ``str(exc)`` says why in plain words."""


def decode_utf8(data: bytes) -> str:
    """Return ``data`` as text or raise JsonInputError naming the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.start + 1].hex()
        raise JsonInputError(f"not UTF-8 text (byte 0x{bad} at offset {exc.start})") from None


def _reject_constant(name: str) -> Any:
    raise JsonInputError(f"{name} is not a JSON value (write a number, or a string)")


def parse_json(data: str | bytes) -> Any:
    """Parse JSON text strictly, or raise :class:`JsonInputError`.

    Refused: bytes that are not UTF-8, malformed JSON (line and column named), the
    constants ``NaN``/``Infinity``, and nesting deeper than :data:`MAX_DEPTH`.
    """
    text = decode_utf8(data) if isinstance(data, bytes) else data
    text = text.removeprefix("\ufeff")  # a BOM from an editor is not an error
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise JsonInputError(
            f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise JsonInputError(f"nested deeper than {MAX_DEPTH} levels") from None
    except JsonInputError:
        raise  # NaN/Infinity refused by _reject_constant (a ValueError too)
    except ValueError:  # an integer past Python's digit limit (int_max_str_digits)
        raise JsonInputError(
            f"a number longer than {sys.get_int_max_str_digits()} digits is not readable"
        ) from None
    if _depth(value) > MAX_DEPTH:
        raise JsonInputError(f"nested deeper than {MAX_DEPTH} levels")
    return value


def read_json_file(path: Path) -> Any:
    """Read and parse ``path``; OSError passes through, bad content is JsonInputError."""
    return parse_json(path.read_bytes())


def _depth(value: Any) -> int:
    # Iterative: a recursive walk would fail on exactly the input it is meant to catch.
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest
