"""Check a user's keymap (``settings.json`` → ``keymap``) against the console's bindings.

Textual applies a keymap as written: an unknown binding id is ignored, a key it cannot
read (an emoji, an empty string, ``" ctrl+l"`` with a space) binds nothing, and a key
taken from another binding silently steals it. Each entry is checked here instead, and
refused with its path and the reason; the entries that pass are used.
"""

from __future__ import annotations

import importlib
import pkgutil
import string
from dataclasses import dataclass
from functools import cache
from types import ModuleType

# Keys the console's frame needs whatever a keymap says: quitting, the palette, Ctrl+C
# (which explains how to quit), focus movement and closing a dialog.
RESERVED_KEYS = {
    "ctrl+q": "quit",
    "ctrl+c": "how-to-quit help",
    "ctrl+p": "the command palette",
    "tab": "moving focus",
    "shift+tab": "moving focus",
    "escape": "closing dialogs",
}
# Their bindings keep their keys: Ctrl+Q must quit on every machine it is used on.
FIXED_BINDINGS = frozenset({"app.quit", "app.help-quit", "app.palette"})
MODIFIERS = ("ctrl", "shift", "alt", "meta", "super", "hyper")
_BINDING_MODULES = ("console.app", "console.screens", "widgets")


@dataclass(frozen=True, slots=True)
class BindingInfo:
    """A binding with an id: where it is declared (its scope) and its default keys."""

    id: str
    scope: str
    keys: tuple[str, ...]


@cache
def known_bindings() -> dict[str, BindingInfo]:
    """Every binding with an id in the console's app, screens and widgets, by id."""
    from textual.binding import Binding

    found: dict[str, BindingInfo] = {}
    for module in _modules():
        for obj in list(vars(module).values()):
            if not isinstance(obj, type) or obj.__module__ != module.__name__:
                continue
            for binding in vars(obj).get("BINDINGS", ()):
                if isinstance(binding, Binding) and binding.id:
                    keys = tuple(k.strip() for k in binding.key.split(","))
                    found.setdefault(binding.id, BindingInfo(binding.id, obj.__qualname__, keys))
    return found


def _modules() -> list[ModuleType]:
    out = []
    for name in _BINDING_MODULES:
        package = importlib.import_module(name)
        out.append(package)
        for info in pkgutil.iter_modules(getattr(package, "__path__", [])):
            out.append(importlib.import_module(f"{name}.{info.name}"))
    return out


@cache
def _key_names() -> frozenset[str]:
    from textual.keys import Keys, _character_to_key

    names = {k.value for k in Keys if "+" not in k.value and not k.value.startswith("<")}
    names |= {_character_to_key(c) for c in string.punctuation}
    names |= set(string.ascii_letters + string.digits)
    return frozenset(names | {"space"})


def key_problem(key: str) -> str | None:
    """Why Textual cannot bind ``key`` (one key, no commas); None if it can."""
    from textual.keys import _character_to_key

    if not key:
        return "an empty key binds nothing; expected a key like 'ctrl+l' or 'f5'"
    *mods, name = key.split("+")
    bad_mods = [m for m in mods if m not in MODIFIERS]
    if bad_mods:
        return f"unknown modifier {bad_mods[0]!r}; expected {', '.join(MODIFIERS)}"
    if name in _key_names():
        return None
    if len(name) == 1 and name.isascii() and name in string.punctuation:
        return f"write {name!r} as {_character_to_key(name)!r}"
    return (
        f"{name!r} is not a key Textual knows; expected a letter, digit or key name "
        "like 'ctrl+l', 'f5', 'question_mark'"
    )


def check_keymap(keymap: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Return ``(usable entries, problems)``; each problem names ``keymap.<id>``.

    Entries are normalised (spaces around commas dropped). Refused: unknown ids, keys
    Textual cannot read, reserved keys (see :data:`RESERVED_KEYS`) and the bindings
    that own them, and keys that collide with another binding in the same scope.
    """
    bindings = known_bindings()
    usable: dict[str, tuple[str, ...]] = {}
    problems: list[str] = []
    for binding_id, value in keymap.items():
        where = f"keymap.{binding_id}"
        info = bindings.get(binding_id)
        if info is None:
            close = sorted(b for b in bindings if b.split(".")[0] == binding_id.split(".")[0])
            hint = f"; ids here: {', '.join(close[:8])}" if close else " (see ? in the console)"
            problems.append(f"{where}: unknown binding id{hint}")
            continue
        if binding_id in FIXED_BINDINGS:
            problems.append(f"{where}: cannot be rebound (stays on {info.keys[0]})")
            continue
        keys = tuple(k.strip() for k in str(value).split(","))
        bad = next(((k, p) for k in keys if (p := key_problem(k))), None)
        if bad is not None:
            problems.append(f"{where}: {bad[1]} (got {value!r})")
            continue
        reserved = [k for k in keys if k in RESERVED_KEYS and k not in info.keys]
        if reserved:
            key = reserved[0]
            problems.append(f"{where}: {key} is reserved for {RESERVED_KEYS[key]}")
            continue
        usable[binding_id] = keys
    problems += _collisions(usable, bindings)
    return {b: ",".join(k) for b, k in usable.items()}, problems


def _collisions(usable: dict[str, tuple[str, ...]], bindings: dict[str, BindingInfo]) -> list[str]:
    """Refuse (and drop from ``usable``) entries whose key another binding of the same
    scope also has once the keymap is applied."""
    problems = []
    for binding_id in list(usable):
        info = bindings[binding_id]
        for other in bindings.values():
            if other.id == binding_id or other.scope != info.scope:
                continue
            other_keys = usable.get(other.id, other.keys)
            shared = sorted(set(usable[binding_id]) & set(other_keys))
            if shared:
                problems.append(
                    f"keymap.{binding_id}: {shared[0]} is already {other.id}'s key in {info.scope}"
                )
                del usable[binding_id]
                break
    return problems
