"""Run a sandbox node for a while in this process and print what it did, as JSON.

``python -m engine.feed.trial NODE.json --seconds 15`` builds the node the way a node host
does (validate deep, ``trading_node_parts``, :func:`build_trading_node`), runs it, stops
it gracefully and prints fills, positions and feed counts. Tests and benchmarks use it to
get a real kernel in its own process; it is also a quick check of a node config.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from engine.config.validate import validate_node
from engine.workspace import Workspace


async def run_trial(
    doc: dict[str, Any],
    workspace: Workspace,
    *,
    seconds: float,
    until_fills: int | None = None,
    until_replayed: bool = False,
) -> dict[str, Any]:
    """Run the node ``doc`` for up to ``seconds`` and return a summary.

    Stops early once ``until_fills`` fills happened, or (``until_replayed``) once every
    offline replay client has published all its data.
    """
    from nautilus_trader.config import LoggingConfig

    from engine.config.nautilus_build import trading_node_parts
    from engine.feed.client import OfflineMarketDataClient
    from engine.feed.trading import build_trading_node, start_trading_node, stop_trading_node

    config = validate_node(doc, workspace, deep=True).raise_for_errors("node")
    parts = trading_node_parts(config, workspace, logging=LoggingConfig(log_level="ERROR"))
    loop = asyncio.get_running_loop()
    node = build_trading_node(parts, loop, timeout_post_stop=0.5)
    fills: list[dict[str, Any]] = []
    node.kernel.msgbus.subscribe(topic="events.order.*", handler=lambda e: _on_order(e, fills))
    counts: dict[str, int] = {}

    def count(kind: str) -> Any:
        return lambda _msg: counts.__setitem__(kind, counts.get(kind, 0) + 1)

    digest = hashlib.sha256()

    def on_quote(quote: Any) -> None:
        counts["quotes"] = counts.get("quotes", 0) + 1
        digest.update(quote_key(quote).encode())

    node.kernel.msgbus.subscribe(topic="data.quotes.*", handler=on_quote)
    node.kernel.msgbus.subscribe(topic="data.trades.*", handler=count("trades"))
    node.kernel.msgbus.subscribe(topic="data.bars.*", handler=count("bars"))
    node.kernel.msgbus.subscribe(topic="events.order.*", handler=count("order_events"))
    t0 = time.perf_counter()
    task = await start_trading_node(node, timeout_s=20)
    t_running = time.perf_counter() - t0
    clients = [
        c
        for c in node.kernel.data_engine._clients.values()  # no public accessor
        if isinstance(c, OfflineMarketDataClient)
    ]
    t1 = time.perf_counter()
    while time.perf_counter() - t1 < seconds:
        if until_fills is not None and len(fills) >= until_fills:
            break
        if until_replayed and clients and all(c.finished.is_set() for c in clients):
            await asyncio.sleep(0.2)  # let the data engine drain its queue
            break
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - t1
    cache = node.kernel.cache
    summary = {
        "start_s": round(t_running, 3),
        "run_s": round(elapsed, 3),
        "fills": len(fills),
        "fill_detail": fills[:20],
        "positions": len(cache.positions()),
        "positions_open": len(cache.positions_open()),
        "orders": len(cache.orders()),
        "published": sum(c.published for c in clients),
        "counts": dict(counts),
        "quote_digest": digest.hexdigest(),
        "replay_finished": bool(clients) and all(c.finished.is_set() for c in clients),
    }
    await stop_trading_node(node, task)
    return summary


def quote_key(quote: Any) -> str:
    """What the quote digest hashes for one quote (timestamps excluded: they are restamped)."""
    return f"{quote.instrument_id}|{quote.bid_price}|{quote.ask_price};"


def _on_order(event: Any, fills: list[dict[str, Any]]) -> None:
    if type(event).__name__ == "OrderFilled":
        fills.append(
            {
                "side": str(event.order_side.name),
                "qty": str(event.last_qty),
                "px": str(event.last_px),
                "instrument_id": str(event.instrument_id),
            }
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("node", type=Path, help="node config JSON file")
    parser.add_argument("--workspace", type=Path, default=None)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--until-fills", type=int, default=None)
    parser.add_argument("--until-replayed", action="store_true")
    args = parser.parse_args(argv)
    from engine.feed.trading import new_event_loop

    doc = json.loads(args.node.read_text())
    workspace = Workspace.resolve(args.workspace)
    loop = new_event_loop()
    try:
        summary = loop.run_until_complete(
            run_trial(
                doc,
                workspace,
                seconds=args.seconds,
                until_fills=args.until_fills,
                until_replayed=args.until_replayed,
            )
        )
    finally:
        loop.close()
    sys.stdout.write(json.dumps(summary) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
