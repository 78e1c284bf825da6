"""Schema versions as stored in files: read one strictly, refuse one that is too new.

Every gateway-owned document names its shape with a whole number (``schema_version``,
``version`` or ``v`` depending on the file). A value that is not a whole number >= 0
(a string, a float, ``true``, ``-1``) is an error naming the file; a number above what
this gateway knows (``2``, ``10**40``) means a newer gateway wrote the file: it is
refused, and never rewritten, because this code cannot know what the newer fields mean.
"""

from __future__ import annotations

import json
from typing import Any


class VersionError(ValueError):
    """A document's version is unusable; ``str(exc)`` names the file and the value."""

    def __init__(self, where: str, message: str) -> None:
        self.where = where
        super().__init__(f"{where}: {message}")


class NewerVersion(VersionError):
    """A newer gateway wrote this file: refuse it, leave it as it is."""

    def __init__(self, where: str, field: str, version: int, current: int) -> None:
        self.version = version
        self.current = current
        super().__init__(
            where,
            f"{field} {shown(version)} is newer than this gateway reads ({current}); "
            "upgrade nautilus-gateway to use it (the file is left as it is)",
        )


def shown(value: Any, limit: int = 24) -> str:
    """``value`` for a message, long ones cut (a version of 10**40 stays readable)."""
    if isinstance(value, int) and not isinstance(value, bool):
        text = (
            str(value)
            if abs(value) < 10**limit
            else f"{str(value)[:8]}… ({len(str(value))} digits)"
        )
        return text
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def json_type(value: Any) -> str:
    """The JSON name of ``value``'s type (``string``, not ``str``: users read JSON)."""
    for kind, name in (
        (bool, "boolean"),
        (int, "integer"),
        (float, "number"),
        (str, "string"),
        (list, "array"),
        (dict, "object"),
        (type(None), "null"),
    ):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def read_version(doc: Any, field: str, where: str, *, missing: int | None) -> int:
    """The version ``doc`` declares in ``field``; ``missing`` when absent (None: required).

    Raises
    ------
    VersionError
        ``doc`` is not an object, or its version is absent (when required), not a whole
        number, or negative.
    """
    if not isinstance(doc, dict):
        raise VersionError(where, f"expected a JSON object, got {json_type(doc)}")
    if field not in doc:
        if missing is None:
            raise VersionError(where, f"{field} is missing (expected a whole number >= 1)")
        return missing
    value = doc[field]
    if isinstance(value, bool) or not isinstance(value, int):
        raise VersionError(
            where, f"{field}: expected a whole number, got {shown(value)} ({json_type(value)})"
        )
    if value < 0:
        raise VersionError(where, f"{field}: expected a whole number >= 0, got {shown(value)}")
    return value


def check_version(doc: Any, field: str, where: str, current: int, *, missing: int | None) -> int:
    """:func:`read_version`, then refuse a version above ``current`` (:class:`NewerVersion`)."""
    version = read_version(doc, field, where, missing=missing)
    if version > current:
        raise NewerVersion(where, field, version, current)
    return version
