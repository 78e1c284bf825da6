"""One error model for every front end: code, field, value, what was expected, a message.

The CLI maps ``code`` to an exit code, the HTTP API to a status, the console to an inline
message; the words (``message``) are the same everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from engine.config.issues import ConfigIssue

type ErrorCode = Literal[
    "invalid",  # bad input: the request itself is wrong
    "not_found",  # no such node, run, token
    "conflict",  # the state forbids it now: already running, not running, exists
    "refused",  # the node answered and refused the command
    "unconfirmed",  # it needs a confirmation the request lacks (a notional above the threshold)
    "unreachable",  # the node host does not answer
    "unauthorized",  # no or unknown credentials
    "forbidden",  # credentials without the right
    "rate_limited",  # too many requests
    "failed",  # anything else that went wrong
]

EXIT_CODES: dict[str, int] = {
    "invalid": 2,
    "not_found": 2,
    "conflict": 1,
    "refused": 1,
    "unconfirmed": 2,  # as a command refused for want of --yes without a terminal
    "unreachable": 1,
    "unauthorized": 2,
    "forbidden": 2,
    "rate_limited": 1,
    "failed": 1,
}

HTTP_STATUSES: dict[str, int] = {
    "invalid": 422,
    "not_found": 404,
    "conflict": 409,
    "refused": 409,
    "unconfirmed": 409,  # well-formed, but the workspace's policy wants a confirmation
    "unreachable": 503,
    "unauthorized": 401,
    "forbidden": 403,
    "rate_limited": 429,
    "failed": 500,
}


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | bool):
        return value
    if isinstance(value, float):
        return (
            value if value == value and value not in (float("inf"), float("-inf")) else str(value)
        )
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value[:50]]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in list(value.items())[:50]}
    return str(value)


def _short(value: Any, limit: int = 200) -> Any:
    """A value fit to echo back: long text cut (a 10k-character input is not repeated)."""
    value = _jsonable(value)
    if isinstance(value, str) and len(value) > limit:
        return value[: limit - 1] + "…"
    return value


class ServiceError(Exception):
    """A service call that did not do what was asked, and why.

    Attributes
    ----------
    code
        What kind of failure (see :data:`ErrorCode`); front ends map it.
    field
        The request field at fault (``""`` for the request as a whole).
    value
        The offending value, cut short for echoing.
    expected
        What would have been accepted, in words.
    message
        The whole sentence, as the CLI prints it.
    issues
        Every problem found, when there are several (config validation).
    retry_after
        For ``rate_limited``: the seconds to wait.
    """

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        field: str = "",
        value: Any = None,
        expected: str = "",
        issues: Sequence[ConfigIssue] = (),
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message
        self.field = field
        self.value = _short(value)
        self.expected = expected
        self.issues = tuple(issues)
        self.retry_after = retry_after  # seconds, for ``rate_limited``

    @property
    def exit_code(self) -> int:
        """The CLI's exit code: 2 for bad input (and unknown names), 1 for other failures."""
        return EXIT_CODES[self.code]

    @property
    def http_status(self) -> int:
        return HTTP_STATUSES[self.code]

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "field": self.field,
            "value": self.value,
            "expected": self.expected,
            "message": self.message,
            "issues": [
                {
                    "path": i.path,
                    "message": i.message,
                    "value": _short(i.value),
                    "severity": i.severity,
                }
                for i in self.issues
            ],
        }

    @classmethod
    def from_issues(cls, issues: Sequence[ConfigIssue], source: str | None = None) -> ServiceError:
        """An ``invalid`` error carrying every issue; the first error names the field."""
        errors = [i for i in issues if i.severity == "error"] or list(issues)
        first = errors[0] if errors else ConfigIssue("", "invalid")
        head = f"{source}: " if source else ""
        message = head + "; ".join(i.render() for i in errors)
        return cls(
            "invalid",
            message,
            field=first.path,
            value=first.value,
            expected=first.message,
            issues=issues,
        )

    @classmethod
    def not_running(cls, node_id: str, message: str | None = None) -> ServiceError:
        """``conflict``: the node has no host running (the CLI's words by default)."""
        return cls(
            "conflict",
            message or f"node {node_id!r} is not running (see: gateway ps)",
            field="node_id",
            value=node_id,
            expected="a node with a host running",
        )

    @classmethod
    def unreachable(cls, node_id: str, detail: object) -> ServiceError:
        """``unreachable``: the node's host runs but does not answer on its channel."""
        return cls(
            "unreachable",
            f"node {node_id!r} does not answer: {detail}",
            field="node_id",
            value=node_id,
            expected="a node host that answers on its channel",
        )

    @classmethod
    def invalid(cls, field: str, value: Any, expected: str) -> ServiceError:
        """Bad input in one field: ``field: expected … (got value)``, the CLI's words."""
        shown = "" if value is None else f" (got {_short(value, 80)!r})"
        return cls(
            "invalid", f"{field}: {expected}{shown}", field=field, value=value, expected=expected
        )
