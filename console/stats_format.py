"""A backtest's ``stats.json`` as labelled, formatted figures for people to read.

One place for the CLI's summary (``gateway launch``, ``gateway runs show``) and the
console's results screen: the headline figures first (PnL, win rate, risk ratios, counts,
the data's time range, the run's speed), then every statistic Nautilus computed. Money
gets two decimals and thousands separators, rates a percent sign, timestamps UTC dates.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

NA = "n/a"


def number(value: Any, *, digits: int = 4) -> str:
    """An int with separators; a float to ``digits`` significant digits (2 decimals from
    100 up); ``n/a`` for None, NaN and infinities; anything else as text."""
    if value is None or isinstance(value, bool):
        return NA if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return NA
        return f"{value:,.2f}" if abs(value) >= 100 else f"{value:.{digits}g}"
    return str(value)


def money(value: Any) -> str:
    return f"{value:,.2f}" if isinstance(value, (int, float)) and math.isfinite(value) else NA


def percent(fraction: Any) -> str:
    """A fraction (0.28) as a percentage (28.00%)."""
    if not isinstance(fraction, (int, float)) or not math.isfinite(fraction):
        return NA
    return f"{fraction * 100:.2f}%"


def utc_time(ns: Any) -> str:
    if not isinstance(ns, int) or ns <= 0:
        return NA
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(seconds: Any) -> str:
    if not isinstance(seconds, (int, float)) or not math.isfinite(seconds):
        return NA
    if seconds < 120:
        return f"{seconds:.3g} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    if seconds < 172_800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86_400:.1f} days"


def headline(stats: dict[str, Any]) -> list[tuple[str, str]]:
    """The figures a trader looks at first, labelled."""
    rows: list[tuple[str, str]] = []
    pct = stats.get("pnl_pct") or {}
    for currency, pnl in (stats.get("pnl") or {}).items():
        share = pct.get(currency)
        share_text = f" ({share:+.4f}%)" if isinstance(share, (int, float)) else ""
        rows.append((f"PnL {currency}", f"{money(pnl)}{share_text}"))
    rows += [
        ("win rate", percent(stats.get("win_rate"))),
        ("Sharpe", number(stats.get("sharpe"))),
        ("Sortino", number(stats.get("sortino"))),
        ("profit factor", number(stats.get("profit_factor"))),
        ("orders", number(stats.get("total_orders"))),
        ("positions", number(stats.get("total_positions"))),
        ("fills", number(stats.get("fills"))),
        ("data from", utc_time(stats.get("backtest_start"))),
        ("data to", utc_time(stats.get("backtest_end"))),
        ("data span", duration(stats.get("elapsed_s"))),
        ("ticks", number(stats.get("iterations"))),
        ("wall time", duration(stats.get("run_wall_s"))),
        ("CPU time", duration(stats.get("run_cpu_s"))),
    ]
    speed = stats.get("ticks_per_s")
    rows.append(("ticks/s", f"{speed:,.0f}" if isinstance(speed, (int, float)) else NA))
    return rows


def nautilus_statistics(stats: dict[str, Any]) -> list[tuple[str, str]]:
    """Nautilus's own statistics: PnL ones per currency, then return ones."""
    rows: list[tuple[str, str]] = []
    for currency, figures in (stats.get("stats_pnls") or {}).items():
        for name, value in (figures or {}).items():
            rows.append((f"{currency} · {name}", number(value)))
    for name, value in (stats.get("stats_returns") or {}).items():
        rows.append((f"returns · {name}", number(value)))
    return rows


def stat_rows(stats: dict[str, Any]) -> list[tuple[str, str]]:
    """Every figure of ``stats.json``: the headline, then Nautilus's statistics."""
    return headline(stats) + nautilus_statistics(stats)
