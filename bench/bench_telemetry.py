"""The cost of telemetry: backtest throughput with and without the metrics actor, and a scrape.

Throughput: the same seeded EUR/USD quotes (1 s apart) and EMACross on 10-second bid bars
in a low-level ``BacktestEngine``, once bare and once with the ``MetricsActor`` sampling
every wall second (each sample JSON-encoded as a host would journal it; in a backtest it
shares the kernel's clock, as in a node host). Each run is its own process (one kernel per
process). The runs go in ``BENCH_REPEATS`` pairs, back to back, the order alternating from
pair to pair, and the headline is the median of the pairs' ratios: this machine's speed
drifts by 10-20% over minutes, and a drift hits both runs of a pair alike. Only
``engine.run()`` is timed. Target: at most 2% slower. ``BENCH_TICKS`` overrides the tick
count.

Scrape: the Prometheus collector with 10 nodes' samples (3 strategies and 3 instruments
each), rendered in-process and fetched over HTTP on loopback.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
TICKS = int(os.environ.get("BENCH_TICKS", "300000"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "7"))
SCRAPES = 200
NODES = 10


def _child(n_ticks: int, with_metrics: bool) -> None:
    from decimal import Decimal

    import msgspec
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped]
    from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
    from nautilus_trader.config import LoggingConfig
    from nautilus_trader.examples.strategies.ema_cross import EMACross, EMACrossConfig
    from nautilus_trader.model.currencies import USD
    from nautilus_trader.model.data import BarType
    from nautilus_trader.model.enums import AccountType, OmsType
    from nautilus_trader.model.identifiers import Venue
    from nautilus_trader.model.objects import Money
    from nautilus_trader.persistence.wranglers import QuoteTickDataWrangler
    from nautilus_trader.test_kit.providers import TestInstrumentProvider

    inst = TestInstrumentProvider.default_fx_ccy("EUR/USD")
    rng = np.random.default_rng(42)
    mid = 1.1 * np.exp(np.cumsum(rng.normal(0.0, 0.3e-4, n_ticks)))
    bid = np.round((mid - 0.00005) / 1e-5) * 1e-5
    frame = pd.DataFrame(
        {
            "bid_price": bid.copy(),
            "ask_price": (bid + 0.0001).copy(),
            "bid_size": np.full(n_ticks, 1e6),
            "ask_size": np.full(n_ticks, 1e6),
        },
        index=pd.date_range("2024-01-02", periods=n_ticks, freq="1s", tz="UTC"),
    )
    ticks = QuoteTickDataWrangler(inst).process(frame)
    engine = BacktestEngine(
        BacktestEngineConfig(
            logging=LoggingConfig(log_level="ERROR", bypass_logging=True), run_analysis=False
        )
    )
    engine.add_venue(
        Venue("SIM"),
        oms_type=OmsType.NETTING,
        account_type=AccountType.MARGIN,
        base_currency=USD,
        starting_balances=[Money(1_000_000, USD)],
    )
    engine.add_instrument(inst)
    engine.add_data(ticks)
    engine.add_strategy(
        EMACross(
            EMACrossConfig(
                instrument_id=inst.id,
                bar_type=BarType.from_str("EUR/USD.SIM-10-SECOND-BID-INTERNAL"),
                trade_size=Decimal(100_000),
                fast_ema_period=10,
                slow_ema_period=20,
            )
        )
    )
    encoded: list[int] = []
    sample_cost: list[float] = []
    actor = None
    if with_metrics:
        from engine.telemetry.sampler import install

        encoder = msgspec.json.Encoder()

        def publish(
            kind: str, type_: str, payload: dict[str, Any], ts_ns: int | None = None
        ) -> None:
            encoded.append(len(encoder.encode(payload)))

        actor = install(engine, publish)
    start, cpu = time.perf_counter(), time.process_time()
    engine.run()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    if actor is not None:
        t0 = time.perf_counter()
        actor.final_sample()
        sample_cost.append(time.perf_counter() - t0)
    print(
        json.dumps(
            {
                "wall": wall,
                "cpu": cpu,
                "checks": actor.checks if actor is not None else 0,
                "actor_s": actor.sample_time_s if actor is not None else 0.0,
                "orders": len(engine.cache.orders()),
                "samples": len(encoded),
                "sample_bytes": encoded[-1] if encoded else 0,
                "sample_s": sample_cost[0] if sample_cost else None,
            }
        )
    )


def _run_child(with_metrics: bool) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "child", str(TICKS), "1" if with_metrics else "0"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _node_sample(node: int) -> dict[str, Any]:
    def pnl(x: float) -> dict[str, float]:
        return {"realized": x, "unrealized": x / 2, "total": 1.5 * x}

    strategies = [f"Strategy{s}-00{s}" for s in range(3)]
    instruments = ["EUR/USD.SIM", "GBP/USD.SIM", "USD/JPY.SIM"]
    lat = {"p50": 2.5, "p99": 31.0, "max": 40.0, "count": 1000}
    return {
        "schema": 1,
        "ts_ns": time.time_ns(),
        "pnl": {
            "total": {"USD": pnl(100.0 + node)},
            "by_venue": {"SIM": {"USD": pnl(100.0 + node)}},
            "by_instrument": {
                iid: {
                    "venue": "SIM",
                    "currency": "USD",
                    **pnl(10.0 * i),
                    "net_exposure": 1e5,
                    "exposure_currency": "USD",
                    "net_position": 1e5,
                }
                for i, iid in enumerate(instruments)
            },
            "by_strategy": {sid: {"USD": pnl(5.0 * i)} for i, sid in enumerate(strategies)},
        },
        "accounts": {
            "SIM": {
                key: {"USD": 1e6}
                for key in (
                    "equity",
                    "balance_total",
                    "balance_free",
                    "balance_locked",
                    "margin_init",
                    "margin_maint",
                    "net_exposure",
                )
            }
        },
        "drawdown": {"USD": {"equity": 1e6, "peak": 1.01e6, "abs": 1e4, "pct": 0.99}},
        "orders": {
            "by_strategy": {
                sid: {"FILLED": 100, "CANCELED": 10, "ACCEPTED": 2} for sid in strategies
            }
        },
        "positions": {"by_strategy": {sid: {"open": 1, "closed": 20} for sid in strategies}},
        "latency_ms": {"submit_to_accept": lat, "submit_to_fill": lat, "window": 1000},
        "bus": {"pub_count": 10_000, "pub_rate": 500.0},
        "engines": {
            "data": {
                "data_count": 1,
                "command_count": 1,
                "request_count": 1,
                "response_count": 1,
                "data_qsize": 0,
                "cmd_qsize": 0,
            },
            "exec": {
                "command_count": 1,
                "event_count": 1,
                "report_count": 0,
                "cmd_qsize": 0,
                "evt_qsize": 0,
            },
            "risk": {"command_count": 1, "event_count": 1, "cmd_qsize": 0, "evt_qsize": 0},
        },
        "feed": {"data_count": 1, "data_rate": 10.0, "data_idle_s": 0.1},
        "loop": {"lag_ms": 0.4, "lag_max_ms": 1.2},
        "process": {"pid": 1, "cpu_percent": 30.0, "rss_bytes": 400_000_000, "num_threads": 5},
    }


def bench_scrape() -> None:
    from engine.telemetry.prometheus import MetricsRegistry, serve

    registry = MetricsRegistry()
    for node in range(NODES):
        registry.update(f"node-{node}", _node_sample(node))
    body, _ = registry.exposition()
    start = time.perf_counter()
    for _ in range(SCRAPES):
        registry.exposition()
    render = (time.perf_counter() - start) / SCRAPES
    series = sum(1 for line in body.decode().splitlines() if line and not line.startswith("#"))
    with serve(registry, port=0) as server:
        with httpx.Client(timeout=5) as client:  # keeps its connection, as Prometheus does
            client.get(server.url).raise_for_status()  # warm the connection path
            start = time.perf_counter()
            for _ in range(SCRAPES):
                client.get(server.url).raise_for_status()
        http = (time.perf_counter() - start) / SCRAPES
    print(f"telemetry: scrape, {NODES} nodes, {series} series, {len(body):,} bytes")
    print(f"telemetry: scrape render in-process  {render * 1e3:7.2f} ms")
    print(f"telemetry: scrape over HTTP          {http * 1e3:7.2f} ms")


def bench_throughput() -> None:
    bare: list[dict[str, Any]] = []
    metrics: list[dict[str, Any]] = []
    for i in range(REPEATS):  # pairs back to back, the order alternating
        if i % 2:
            metrics.append(_run_child(True))
            bare.append(_run_child(False))
        else:
            bare.append(_run_child(False))
            metrics.append(_run_child(True))
    pairs = list(zip(bare, metrics, strict=True))
    wall_pct = (statistics.median(m["wall"] / b["wall"] for b, m in pairs) - 1) * 100
    cpu_pct = (statistics.median(m["cpu"] / b["cpu"] for b, m in pairs) - 1) * 100
    b = min(r["wall"] for r in bare)
    m = min(r["wall"] for r in metrics)
    bc = min(r["cpu"] for r in bare)
    mc = min(r["cpu"] for r in metrics)
    last = min(metrics, key=lambda r: float(r["wall"]))
    print(f"telemetry: {TICKS:,} ticks, {bare[-1]['orders']} orders, {REPEATS} pairs")
    each = ", ".join(f"{p['wall']:.2f}/{q['wall']:.2f}" for p, q in pairs)
    print(f"telemetry: each pair, bare/metrics wall s: {each}")
    print(
        f"telemetry: bare            {TICKS / b:>10,.0f} ticks/s ({b:.2f} s wall best, "
        f"{bc:.2f} s CPU)"
    )
    print(
        f"telemetry: with metrics    {TICKS / m:>10,.0f} ticks/s ({m:.2f} s wall best, "
        f"{mc:.2f} s CPU, {last['samples']} samples)"
    )
    print(
        f"telemetry: slowdown        {wall_pct:+.2f}% wall, {cpu_pct:+.2f}% CPU, medians of the "
        f"pairs' ratios (best of each side {(m / b - 1) * 100:+.2f}%; target <= +2%)"
    )
    share = (last["actor_s"]) / last["wall"] * 100
    print(
        f"telemetry: actor's own work {last['actor_s'] * 1e3:.1f} ms in samples + "
        f"{last['checks']} clock checks = {share:.2f}% of the run (samples only)"
    )
    if last["sample_s"] is not None:
        print(
            f"telemetry: one sample      {last['sample_s'] * 1e3:.2f} ms, "
            f"{last['sample_bytes']:,} bytes of JSON"
        )


def main() -> None:
    bench_scrape()
    bench_throughput()


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        _child(int(sys.argv[2]), sys.argv[3] == "1")
    else:
        main()
