"""Cost of write-through persistence on a sandbox node's order rate (issue 19).

A sandbox node (offline random-walk feed at full speed, Nautilus sandbox execution) whose
strategy sends a market order every 2 quotes, run with its cache in memory and with its
cache written through to the workspace's own redis-server (``appendfsync everysec``, the
gateway's setting, and ``always``). Runs are paired back to back (memory, then Redis) in
fresh processes; the figure is the median of the pairs' ratios, with their spread.

Run: ``python -m bench.bench_persistence`` (or ``make bench``).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SECONDS = 5.0
PAIRS = 5
ORDER_EVERY = 2
ARMS = ("memory", "everysec", "always")
CHILD = [sys.executable, "-m", "bench.bench_persistence", "--child"]


async def measure(arm: str, seconds: float, root: Path) -> dict[str, Any]:
    """Run one sandbox node for ``seconds``; its filled orders per second."""
    from nautilus_trader.config import LoggingConfig

    from bench.bench_feed import FeedBench, node_doc
    from engine.config.nautilus_build import trading_node_parts
    from engine.config.validate import validate_node
    from engine.feed.trading import build_trading_node, start_trading_node, stop_trading_node
    from engine.state.redis_server import ensure_workspace_redis
    from engine.state.target import cache_config
    from engine.workspace import Workspace

    workspace = Workspace(root).ensure()
    config = validate_node(node_doc(ORDER_EVERY), workspace).raise_for_errors("bench")
    target = None if arm == "memory" else ensure_workspace_redis(workspace, appendfsync=arm)
    parts = trading_node_parts(
        config,
        workspace,
        logging=LoggingConfig(log_level="ERROR"),
        cache=cache_config(target) if target else None,
    )
    loop = asyncio.get_running_loop()
    node = build_trading_node(parts, loop, timeout_post_stop=0.5)
    task = await start_trading_node(node)
    strategy: FeedBench = node.trader.strategies()[0]
    cache = node.kernel.cache
    await asyncio.sleep(1.0)  # warm up
    n0, t0 = len(cache.orders_closed()), time.perf_counter()
    cpu0 = time.process_time()
    await asyncio.sleep(seconds)
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    orders = len(cache.orders_closed()) - n0
    total = len(cache.orders())
    await stop_trading_node(node, task)
    stored = None
    if target is not None:
        await asyncio.sleep(0.5)  # let the last writes land
        client = target.client()
        stored = sum(1 for _ in client.scan_iter(match="trader-*:orders:*", count=1000))
        client.shutdown(nosave=True)
    return {
        "arm": arm,
        "orders_per_s": orders / elapsed,
        "quotes_per_s": strategy.quotes / (elapsed + 1.0),
        "cpu_share": cpu / elapsed,
        "orders": total,
        "orders_in_redis": stored,
    }


def child(arm: str, seconds: float, root: Path) -> None:
    from engine.feed.trading import new_event_loop

    loop = new_event_loop()
    result = loop.run_until_complete(measure(arm, seconds, root))
    loop.close()
    print(json.dumps(result), flush=True)


def run_child(arm: str, seconds: float = SECONDS) -> dict[str, Any]:
    """Measure in a fresh process: one Nautilus kernel per process. Its workspace is made
    here, so its redis-server is stopped even if the child is killed."""
    from engine.state.redis_server import stop_workspace_redis
    from engine.workspace import Workspace

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        try:
            proc = subprocess.run(
                [*CHILD, arm, str(seconds), str(root)],
                capture_output=True,
                text=True,
                check=True,
                timeout=seconds + 300,
            )
        finally:
            stop_workspace_redis(Workspace(root))
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main(pairs: int = PAIRS) -> None:
    print(
        f"sandbox node, a market order every {ORDER_EVERY} quotes, {SECONDS:.0f} s each, "
        f"{pairs} rounds of {', '.join(ARMS)} back to back"
    )
    runs: dict[str, list[dict[str, Any]]] = {arm: [] for arm in ARMS}
    for i in range(pairs):
        for arm in ARMS:
            r = run_child(arm)
            runs[arm].append(r)
            stored = "" if r["orders_in_redis"] is None else f", {r['orders_in_redis']} in Redis"
            print(
                f"  round {i + 1} {arm:<9} {r['orders_per_s']:>8,.0f} orders/s "
                f"(cpu {r['cpu_share']:.0%}; {r['orders']} orders{stored})",
                flush=True,
            )
    # On a shared machine the node gets what CPU it can: its CPU time per order (all its
    # threads, Nautilus's Redis writer included) is the steadier measure of the cost, and
    # 1 / that is the order rate one core would sustain.
    for r in (r for arm_runs in runs.values() for r in arm_runs):
        r["cpu_ms_per_order"] = 1000 * r["cpu_share"] / max(r["orders_per_s"], 1e-9)
    base = runs["memory"]
    base_cpu = statistics.median(r["cpu_ms_per_order"] for r in base)
    print(
        f"  in memory: median {statistics.median(r['orders_per_s'] for r in base):,.0f} "
        f"orders/s; {base_cpu:.2f} ms CPU an order ({1000 / base_cpu:,.0f} orders/s a core)"
    )
    for arm in ARMS[1:]:
        pairs_ = list(zip(runs[arm], base, strict=True))
        ratios = [r["orders_per_s"] / b["orders_per_s"] for r, b in pairs_]
        cpu_ratios = [r["cpu_ms_per_order"] / b["cpu_ms_per_order"] for r, b in pairs_]
        rates = [r["orders_per_s"] for r in runs[arm]]
        cpu = statistics.median(r["cpu_ms_per_order"] for r in runs[arm])
        print(
            f"  Redis appendfsync {arm}: median {statistics.median(rates):,.0f} orders/s, "
            f"ratio to memory median {statistics.median(ratios):.3f} "
            f"(pairs {min(ratios):.3f}-{max(ratios):.3f}); {cpu:.2f} ms CPU an order "
            f"({1000 / cpu:,.0f} orders/s a core), CPU ratio median "
            f"{statistics.median(cpu_ratios):.3f} (pairs {min(cpu_ratios):.3f}-"
            f"{max(cpu_ratios):.3f})"
        )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], float(sys.argv[3]), Path(sys.argv[4]))
    else:
        main()
