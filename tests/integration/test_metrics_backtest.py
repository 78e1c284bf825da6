"""The metrics actor in a real BacktestEngine (one kernel per process) reports Nautilus's numbers.

The test runs this file as a script in a subprocess: EMACross trades synthetic EUR/USD
quotes on a venue with a latency model while the metrics actor samples every 0.1 wall
second. After the run the script prints the actor's samples next to what Nautilus's own
portfolio, cache and reports say; the test asserts they are equal.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
N_TICKS = 30_000
LATENCY_NS = 7_000_000  # 7 ms insert latency on top of a 3 ms base


def _child() -> None:
    from decimal import Decimal

    import numpy as np
    import pandas as pd  # type: ignore[import-untyped]
    from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
    from nautilus_trader.backtest.models import LatencyModel
    from nautilus_trader.config import LoggingConfig
    from nautilus_trader.examples.strategies.ema_cross import EMACross, EMACrossConfig
    from nautilus_trader.model.currencies import USD
    from nautilus_trader.model.data import BarType
    from nautilus_trader.model.enums import AccountType, OmsType
    from nautilus_trader.model.identifiers import Venue
    from nautilus_trader.model.objects import Money
    from nautilus_trader.persistence.wranglers import QuoteTickDataWrangler
    from nautilus_trader.test_kit.providers import TestInstrumentProvider

    from engine.telemetry.collect import money_map
    from engine.telemetry.latency import percentile
    from engine.telemetry.sampler import MetricsActorConfig, install

    inst = TestInstrumentProvider.default_fx_ccy("EUR/USD")
    rng = np.random.default_rng(11)
    mid = 1.1 * np.exp(np.cumsum(rng.normal(0.0, 0.5e-4, N_TICKS)))
    bid = np.round((mid - 0.00005) / 1e-5) * 1e-5
    frame = pd.DataFrame(
        {
            "bid_price": bid.copy(),
            "ask_price": (bid + 0.0001).copy(),
            "bid_size": np.full(N_TICKS, 1e6),
            "ask_size": np.full(N_TICKS, 1e6),
        },
        index=pd.date_range("2024-01-02", periods=N_TICKS, freq="1s", tz="UTC"),
    )
    ticks = QuoteTickDataWrangler(inst).process(frame)

    engine = BacktestEngine(
        BacktestEngineConfig(logging=LoggingConfig(log_level="ERROR", bypass_logging=True))
    )
    venue = Venue("SIM")
    engine.add_venue(
        venue,
        oms_type=OmsType.NETTING,
        account_type=AccountType.MARGIN,
        base_currency=USD,
        starting_balances=[Money(1_000_000, USD)],
        latency_model=LatencyModel(base_latency_nanos=3_000_000, insert_latency_nanos=LATENCY_NS),
    )
    engine.add_instrument(inst)
    engine.add_data(ticks)
    engine.add_strategy(
        EMACross(
            EMACrossConfig(
                instrument_id=inst.id,
                bar_type=BarType.from_str("EUR/USD.SIM-15-SECOND-BID-INTERNAL"),
                trade_size=Decimal(100_000),
                fast_ema_period=10,
                slow_ema_period=30,
                close_positions_on_stop=False,  # leave a position open: unrealized PnL
            )
        )
    )
    samples: list[dict[str, Any]] = []
    published: list[tuple[str, str]] = []

    def publish(kind: str, type_: str, payload: dict[str, Any], ts_ns: int | None = None) -> None:
        published.append((kind, type_))
        samples.append(json.loads(json.dumps(payload)))  # what a journal would hold

    actor = install(engine, publish, MetricsActorConfig(interval_secs=0.1, latency_window=50))
    engine.run()
    actor.final_sample()

    pf, cache, trader = engine.portfolio, engine.cache, engine.trader
    orders_report = trader.generate_orders_report()
    positions_report = trader.generate_positions_report()
    result = engine.get_result()
    fill_latencies = []
    for order in cache.orders():
        submitted = [e for e in order.events if type(e).__name__ == "OrderSubmitted"]
        filled = [e for e in order.events if type(e).__name__ == "OrderFilled"]
        if submitted and filled:
            fill_latencies.append(filled[0].ts_init - submitted[0].ts_init)
    last = sorted(fill_latencies[-50:])
    iid = inst.id
    nautilus = {
        "venue_realized": money_map(pf.realized_pnls(venue)),
        "venue_unrealized": money_map(pf.unrealized_pnls(venue)),
        "venue_total": money_map(pf.total_pnls(venue)),
        "instrument": {
            "realized": pf.realized_pnl(iid).as_double(),
            "unrealized": pf.unrealized_pnl(iid).as_double(),
            "total": pf.total_pnl(iid).as_double(),
            "net_exposure": pf.net_exposure(iid).as_double(),
            "net_position": float(pf.net_position(iid)),
        },
        "equity": money_map(pf.equity(venue)),
        "balance_total": money_map(cache.account_for_venue(venue).balances_total()),
        "margin_maint": money_map(pf.margins_maint(venue)),
        "report_status_counts": dict(Counter(orders_report["status"])),
        "report_realized_sum": float(
            positions_report["realized_pnl"].map(lambda s: float(str(s).split()[0])).sum()
        ),
        "stats_pnl_total": result.stats_pnls["USD"]["PnL (total)"],
        "total_orders": result.total_orders,
        "open_positions": cache.positions_open_count(),
        "fill_p50_ms": percentile(last, 0.5) / 1e6,
        "fill_p99_ms": percentile(last, 0.99) / 1e6,
        "data_count": engine.kernel.data_engine.data_count,
        "pub_count": engine.kernel.msgbus.pub_count,
    }
    print(json.dumps({"samples": samples, "published": published, "nautilus": nautilus}))


@pytest.fixture(scope="module")
def run() -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "child"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def test_every_sample_is_a_metric_event(run: dict[str, Any]) -> None:
    assert {tuple(p) for p in run["published"]} == {("metric", "MetricsSample")}
    samples = run["samples"]
    assert [s["seq"] for s in samples] == list(range(1, len(samples) + 1))
    assert [s["reason"] for s in samples[-2:]] == ["stop", "final"]
    interval = [s for s in samples if s["reason"] == "interval"]
    assert interval, "expected samples during the run, not only at its end"
    sim = [s["sim_ts_ns"] for s in interval]
    assert sim == sorted(sim)
    assert all(s["mode"] == "backtest" and s["loop"] is None for s in samples)


def test_final_pnl_equals_the_portfolio(run: dict[str, Any]) -> None:
    final, n = run["samples"][-1], run["nautilus"]
    assert n["venue_unrealized"]["USD"] != 0.0  # an open position: a real mark-to-market
    sim = final["pnl"]["by_venue"]["SIM"]["USD"]
    assert sim == {
        "realized": n["venue_realized"]["USD"],
        "unrealized": n["venue_unrealized"]["USD"],
        "total": n["venue_total"]["USD"],
    }
    assert final["pnl"]["total"]["USD"] == sim
    inst = final["pnl"]["by_instrument"]["EUR/USD.SIM"]
    assert {k: inst[k] for k in n["instrument"]} == n["instrument"]
    assert inst["venue"] == "SIM"
    # One strategy on one instrument: its PnL is the instrument's.
    strat = final["pnl"]["by_strategy"]["EMACross-000"]["USD"]
    assert strat == {k: n["instrument"][k] for k in ("realized", "unrealized", "total")}


def test_final_pnl_equals_the_reports(run: dict[str, Any]) -> None:
    final, n = run["samples"][-1], run["nautilus"]
    realized = final["pnl"]["by_strategy"]["EMACross-000"]["USD"]["realized"]
    assert realized == pytest.approx(n["report_realized_sum"], abs=0.005)
    assert realized == pytest.approx(n["stats_pnl_total"], abs=0.005)


def test_final_accounts_equal_the_portfolio(run: dict[str, Any]) -> None:
    final, n = run["samples"][-1], run["nautilus"]
    account = final["accounts"]["SIM"]
    assert account["equity"] == n["equity"]
    assert account["balance_total"] == n["balance_total"]
    assert account["margin_maint"] == n["margin_maint"]
    assert final["drawdown"]["USD"]["equity"] == n["equity"]["USD"]
    assert final["drawdown"]["USD"]["peak"] >= n["equity"]["USD"]


def test_final_order_counts_equal_the_orders_report(run: dict[str, Any]) -> None:
    final, n = run["samples"][-1], run["nautilus"]
    assert final["orders"]["by_status"] == n["report_status_counts"]
    assert final["orders"]["total"] == n["total_orders"] > 10
    assert final["orders"]["by_strategy"]["EMACross-000"] == n["report_status_counts"]
    assert final["positions"]["open"] == n["open_positions"] == 1


def test_latency_percentiles_come_from_the_order_events(run: dict[str, Any]) -> None:
    final, n = run["samples"][-1], run["nautilus"]
    fill = final["latency_ms"]["submit_to_fill"]
    assert fill["count"] == 50
    assert fill["p50"] == n["fill_p50_ms"]
    assert fill["p99"] == n["fill_p99_ms"]
    assert fill["p50"] >= (3_000_000 + LATENCY_NS) / 1e6  # the venue's latency model


def test_counters_are_the_kernels(run: dict[str, Any]) -> None:
    final, n = run["samples"][-1], run["nautilus"]
    assert final["engines"]["data"]["data_count"] == n["data_count"] >= 30_000
    assert final["feed"]["data_count"] == n["data_count"]
    assert final["bus"]["pub_count"] == n["pub_count"]
    assert final["engines"]["exec"]["cmd_qsize"] is None  # backtest engines have no queues
    assert final["process"]["rss_bytes"] > 50_000_000


if __name__ == "__main__" and sys.argv[1:] == ["child"]:
    sys.path.insert(0, str(ROOT))
    _child()
