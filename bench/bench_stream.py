"""Event stream figures: node host -> EventBus subscriber in another process, and journal reads.

Prints events/s from a publisher in a node-host-like process (a real HostChannel) to an
EventBus subscriber in a client process (a real NodeClient), with the count checked (none
lost, seqs contiguous), the client's RSS before and after, and events/s reading the
journal back. The stream runs ``BENCH_REPEATS`` times (3), each with a fresh host, client
and journal; the headline is the median, with every run printed (this machine's speed
drifts by 10-40% within minutes). Target: >= 100k events/s both ways, memory bounded.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

N_EVENTS = 500_000
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
REPO = Path(__file__).resolve().parents[1]

# The publisher: a HostChannel in its own process, publishing OrderFilled-sized events.
HOST = r"""
import sys, time
from pathlib import Path
from engine.channel import HostChannel
from engine.journal import JournalWriter

run_dir, sock, n = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
journal = JournalWriter(run_dir, "bench-node", "run-1")
channel = HostChannel(sock, journal)
channel.start()
print("ready", flush=True)
sys.stdin.readline()
payload = {
    "trader_id": "TRADER-001", "strategy_id": "EMACross-000", "instrument_id": "EUR/USD.SIM",
    "client_order_id": "O-20261125-000000-001-000-1", "venue_order_id": "SIM-1-001",
    "trade_id": "SIM-1-001", "order_side": "BUY", "order_type": "MARKET",
    "last_qty": "100000", "last_px": "1.10002", "currency": "USD", "commission": "2.20 USD",
    "liquidity_side": "TAKER",
}
start = time.time()
publish = channel.publish
for i in range(n):
    publish("order", "OrderFilled", payload)
elapsed = time.time() - start
print(start, elapsed, flush=True)
channel.close()
journal.close()
"""

# The client: NodeClient -> EventBus -> one subscriber, as in the console's process.
CLIENT = r"""
import asyncio, json, sys, time
from pathlib import Path
import psutil
from engine.bus import EventBus, Gap
from engine.channel import NodeClient

async def main():
    proc = psutil.Process()
    rss_before = proc.memory_info().rss
    bus = EventBus(max_queue=50_000)
    sub = bus.subscribe("bench")
    client = await NodeClient.connect(Path(sys.argv[1]))
    print("connected", flush=True)
    received = 0
    gaps = 0
    expected = 1
    rss_peak = rss_before
    first_t = last_t = None
    done = asyncio.Event()

    async def consume():
        nonlocal received, gaps, expected, rss_peak
        while not done.is_set() or len(sub):
            items = await sub.get_batch(timeout=0.1)
            for item in items:
                if isinstance(item, Gap):
                    gaps += item.count
                    expected = item.last_seq + 1
                else:
                    if item.seq != expected:
                        raise SystemExit(f"seq {item.seq}, expected {expected}")
                    expected += 1
                    received += 1
            if items:
                rss_peak = max(rss_peak, proc.memory_info().rss)

    consumer = asyncio.create_task(consume())
    async for batch in client.events(0):
        if first_t is None:
            first_t = time.time()
        bus.publish(batch)
        await asyncio.sleep(0)  # let the subscriber run, as a UI timer would
    last_t = time.time()
    done.set()
    await consumer
    rss_after = proc.memory_info().rss
    print(json.dumps({
        "received": received, "gaps": gaps, "first_t": first_t, "last_t": last_t,
        "rss_before": rss_before, "rss_peak": rss_peak, "rss_after": rss_after,
        "ended_cleanly": client.ended_cleanly, "dropped": sub.dropped,
    }), flush=True)
    await client.close()

