"""A secret value held in memory that never shows itself, and the masking helper."""

from __future__ import annotations

from typing import Final, NoReturn

HIDDEN: Final = "••••"
_MIN_LEN_FOR_ENDS: Final = 12  # show 4+4 characters only when 4+ stay hidden


def mask(value: str | None) -> str:
    """Return ``value`` masked for display: ``abcd…wxyz`` when long enough, else ``••••``.

    Parameters
    ----------
    value : str or None
        The plain value (an API key, say); ``None`` or empty gives ``""``.
    """
    if not value:
        return ""
    if len(value) < _MIN_LEN_FOR_ENDS:
        return HIDDEN
    return f"{value[:4]}…{value[-4:]}"


class Secret:
    """A string whose ``repr``/``str``/format never reveal it; call :meth:`reveal` to use it.

    Kept deliberately unpicklable and uncopyable by accident: a secret crosses a process
    boundary only when the caller reveals it on purpose.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("Secret value must be a str")
        self._value = value

    def reveal(self) -> str:
        """Return the plain value (for signing a request or building a client config)."""
        return self._value

    def masked(self) -> str:
        """Return the value masked by :func:`mask`."""
        return mask(self._value)

    def __repr__(self) -> str:
        return f"Secret('{HIDDEN}')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            return self._value == other._value
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret is not picklable: reveal() it on purpose")
