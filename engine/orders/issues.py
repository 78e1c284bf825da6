"""Structured problems found in an order ticket or command.

Every validator in ``engine.orders`` returns (or raises with) a list of
:class:`OrderIssue`, one per problem, so a form or the CLI can show all of them at once
next to the field they concern.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import ValidationError


@dataclass(frozen=True, slots=True)
class OrderIssue:
    """One problem with one field of a ticket.

    Parameters
    ----------
    path : str
        The field path, e.g. ``price`` or ``orders[1].trigger_price``; empty for the
        ticket as a whole.
    value : Any
        The offending value (``None`` when the field is missing).
    expected : str
        What the field should hold instead, in words.
    """

    path: str
    value: Any
    expected: str

    @property
    def message(self) -> str:
        """What was expected, phrased for a person (the ``ConfigIssue.message`` twin)."""
        return f"expected {self.expected}"

    @property
    def severity(self) -> str:
        """Always ``"error"``: every order issue blocks submission."""
        return "error"

    def to_dict(self) -> dict[str, Any]:
        """Return the issue as JSON-safe plain data.

        Carries ``message`` and ``severity`` as well, so code that shows
        ``engine.config.issues.ConfigIssue`` dicts shows these unchanged.
        """
        return {
            "path": self.path,
            "value": _plain(self.value),
            "expected": self.expected,
            "message": self.message,
            "severity": self.severity,
        }

    def render(self) -> str:
        """Return a one-line description, as ``ConfigIssue.render`` does."""
        return str(self)

    def __str__(self) -> str:
        where = self.path or "ticket"
        return f"{where}: got {_plain(self.value)!r}, expected {self.expected}"


class OrderValidationError(ValueError):
    """Raised when a ticket or command fails validation; carries every issue."""

    def __init__(self, issues: Sequence[OrderIssue]) -> None:
        self.issues: tuple[OrderIssue, ...] = tuple(issues)
        super().__init__("; ".join(str(issue) for issue in self.issues) or "invalid order")

    def to_dict(self) -> dict[str, Any]:
        """Return the error as JSON-safe plain data."""
        return {"error": "invalid_order", "issues": [i.to_dict() for i in self.issues]}


def prefixed(prefix: str, issues: Iterable[OrderIssue]) -> list[OrderIssue]:
    """Return `issues` with their paths placed under `prefix` (e.g. ``orders[1]``)."""
    out = []
    for issue in issues:
        path = f"{prefix}.{issue.path}" if issue.path else prefix
        out.append(OrderIssue(path, issue.value, issue.expected))
    return out


def issues_from_pydantic(error: ValidationError, tags: Iterable[str] = ()) -> list[OrderIssue]:
    """Translate a pydantic error into issues with dotted/indexed field paths.

    Parameters
    ----------
    error : ValidationError
        The error raised while building a ticket model.
    tags : Iterable[str]
        Discriminator tags that pydantic puts into locations (``LIMIT``, ``BRACKET`` …);
        they are dropped from the path.
    """
    skip = set(tags)
    out = []
    for err in error.errors(include_url=False):
        parts: list[str] = []
        for loc in err["loc"]:
            if isinstance(loc, int):
                parts.append(f"[{loc}]")
            elif loc in skip or str(loc).startswith("function-"):
                continue
            else:
                parts.append(("." if parts else "") + str(loc))
        path = "".join(parts)
        kind = err["type"]
        if kind == "missing":
            expected, value = "a value (this field is required)", None
        elif kind == "extra_forbidden":
            expected, value = "no such field for this order type", err.get("input")
        else:
            expected, value = _lower_first(err["msg"]), err.get("input")
        out.append(OrderIssue(path, value, expected))
    return out


def _lower_first(text: str) -> str:
    text = text.removeprefix("Value error, ")
    return text[:1].lower() + text[1:]


def shown(value: Any) -> Any:
    """Return `value` as JSON-safe data, long text cut to its start and its length."""
    return _plain(value)


_SHOWN_CHARS = 60  # a 10k-character value is named by its start and length


def _plain(value: Any) -> Any:
    if isinstance(value, str) and len(value) > _SHOWN_CHARS:
        return f"{value[:_SHOWN_CHARS]}… ({len(value)} characters)"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**_SHOWN_CHARS:
        return f"a number of about {int(value.bit_length() * 0.30103) + 1} digits"
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return _plain(str(value))
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)
