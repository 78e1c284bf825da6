"""Events per second a sandbox node sustains with the offline feed at full speed.

Figures (issue 5): quotes per second delivered to a strategy, and order events per second
when the strategy also trades. Each run is a real TradingNode (random-walk feed at
``rate: "max"``, Nautilus sandbox execution) in its own process.

Run: ``python -m bench.bench_feed`` (or ``make bench``).
"""

from __future__ import annotations

import asyncio
import copy
import json
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.events import OrderEvent
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.trading.strategy import Strategy

SECONDS = 10.0


class FeedBenchConfig(StrategyConfig, frozen=True):  # type: ignore[misc,call-arg]
    instrument_id: InstrumentId
    order_every: int = 0  # a market order every N quotes; 0 for none
    trade_size: Decimal = Decimal(100_000)


class FeedBench(Strategy):  # type: ignore[misc]
    """Counts the quotes it receives and, optionally, flips a position every N quotes."""

    def __init__(self, config: FeedBenchConfig) -> None:
        super().__init__(config)
        self.quotes = 0
        self.order_events = 0
        self._side = OrderSide.BUY

    def on_start(self) -> None:
        self.subscribe_quote_ticks(self.config.instrument_id)

    def on_quote_tick(self, tick: QuoteTick) -> None:
        self.quotes += 1
        every = self.config.order_every
        if every and self.quotes % every == 0:
            order = self.order_factory.market(
                self.config.instrument_id,
                self._side,
                self.instrument_qty(),
            )
            self.submit_order(order)
            self._side = OrderSide.SELL if self._side is OrderSide.BUY else OrderSide.BUY

    def instrument_qty(self) -> Any:
        return self.cache.instrument(self.config.instrument_id).make_qty(self.config.trade_size)

    def on_order_event(self, event: OrderEvent) -> None:
        self.order_events += 1


def node_doc(order_every: int) -> dict[str, Any]:
    from engine.demo import demo_sandbox

    doc = copy.deepcopy(demo_sandbox())
    doc["node_id"] = "bench-feed"
    doc["strategies"] = [
        {
            "strategy_path": "bench.bench_feed:FeedBench",
            "config_path": "bench.bench_feed:FeedBenchConfig",
            "config": {"instrument_id": "EUR/USD.SIM", "order_every": order_every},
        }
    ]
    doc["data_clients"][0]["options"]["rate"] = "max"
    # Orders at this rate would be denied by the default 100/s submit limit.
    doc["risk"] = {"max_order_submit_rate": "100000/00:00:01"}
    return doc


async def measure(order_every: int, seconds: float, root: Path) -> dict[str, Any]:
    """Run one sandbox node for ``seconds`` and return its rates."""
    from nautilus_trader.config import LoggingConfig

    from engine.config.nautilus_build import trading_node_parts
    from engine.config.validate import validate_node
    from engine.feed.trading import build_trading_node, start_trading_node, stop_trading_node
    from engine.workspace import Workspace

    workspace = Workspace(root).ensure()
    config = validate_node(node_doc(order_every), workspace).raise_for_errors("bench")
    parts = trading_node_parts(config, workspace, logging=LoggingConfig(log_level="ERROR"))
    loop = asyncio.get_running_loop()
    t0 = time.perf_counter()
    node = build_trading_node(parts, loop, timeout_post_stop=0.5)
    task = await start_trading_node(node)
    launch_s = time.perf_counter() - t0
    strategy: FeedBench = node.trader.strategies()[0]
    await asyncio.sleep(1.0)  # warm up
    q0, e0, t1 = strategy.quotes, strategy.order_events, time.perf_counter()
    await asyncio.sleep(seconds)
    elapsed = time.perf_counter() - t1
    quotes, events = strategy.quotes - q0, strategy.order_events - e0
    fills = len([o for o in node.kernel.cache.orders() if o.is_closed])
    await stop_trading_node(node, task)
    return {
        "order_every": order_every,
        "build_to_running_s": round(launch_s, 3),
        "quotes_per_s": round(quotes / elapsed),
        "order_events_per_s": round(events / elapsed),
        "orders_closed": fills,
    }


def child(order_every: int, seconds: float) -> None:
    from engine.feed.trading import new_event_loop

    loop = new_event_loop()
    with tempfile.TemporaryDirectory() as tmp:
        result = loop.run_until_complete(measure(order_every, seconds, Path(tmp) / "ws"))
    loop.close()
    print(json.dumps(result), flush=True)


def run_child(order_every: int, seconds: float = SECONDS) -> dict[str, Any]:
    """Measure in a fresh process: one Nautilus kernel per process."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench.bench_feed", "--child", str(order_every), str(seconds)],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 120,
    )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    print(f"offline feed, sandbox node, random walk at full speed ({SECONDS:.0f} s each)")
    quiet = run_child(order_every=0)
    print(f"  quotes delivered to a strategy     {quiet['quotes_per_s']:>10,} /s")
    trading = run_child(order_every=10)
    print(
        f"  with a market order every 10 quotes {trading['quotes_per_s']:>9,} quotes/s, "
        f"{trading['order_events_per_s']:,} order events/s "
        f"({trading['orders_closed']:,} orders filled)"
    )
    print(f"  build to running                   {quiet['build_to_running_s']:>10.3f} s")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(int(sys.argv[2]), float(sys.argv[3]))
    else:
        main()
