"""Select audit entries: since a time, by who, by action (shared by the CLI and the API)."""

from __future__ import annotations

import datetime as dt
import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from engine.audit.record import AuditEntry

_RELATIVE = re.compile(r"^(\d{1,6})([smhd])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class BadSince(ValueError):
    """``since`` is neither a relative age (30m, 2h, 7d) nor an ISO 8601 time."""


def parse_since(text: str, now: dt.datetime | None = None) -> dt.datetime:
    """``30s``/``15m``/``2h``/``7d`` ago, or an ISO 8601 date or time (UTC when naive)."""
    now = now or dt.datetime.now(dt.UTC)
    value = text.strip()
    if m := _RELATIVE.match(value):
        try:
            return now - dt.timedelta(seconds=int(m.group(1)) * _UNIT_S[m.group(2)])
        except OverflowError:
            raise BadSince(f"got {text!r}: that reaches before year 1") from None
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadSince(
            f"got {text!r}, expected an age like 30m, 2h or 7d, or an ISO 8601 time "
            "like 2026-12-07T09:30Z"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class AuditQuery:
    since: dt.datetime | None = None
    who: str | None = None
    action: str | None = None  # a prefix: "orders" matches orders.submit, orders.cancel …
    last: int | None = None

    def select(self, entries: Iterable[AuditEntry]) -> list[AuditEntry]:
        picked: deque[AuditEntry] = deque(maxlen=self.last)
        since = self.since.isoformat(timespec="microseconds") if self.since else None
        for e in entries:
            # Timestamps are written in one UTC format, so they compare as strings.
            if since is not None and e.ts < since:
                continue
            if self.who is not None and e.who != self.who and f"{e.who}@{e.via}" != self.who:
                continue
            if self.action is not None and not (
                e.action == self.action or e.action.startswith(self.action + ".")
            ):
                continue
            picked.append(e)
        return list(picked)
