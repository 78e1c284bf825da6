"""Structured validation problems: what the CLI prints, the console places on fields,
and a later API returns as JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem with one field.

    Attributes
    ----------
    path : str
        Field path in the config, e.g. ``strategies[0].config.trade_size``; ``""`` for the
        whole document.
    message : str
        What was expected, phrased for a person.
    value : Any
        The offending value (``None`` when the field is missing).
    severity : {"error", "warning"}
        Errors block saving and launching; warnings (e.g. a catalog not yet created) do not.
    """

    path: str
    message: str
    value: Any = None
    severity: Severity = "error"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["value"] = _jsonable(self.value)
        return data

    def render(self) -> str:
        where = self.path or "(document)"
        shown = "" if self.value is None else f" (got {_short(self.value)})"
        return f"{where}: {self.message}{shown}"


class ConfigInvalid(Exception):
    """Raised when a config has at least one error; carries every issue found."""

    def __init__(self, issues: list[ConfigIssue], source: str | None = None) -> None:
        self.issues = issues
        self.source = source
        head = f"{source}: " if source else ""
        super().__init__(head + "; ".join(i.render() for i in issues))

    @property
    def errors(self) -> list[ConfigIssue]:
        return [i for i in self.issues if i.severity == "error"]


def join_path(*parts: str | int) -> str:
    """Join path parts: ``("strategies", 0, "config")`` -> ``strategies[0].config``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part:
            out = f"{out}.{part}" if out else part
    return out


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)
