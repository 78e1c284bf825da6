"""API figures: REST latency of ``GET /nodes`` at 200 requests/s, and WebSocket events/s.

A real ``gateway serve`` process on a free loopback port, a temp workspace with the demo
node configs and a token. REST: an open-loop schedule of 200 requests/s (one keep-alive
connection, as a script or agent would hold it); each request's latency from its planned
start (so a stall counts against every request it delays); p50/p99/max. Targets: p99 <
10 ms. WebSocket: ``/ws/events`` replaying a finished run's journal of OrderFilled-sized
events to one client, then to ten at once (one process, asyncio); every client must get
every seq once and in order (0 lost). Target: >= 100k events/s to one client.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import msgspec

REST_RATE = 200
REST_REQUESTS = int(os.environ.get("BENCH_API_REQUESTS", "2000"))
WS_EVENTS = int(os.environ.get("BENCH_API_EVENTS", "500000"))
PAYLOAD = {
    "trader_id": "TRADER-001",
    "strategy_id": "EMACross-000",
    "instrument_id": "EUR/USD.SIM",
    "client_order_id": "O-20261125-000000-001-000-1",
    "venue_order_id": "SIM-1-001",
    "trade_id": "SIM-1-001",
    "order_side": "BUY",
    "order_type": "MARKET",
    "last_qty": "100000",
    "last_px": "1.10002",
    "currency": "USD",
    "commission": "2.20 USD",
    "liquidity_side": "TAKER",
}


class _Seq(msgspec.Struct):
    seq: int


class _Message(msgspec.Struct):
    type: str
    events: list[_Seq] = []
    last_seq: int = 0


def _workspace(root: Path, events: int) -> tuple[str, str]:
    """Demo configs, a finished run of ``events`` events; returns (workspace, token)."""
    from engine.config.store import ConfigStore
    from engine.demo import demo_backtest, demo_sandbox
    from engine.journal import JournalWriter
    from engine.principal import Principal
    from engine.runs import create_run, update_meta
    from engine.services.tokens import TokenStore
    from engine.workspace import Workspace

    ws = Workspace(root / ".gateway").ensure()
    ConfigStore(ws).save(demo_sandbox(), deep=False)
    ConfigStore(ws).save(demo_backtest(), deep=False)
    run = create_run(ws, "bench-node", "backtest")
    writer = JournalWriter(run.path, "bench-node", run.run_id, autoflush=False)
    for _ in range(events):
        writer.append("order", "OrderFilled", PAYLOAD)
    writer.close()
    update_meta(run.path, state="completed", exit_code=0)
    token = TokenStore(ws).create(Principal("bench", "cli"), "bench", ["read"])
    return str(ws.root), token


def _serve(workspace: str, port: int, log: Path) -> object:
    import subprocess

    gateway = Path(sys.executable).parent / "gateway"
    out = open(log, "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [str(gateway), "-w", workspace, "serve", "--port", str(port), "--rate-limit", "1e6"],
        stdout=out,
        stderr=subprocess.STDOUT,
    )


def _wait_up(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def _settle(pid: int, limit_s: float = 120) -> float:
    """Wait until the server is idle (its metrics feed reads new journals once at start)."""
    import psutil

    proc = psutil.Process(pid)
    start = time.monotonic()
    proc.cpu_percent(None)
    quiet = 0
    while time.monotonic() - start < limit_s and quiet < 6:  # 3 s in a row below 5%
        time.sleep(0.5)
        quiet = quiet + 1 if proc.cpu_percent(None) < 5 else 0
    return time.monotonic() - start


def _rest(url: str, token: str) -> list[float]:
    latencies: list[float] = []
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as client:
        for _ in range(20):  # warm-up: connection, first imports
            client.get("/nodes").raise_for_status()
        start = time.perf_counter()
        for i in range(REST_REQUESTS):
            planned = start + i / REST_RATE
            delay = planned - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            response = client.get("/nodes")
            latencies.append(time.perf_counter() - planned)
            if response.status_code != 200 or len(response.json()) != 2:
                raise RuntimeError(f"GET /nodes: {response.status_code} {response.text[:200]}")
    return latencies


async def _client(url: str, token: str, total: int) -> float:
    import websockets

    decode = msgspec.json.Decoder(_Message).decode
    expect = 1
    async with websockets.connect(
        url.replace("http", "ws") + "/ws/events?nodes=bench-node&from_seq=0",
        additional_headers={"Authorization": f"Bearer {token}"},
        max_size=None,
        ping_interval=None,
    ) as ws:
        async for raw in ws:
            message = decode(raw)
            if message.type == "end":
                break
            if message.type != "events":
                raise RuntimeError(f"unexpected {message.type} message")
            for e in message.events:
                if e.seq != expect:
                    raise RuntimeError(f"seq {e.seq}, expected {expect}")
                expect += 1
    if expect - 1 != total:
        raise RuntimeError(f"got {expect - 1} events of {total}")
    return time.perf_counter()


async def _clients(url: str, token: str, n: int, total: int) -> float:
    start = time.perf_counter()
    ends = await asyncio.gather(*(_client(url, token, total) for _ in range(n)))
    return max(ends) - start


def main() -> None:
    from tests.integration.api_support import free_port

    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        workspace, token = _workspace(Path(tmp), WS_EVENTS)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        process = _serve(workspace, port, Path(tmp) / "serve.log")
        try:
            _wait_up(url)
            settled = _settle(process.pid)  # type: ignore[attr-defined]
            load = os.getloadavg()[0]
            print(
                f"server idle after {settled:.1f} s; "
                f"load average {load:.1f} on {os.cpu_count()} CPUs"
            )
            lat = sorted(_rest(url, token))
            p50 = statistics.median(lat) * 1e3
            p99 = lat[int(0.99 * (len(lat) - 1))] * 1e3
            print(
                f"REST GET /nodes at {REST_RATE}/s, {len(lat)} requests: p50 {p50:.2f} ms, "
                f"p99 {p99:.2f} ms, max {lat[-1] * 1e3:.2f} ms (target p99 < 10 ms)"
            )
            one = asyncio.run(_clients(url, token, 1, WS_EVENTS))
            print(
                f"WebSocket, 1 client: {WS_EVENTS} events in {one:.2f} s = "
                f"{WS_EVENTS / one:,.0f} events/s, 0 lost (target >= 100k/s)"
            )
            ten = asyncio.run(_clients(url, token, 10, WS_EVENTS))
            print(
                f"WebSocket, 10 clients: {10 * WS_EVENTS} events in {ten:.2f} s = "
                f"{10 * WS_EVENTS / ten:,.0f} events/s in all "
                f"({WS_EVENTS / ten:,.0f} each), 0 lost"
            )
        finally:
            process.terminate()  # type: ignore[attr-defined]
            process.wait(15)  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
