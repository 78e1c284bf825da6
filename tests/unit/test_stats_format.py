"""A backtest's statistics as a trader reads them: money, rates, dates, durations."""

from __future__ import annotations

import math

import pytest

from console.stats_format import duration, headline, nautilus_statistics, number, stat_rows

STATS = {  # as engine.host.results writes stats.json
    "total_orders": 242,
    "total_positions": 121,
    "iterations": 30000,
    "fills": 242,
    "backtest_start": 1_704_153_600_000_000_000,
    "backtest_end": 1_704_183_599_000_000_000,
    "elapsed_s": 29999.0,
    "run_wall_s": 0.9810249909996855,
    "run_cpu_s": 0.8703779820000002,
    "ticks_per_s": 30580.260722440267,
    "pnl": {"USD": -172.15},
    "pnl_pct": {"USD": -0.01721500000000233},
    "win_rate": 0.2809917355371901,
    "sharpe": None,
    "sortino": None,
    "profit_factor": 1.0850598127570201,
    "stats_pnls": {"USD": {"PnL (total)": -172.15, "Max Winner": 775.59, "Expectancy": -1.4227}},
    "stats_returns": {"Sharpe Ratio (252 days)": None, "Average (Return)": 2.6944597574e-05},
}


def test_the_headline_reads_as_a_trader_expects() -> None:
    rows = dict(headline(STATS))
    assert rows["PnL USD"] == "-172.15 (-0.0172%)"
    assert rows["win rate"] == "28.10%"
    assert rows["Sharpe"] == "n/a" and rows["profit factor"] == "1.085"
    assert (rows["orders"], rows["positions"], rows["fills"]) == ("242", "121", "242")
    assert rows["data from"] == "2024-01-02 00:00:00 UTC"
    assert rows["data to"] == "2024-01-02 08:19:59 UTC"
    assert rows["data span"] == "8.3 h"
    assert rows["ticks"] == "30,000" and rows["ticks/s"] == "30,580"
    assert (rows["wall time"], rows["CPU time"]) == ("0.981 s", "0.87 s")


def test_nautilus_statistics_follow_named_by_currency_or_returns() -> None:
    assert nautilus_statistics(STATS) == [
        ("USD · PnL (total)", "-172.15"),
        ("USD · Max Winner", "775.59"),
        ("USD · Expectancy", "-1.423"),
        ("returns · Sharpe Ratio (252 days)", "n/a"),
        ("returns · Average (Return)", "2.694e-05"),
    ]
    assert stat_rows(STATS)[: len(headline(STATS))] == headline(STATS)


@pytest.mark.parametrize(
    ("value", "text"),
    [(1234567, "1,234,567"), (1234.5678, "1,234.57"), (0.123456, "0.1235"), (None, "n/a"),
     (math.nan, "n/a"), (math.inf, "n/a"), (True, "True"), ("x", "x")],
)  # fmt: skip
def test_numbers(value: object, text: str) -> None:
    assert number(value) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.5, "0.5 s"), (90, "90 s"), (600, "10.0 min"), (36_000, "10.0 h"), (259_200, "3.0 days"),
     (None, "n/a")],
)  # fmt: skip
def test_durations(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text


def test_a_run_without_figures_shows_na_not_an_error() -> None:
    rows = dict(headline({}))
    assert rows["win rate"] == rows["data from"] == rows["ticks/s"] == "n/a"
    assert not any(label.startswith("PnL") for label in rows)
