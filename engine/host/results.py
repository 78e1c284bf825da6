"""Write a finished backtest's reports and statistics to its run directory.

Shared by the host and by the bare reference run of the parity test and the benchmark, so
both sides are reported by the same code.

``stats.json``::

    {"total_orders", "total_positions", "total_events", "iterations", "fills",
     "backtest_start", "backtest_end", "elapsed_s", "run_wall_s", "run_cpu_s", "ticks_per_s",
     "pnl": {CURRENCY: total PnL}, "pnl_pct": {CURRENCY: %}, "win_rate", "sharpe",
     "sortino", "profit_factor", "stats_pnls": {...}, "stats_returns": {...}}

NaN figures (Sharpe needs about two days of data) are written as null.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.runs import REPORTS, STATS_FILE, jsonable, write_json


def _first(stats: dict[str, Any], *names: str) -> Any:
    for key, value in stats.items():
        if any(key.startswith(n) for n in names):
            return value
    return None


def summarize(
    result: Any, *, fills: int, run_wall_s: float | None = None, run_cpu_s: float | None = None
) -> dict[str, Any]:
    """Return the ``stats.json`` dict for a Nautilus ``BacktestResult``."""
    pnls: dict[str, dict[str, Any]] = dict(result.stats_pnls or {})
    returns: dict[str, Any] = dict(result.stats_returns or {})
    win_rates = [s.get("Win Rate") for s in pnls.values() if s.get("Win Rate") is not None]
    stats = {
        "total_orders": int(result.total_orders),
        "total_positions": int(result.total_positions),
        "total_events": int(result.total_events),
        "iterations": int(result.iterations),
        "fills": fills,
        "backtest_start": result.backtest_start,
        "backtest_end": result.backtest_end,
        "elapsed_s": result.elapsed_time,
        "run_wall_s": run_wall_s,
        "run_cpu_s": run_cpu_s,
        "ticks_per_s": (result.iterations / run_wall_s) if run_wall_s else None,
        "pnl": {cur: s.get("PnL (total)") for cur, s in pnls.items()},
        "pnl_pct": {cur: s.get("PnL% (total)") for cur, s in pnls.items()},
        "win_rate": win_rates[0] if win_rates else None,
        "sharpe": _first(returns, "Sharpe Ratio"),
        "sortino": _first(returns, "Sortino Ratio"),
        "profit_factor": _first(returns, "Profit Factor"),
        "stats_pnls": pnls,
        "stats_returns": returns,
    }
    return dict(jsonable(stats))


def write_reports(engine: Any, venues: list[str], run_dir: Path) -> int:
    """Write fills, order fills, positions and account reports as CSV; return the fill count."""
    import pandas as pd  # type: ignore[import-untyped]
    from nautilus_trader.model.identifiers import Venue

    trader = engine.trader
    fills = trader.generate_fills_report()
    fills.to_csv(run_dir / REPORTS["fills"])
    trader.generate_order_fills_report().to_csv(run_dir / REPORTS["order_fills"])
    trader.generate_positions_report().to_csv(run_dir / REPORTS["positions"])
    frames = []
    for name in venues:
        report = trader.generate_account_report(Venue(name))
        if report is not None and len(report):
            frames.append(report.assign(venue=name))
    account = pd.concat(frames) if frames else pd.DataFrame()
    account.to_csv(run_dir / REPORTS["account"])
    return len(fills)


def write_results(
    engine: Any,
    result: Any,
    venues: list[str],
    run_dir: Path,
    *,
    run_wall_s: float | None = None,
    run_cpu_s: float | None = None,
) -> dict[str, Any]:
    """Write the reports and ``stats.json``; return the stats."""
    fills = write_reports(engine, venues, run_dir)
    stats = summarize(result, fills=fills, run_wall_s=run_wall_s, run_cpu_s=run_cpu_s)
    write_json(run_dir / STATS_FILE, stats)
    return stats