asyncio.run(main())
"""


def _stream(tmp: Path, n: int) -> tuple[Path, float, float]:
    """One host -> client stream of ``n`` events; return the run dir and both rates."""
    run_dir = tmp / "runs" / "bench-node" / "run-1"
    sock = tmp / "run" / "bench-node.sock"
    host = subprocess.Popen(
        [sys.executable, "-c", HOST, str(run_dir), str(sock), str(n)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=REPO, text=True,
    )  # fmt: skip
    client = None
    try:
        assert host.stdout is not None and host.stdin is not None
        if host.stdout.readline().strip() != "ready":
            raise RuntimeError("bench host did not start")
        client = subprocess.Popen(
            [sys.executable, "-c", CLIENT, str(sock)], stdout=subprocess.PIPE, cwd=REPO, text=True
        )
        assert client.stdout is not None
        if client.stdout.readline().strip() != "connected":
            raise RuntimeError("bench client did not connect")
        host.stdin.write("go\n")
        host.stdin.flush()
        start_s, publish_s = (float(x) for x in host.stdout.readline().split())
        out, _ = client.communicate(timeout=120)
        host.wait(30)
    finally:
        for proc in (host, client):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
    res = json.loads(out)
    lost = n - res["received"]
    total_s = res["last_t"] - start_s
    mib = 1024 * 1024
    print(
        f"  run: publisher alone {n / publish_s:,.0f} events/s; to the subscriber "
        f"{n / total_s:,.0f} events/s ({n:,} in {total_s:.2f} s; received {res['received']:,}, "
        f"lost {lost}, gaps {res['gaps']}, ended cleanly: {res['ended_cleanly']}); client RSS "
        f"{res['rss_before'] / mib:.1f} MiB before, peak {res['rss_peak'] / mib:.1f}, "
        f"after {res['rss_after'] / mib:.1f}"
    )
    if lost or res["gaps"] or not res["ended_cleanly"]:
        raise RuntimeError(f"events lost: {lost}, gaps: {res['gaps']}")
    return run_dir, n / publish_s, n / total_s


def _journal(run_dir: Path, n: int) -> None:
    from engine.journal import JournalReader

    start = time.perf_counter()
    events = JournalReader(run_dir).read()
    full_s = time.perf_counter() - start
    assert len(events) == n and events[-1].seq == n
    del events
    start = time.perf_counter()
    count = sum(1 for _ in JournalReader(run_dir).iter_after(0))
    iter_s = time.perf_counter() - start
    assert count == n
    start = time.perf_counter()
    tail = JournalReader(run_dir).read(after_seq=n - 1000)
    tail_ms = (time.perf_counter() - start) * 1000
    assert len(tail) == 1000
    size = (run_dir / "events.journal").stat().st_size
    print(f"journal read():         {n / full_s:12,.0f} events/s ({size / n:.0f} bytes/event)")
    print(f"journal iter_after(0):  {n / iter_s:12,.0f} events/s")
    print(f"journal last 1000 of {n:,} from a fresh reader: {tail_ms:.1f} ms")


def _cpu_reference() -> None:
    # The machine is shared: a fixed pure-Python loop shows how much CPU this run got
    # (about 0.04 s on an idle modern core), so figures from different runs compare.
    start = time.perf_counter()
    total = 0
    for i in range(1_000_000):
        total += i
    print(f"cpu reference (1M-step Python loop): {time.perf_counter() - start:.3f} s")


def main() -> None:
    """Print the event stream figures."""
    _cpu_reference()
    with tempfile.TemporaryDirectory(prefix="bench-stream-") as tmp:
        runs = [_stream(Path(tmp) / f"r{i}", N_EVENTS) for i in range(REPEATS)]
        publish = [r[1] for r in runs]
        streamed = [r[2] for r in runs]
        print(
            f"publisher alone (journal + fan-out): {statistics.median(publish):12,.0f} events/s "
            f"(median of {REPEATS}; {min(publish):,.0f}-{max(publish):,.0f})"
        )
        print(
            f"host -> client EventBus subscriber:  {statistics.median(streamed):12,.0f} events/s "
            f"(median of {REPEATS}; {min(streamed):,.0f}-{max(streamed):,.0f}); "
            "none lost, no gaps"
        )
        _journal(runs[-1][0], N_EVENTS)


if __name__ == "__main__":
    main()
