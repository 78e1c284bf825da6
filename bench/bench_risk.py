"""Runtime risk: what the gateway's pre-trade checks cost, and how fast a breach halts a node.

Cost: the same seeded EUR/USD quotes and an EMACross on 1-second bars with short EMAs
(thousands of orders) in a low-level ``BacktestEngine``, once bare and once with the risk
guard installed and every per-order limit set (generously, so every order is checked and
let through: the same orders, the same fills). Runs in their own processes, in
``BENCH_REPEATS`` back-to-back pairs, order alternating; the headline is the median of the
pairs' ratios of ``engine.run()`` time, beside the guard's own time per order. Target:
at most 2% slower.

Breach to HALTED: a sandbox node with ``max_daily_loss`` just above the day's loss so far;
a market buy's spread cost crosses it at the fill. Measured from the fill's timestamp (the
node's clock) to an attached client holding the ``TradingStateChanged`` to HALTED, over
``BREACH_TRIALS`` trials. Target: p99 < 100 ms.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TICKS = int(os.environ.get("BENCH_TICKS", "200000"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "7"))
BREACH_TRIALS = int(os.environ.get("BENCH_BREACH_TRIALS", "30"))


def _child(n_ticks: int, with_guard: bool) -> None:
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
        starting_balances=[Money(10_000_000, USD)],
    )
    engine.add_instrument(inst)
    engine.add_data(ticks)
    engine.add_strategy(
        EMACross(
            EMACrossConfig(
                instrument_id=inst.id,
                bar_type=BarType.from_str("EUR/USD.SIM-2-SECOND-BID-INTERNAL"),
                trade_size=Decimal(100_000),
                fast_ema_period=3,
                slow_ema_period=5,
            )
        )
    )
    guard = None
    spent = [0.0]
    if with_guard:
        from engine.risk.guard import RiskGuard
        from engine.risk.limits import RiskLimits
        from engine.risk.store import RiskState

        class TimedGuard(RiskGuard):
            def _check(self, orders: list[Any]) -> str | None:
                t0 = time.thread_time()
                try:
                    return super()._check(orders)
                finally:
                    spent[0] += time.thread_time() - t0

        limits = RiskLimits(
            max_notional_per_order=Decimal(10_000_000),
            max_position_net=Decimal(10_000_000),
            max_position_gross=Decimal(10_000_000),
            max_open_orders=100_000,
            max_order_rate_per_instrument="100000/00:00:01",
        )
        guard = TimedGuard(engine.kernel, RiskState("ACTIVE", limits)).install()
    start, cpu = time.perf_counter(), time.process_time()
    engine.run()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    orders = len(engine.cache.orders())
    print(
        json.dumps(
            {
                "wall": wall,
                "cpu": cpu,
                "orders": orders,
                "checked": guard.checked if guard else 0,
                "denied": guard.denied if guard else 0,
                "guard_s": spent[0],
            }
        )
    )


def _run_child(with_guard: bool) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "child", str(TICKS), "1" if with_guard else "0"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def cost() -> None:
    ratios, guarded, bare = [], [], []
    for i in range(REPEATS):
        first = i % 2 == 0
        a = _run_child(first)
        b = _run_child(not first)
        g, n = (a, b) if first else (b, a)
        guarded.append(g)
        bare.append(n)
        ratios.append(g["wall"] / n["wall"])
    g0 = guarded[0]
    assert g0["denied"] == 0 and g0["orders"] == bare[0]["orders"], (g0, bare[0])
    per_order_us = statistics.median(g["guard_s"] / max(1, g["checked"]) * 1e6 for g in guarded)
    share = statistics.median(g["guard_s"] / g["wall"] for g in guarded)
    print(
        f"risk checks on a {TICKS:,}-tick backtest with {g0['orders']:,} orders "
        f"({g0['checked']:,} checked): {100 * (statistics.median(ratios) - 1):+.2f}% wall "
        f"(median of {REPEATS} pairs' ratios; pairs {min(ratios):.3f}-{max(ratios):.3f}); "
        f"the guard's own time {per_order_us:.1f} us an order, {100 * share:.2f}% of the run"
    )


async def _breach_trials(root: Path, trials: int) -> list[float]:
    from engine.channel import NodeClient
    from engine.config.store import ConfigStore
    from engine.demo import demo_sandbox
    from engine.host.paths import socket_path
    from engine.manager import NodeManager
    from engine.principal import Principal
    from engine.risk import service
    from engine.workspace import Workspace

    ws = Workspace(root / ".gateway").ensure()
    doc = copy.deepcopy(demo_sandbox())
    doc.update(node_id="bench-risk", strategies=[])
    doc.pop("restart", None)
    doc["data_clients"][0]["options"].update(
        rate=20, volatility_bp=0.1, start_prices={"EUR/USD.SIM": 1.1}
    )
    ConfigStore(ws).save(doc, deep=False)
    manager = NodeManager(ws)
    who = Principal("bench", "cli")
    await manager.launch("bench-risk")
    await manager.wait_state("bench-risk", {"running"}, timeout_s=40)
    await asyncio.sleep(2)  # first quotes
    client = await NodeClient.connect(socket_path(ws, "bench-risk"))
    latencies: list[float] = []
    halted: asyncio.Queue[int] = asyncio.Queue()
    fills: asyncio.Queue[int] = asyncio.Queue()

    async def consume() -> None:
        async for batch in client.events(after_seq=client.host_last_seq):
            now = time.time_ns()
            for env in batch:
                if env.type == "TradingStateChanged" and "HALTED" in str(env.payload):
                    halted.put_nowait(now)
                elif env.type == "OrderFilled":
                    fills.put_nowait(int(env.payload.get("ts_event") or env.ts_ns))

    consumer = asyncio.create_task(consume())
    try:
        for _ in range(trials):
            # Flat and ACTIVE, then a limit a quarter of a spread beyond today's loss: the
            # next buy's spread cost crosses it at its fill.
            await service.set_limits(ws, "bench-risk", {"max_daily_loss": "none"}, who)
            await service.set_state(ws, "bench-risk", "ACTIVE", who)
            net = Decimal(str((await service.show(ws, "bench-risk")).usage.get("positions", {})
                              .get("EUR/USD.SIM", "0")))  # fmt: skip
            if net:
                side = "SELL" if net > 0 else "BUY"
                close = {"type": "MARKET", "instrument_id": "EUR/USD.SIM", "side": side,
                         "quantity": str(abs(net))}  # fmt: skip
                await manager.command(
                    "bench-risk", "order", command={"action": "submit", "ticket": close}
                )
                await asyncio.wait_for(fills.get(), 10)
            shown = await service.show(ws, "bench-risk")
            loss = -Decimal(str((shown.usage.get("daily_pnl") or {}).get("USD", "0")))
            market = await manager.command("bench-risk", "market", instrument_id="EUR/USD.SIM")
            quote = market["quote"]
            cost = (Decimal(str(quote["ask"])) - Decimal(str(quote["bid"]))) * 100_000
            limit = max(loss, Decimal(0)) + cost / 4
            await service.set_limits(ws, "bench-risk", {"max_daily_loss": str(limit)}, who)
            ticket = {"type": "MARKET", "instrument_id": "EUR/USD.SIM", "side": "BUY",
                      "quantity": "100000"}  # fmt: skip
            await manager.command(
                "bench-risk", "order", command={"action": "submit", "ticket": ticket}
            )
            fill_ns = await asyncio.wait_for(fills.get(), 10)
            halt_ns = await asyncio.wait_for(halted.get(), 10)
            latencies.append((halt_ns - fill_ns) / 1e6)
    finally:
        consumer.cancel()
        await client.close()
        await manager.stop("bench-risk", kill=True)
    return latencies


def breach() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        lat = sorted(asyncio.run(_breach_trials(Path(tmp), BREACH_TRIALS)))
    p99 = lat[min(len(lat) - 1, round(0.99 * (len(lat) - 1)))]
    print(
        f"breach (a fill crossing max_daily_loss) to HALTED held by a client, {len(lat)} trials: "
        f"p50 {statistics.median(lat):.1f} ms, p99 {p99:.1f} ms, worst {lat[-1]:.1f} ms"
    )


def main() -> None:
    cost()
    breach()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        _child(int(sys.argv[2]), sys.argv[3] == "1")
    else:
        main()
