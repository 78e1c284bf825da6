"""Flatten a node config document into form fields and back, and place issues on fields.

Each leaf of the document becomes one field named by its path
(``strategies[0].config.trade_size``), the same path the engine's ConfigIssue carries,
so an error lands on the field it is about.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from typing import Any

_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


@dataclass(frozen=True, slots=True)
class FormField:
    """One editable leaf: its path, its text, and the JSON type of its original value."""

    path: str
    text: str
    kind: str  # str, number, bool, null, json


def flatten(doc: Any, prefix: str = "") -> list[FormField]:
    """Return the leaves of ``doc``; lists of objects are walked, other lists stay whole."""
    out: list[FormField] = []
    if isinstance(doc, dict) and doc:
        for key, value in doc.items():
            out += flatten(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(doc, list) and doc and all(isinstance(v, dict) for v in doc):
        for i, value in enumerate(doc):
            out += flatten(value, f"{prefix}[{i}]")
    else:
        out.append(_leaf(prefix, doc))
    return out


def _leaf(path: str, value: Any) -> FormField:
    if isinstance(value, bool):
        return FormField(path, "true" if value else "false", "bool")
    if isinstance(value, int | float):
        return FormField(path, json.dumps(value), "number")
    if value is None:
        return FormField(path, "", "null")
    if isinstance(value, str):
        return FormField(path, value, "str")
    return FormField(path, json.dumps(value), "json")


def parse_text(text: str, kind: str) -> Any:
    """The value a field's text stands for; text that does not parse stays text (the
    validator then says what was expected)."""
    if kind == "str":
        return text
    if kind == "null" and not text.strip():
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def split_path(path: str) -> list[str | int]:
    return [int(idx) if idx else name for name, idx in _PART.findall(path)]


def unflatten(values: list[tuple[str, Any]]) -> dict[str, Any]:
    """Rebuild the document from (path, value) pairs made by :func:`flatten`."""
    root: dict[str, Any] = {}
    for path, value in values:
        parts = split_path(path)
        node: Any = root
        for part, nxt in itertools.pairwise(parts):
            empty: Any = [] if isinstance(nxt, int) else {}
            if isinstance(part, int):
                while len(node) <= part:
                    node.append(None)
                if node[part] is None:
                    node[part] = empty
                node = node[part]
            else:
                node = node.setdefault(part, empty)
        last = parts[-1]
        if isinstance(last, int):
            while len(node) <= last:
                node.append(None)
            node[last] = value
        else:
            node[last] = value
    return root


def field_for(issue_path: str, paths: list[str]) -> str | None:
    """The field an issue belongs to: the same path, else the nearest enclosing leaf."""
    if issue_path in paths:
        return issue_path
    best = None
    for path in paths:
        inside = issue_path.startswith(path) and issue_path[len(path) : len(path) + 1] in {".", "["}
        if inside and (best is None or len(path) > len(best)):
            best = path
    return best
