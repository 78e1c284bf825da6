"""What the loss limits are measured from: the day's PnL so far and the equity peak.

Both must outlive the node host: a trader who lost 90% of the daily limit must not get a
fresh limit by crashing the node (or by stop/start the same day), and a drawdown is from
the peak before the restart. :class:`LossTracker` keeps them; its :class:`LossBaseline`
is stored with the risk state (``risk.json``) and handed to the next host.

- **The day** is the calendar date in ``day_timezone`` (``UTC`` unless the node's config
  says ``risk.day_timezone``), read from the kernel's clock, so a backtest rolls over on
  its simulated days. At a new day the day's PnL starts again from 0; the peak does not.
- **The day's PnL** is ``carried`` (what earlier runs of the node lost or made today, as
  stored) plus what this run made since it started measuring (its portfolio's realized +
  unrealized PnL minus their value at its start). Rebasing on the run's start is right
  both when the new run's portfolio starts empty (a sandbox venue, no cache database) and
  when it is restored (Redis): only what happens after the restart is added.
- **The equity peak** is absolute, per currency: the account's equity is the venue's.

Pure: no Nautilus, no I/O; the clock and the figures come in as arguments.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIMEZONE = "UTC"


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; ``ValueError`` naming it when there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError("expected an IANA time zone such as UTC or America/New_York") from None


def trading_day(ts_ns: int, tz: ZoneInfo) -> str:
    """The calendar date (``YYYY-MM-DD``) in ``tz`` at UNIX time ``ts_ns``."""
    return dt.datetime.fromtimestamp(ts_ns / 1e9, tz).date().isoformat()


@dataclass(frozen=True, slots=True)
class LossBaseline:
    """What a restarted node measures its loss limits from (stored in ``risk.json``)."""

    day: str = ""
    timezone: str = DEFAULT_TIMEZONE
    day_pnl: dict[str, Decimal] = field(default_factory=dict)  # the day's PnL so far
    peak: dict[str, Decimal] = field(default_factory=dict)  # equity peak per currency

    def to_dict(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "timezone": self.timezone,
            "day_pnl": {k: str(v) for k, v in self.day_pnl.items()},
            "equity_peak": {k: str(v) for k, v in self.peak.items()},
        }

    @classmethod
    def from_dict(cls, data: Any) -> LossBaseline:
        """Read a stored baseline; ``ValueError`` naming what is wrong."""
        if not isinstance(data, dict):
            raise ValueError("loss_baseline: not a JSON object")
        day = data.get("day", "")
        if not isinstance(day, str) or (day and not _is_date(day)):
            raise ValueError(f"loss_baseline.day: got {day!r}, expected YYYY-MM-DD")
        tz = data.get("timezone", DEFAULT_TIMEZONE)
        if not isinstance(tz, str):
            raise ValueError(f"loss_baseline.timezone: got {tz!r}")
        try:
            zone(tz)
        except ValueError as exc:
            raise ValueError(f"loss_baseline.timezone: got {tz!r}, {exc}") from None
        return cls(
            day=day,
            timezone=tz,
            day_pnl=_amounts(data.get("day_pnl"), "loss_baseline.day_pnl"),
            peak=_amounts(data.get("equity_peak"), "loss_baseline.equity_peak"),
        )


def _is_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def _amounts(raw: Any, where: str) -> dict[str, Decimal]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: not a JSON object")
    out: dict[str, Decimal] = {}
    for cur, value in raw.items():
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            raise ValueError(f"{where}.{cur}: got {value!r}, expected a number") from None
        if not amount.is_finite():
            raise ValueError(f"{where}.{cur}: got {value!r}, expected a finite number")
        out[str(cur)] = amount
    return out


def _add(a: dict[str, Decimal], b: dict[str, Decimal], sign: int = 1) -> dict[str, Decimal]:
    out = dict(a)
    for cur, v in b.items():
        out[cur] = out.get(cur, Decimal(0)) + sign * v
    return out


class LossTracker:
    """The day's PnL and the equity peak of one run, continuing the stored ones."""

    def __init__(self, stored: LossBaseline | None, timezone: str = DEFAULT_TIMEZONE) -> None:
        self.timezone = timezone
        self._tz = zone(timezone)
        self._stored = stored or LossBaseline(timezone=timezone)
        self.day = ""
        self._carried: dict[str, Decimal] = {}
        self._run_start: dict[str, Decimal] | None = None
        self.peak: dict[str, Decimal] = dict(self._stored.peak)
        self.day_pnl: dict[str, Decimal] = {}

    def measure(
        self, ts_ns: int, totals: dict[str, Decimal], equity: dict[str, Decimal]
    ) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
        """The day's PnL and the drawdown from the peak, per currency, at ``ts_ns``.

        ``totals``: the run's realized + unrealized PnL; ``equity``: the accounts' equity.
        """
        day = trading_day(ts_ns, self._tz)
        if self._run_start is None:  # this run's first measure: continue the stored day
            self._run_start = dict(totals)
            self._carried = dict(self._stored.day_pnl) if self._stored.day == day else {}
            self.day = day
        elif day != self.day:  # rollover: the new day starts from here, at 0
            self._run_start = dict(totals)
            self._carried = {}
            self.day = day
        self.day_pnl = _add(self._carried, _add(totals, self._run_start, -1))
        for cur, e in equity.items():
            self.peak[cur] = max(self.peak.get(cur, e), e)
        drawdown = {cur: self.peak[cur] - e for cur, e in equity.items()}
        return dict(self.day_pnl), drawdown

    def baseline(self) -> LossBaseline:
        """What to store now, for the next run of the node."""
        if self._run_start is None:  # nothing measured yet: keep what was stored
            return self._stored
        return LossBaseline(self.day, self.timezone, dict(self.day_pnl), dict(self.peak))
