"""API figure: ``POST /nodes/{id}/orders`` at 200 requests/s to a sandbox node.

A real ``gateway serve`` process on a free loopback port and a temp workspace with one
sandbox node (the demo sandbox config with no strategies and a quiet offline feed),
launched through the API and running, and a token with the ``read`` and ``trade`` scopes.
An open-loop schedule of ``BENCH_API_RATE`` (200) requests/s submits ``BENCH_API_ORDERS``
(2,000) orders, each with its own idempotency key, on ``BENCH_API_CONNECTIONS`` (4)
keep-alive connections (an HTTP client's pool; request i goes out at start + i/rate on the
first free one, and its latency counts from that planned start, so a stall or a wait for a
connection counts against every request it delays). ``BENCH_API_ORDERS_KIND``: ``market``
(default) alternates market buys and sells, each filled at once, so the node's book stays
flat as a trading strategy's would; ``resting`` sends limit buys far below the market and
leaves them all working. Target: p99 < 20 ms.

The API answers with the node's reply (the order's client order id: the node took it and
sent it on), so the bench also times each order from its planned start to its first
``OrderAccepted`` or ``OrderFilled`` in the node's journal (the host's wall clock). Any
reply that is not ``ok`` with one id, or any order refused or never accepted, fails it.
Afterwards it reads ``GET /nodes/{id}/orders``: exactly the orders submitted (none lost,
none doubled), all filled and the position flat again (market), or all canceled through
the API (resting). Load average, CPU steal and each process's CPU per request are printed.

What this found (2026-12-07): the server's concurrent commands queued on the audit log's
file lock, whose waiters poll every 50 ms (now a thread lock first, then the file lock
polled every 1 ms); and every submit asked the node for its market before sending, to value
the notional: a second round trip, and under load a slow answer made a small order "of
unknown notional" and refused it (the node now checks the notional itself as it sends).
"""

from __future__ import annotations

import copy
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.bench_api import _serve, _settle, _wait_up

RATE = int(os.environ.get("BENCH_API_RATE", "200"))
REQUESTS = int(os.environ.get("BENCH_API_ORDERS", "2000"))
# Connections the client keeps open (a script's or an agent's HTTP pool); with one, every
# request waits for the one before it, so 200/s needs each round trip under 5 ms.
CONNECTIONS = int(os.environ.get("BENCH_API_CONNECTIONS", "4"))
# "market": market orders alternately buying and selling (filled at once: the node's book
# stays flat, as a trading strategy's would); "resting": limit buys far below the market,
# all left working (Nautilus's cost per order grows with the orders resting).
KIND = os.environ.get("BENCH_API_ORDERS_KIND", "market")
WARMUP = 10  # submits before the clock starts (connections, the server's first imports)
NODE = "bench-api-orders"
IID = "EUR/USD.SIM"
RESTING = {
    "type": "LIMIT",
    "instrument_id": IID,
    "side": "BUY",
    "quantity": "1000",
    "price": "1.05000",  # the feed walks around 1.1 by 0.5 bp steps: it rests
    "time_in_force": "GTC",
}


def _ticket(i: int) -> dict[str, Any]:
    if KIND == "resting":
        return RESTING
    side = "BUY" if i % 2 == 0 else "SELL"
    return {"type": "MARKET", "instrument_id": IID, "side": side, "quantity": "1000"}


@dataclass
class Timed:
    """The timed submits: seconds from each planned start to the reply and to the order's
    ``OrderAccepted``, the client order ids (in request order) and the machine's state."""

    reply_s: list[float]
    accepted_s: list[float]
    ids: list[str]
    warm_ids: list[str]
    load: tuple[float, float]
    steal_s: float
    busy: float
    wall_s: float
    cpu_ms: dict[str, float]  # CPU ms per request of the server, the node host, this client
    node_quarters: list[float]  # the node's CPU ms per request in each quarter of the run


def _workspace(root: Path) -> tuple[str, str]:
    """The sandbox node's config and a read+trade token; returns (workspace, token)."""
    from engine.config.store import ConfigStore
    from engine.demo import demo_sandbox
    from engine.principal import Principal
    from engine.services.tokens import TokenStore
    from engine.workspace import Workspace

    ws = Workspace(root / ".gateway").ensure()
    doc = copy.deepcopy(demo_sandbox())
    doc.update(node_id=NODE, strategies=[])
    doc.pop("restart", None)
    doc["data_clients"][0]["options"].update(rate=20, volatility_bp=0.5, start_prices={IID: 1.1})
    # 200/s is above Nautilus's default 100 submits/s, and a stall's catch-up goes faster.
    doc["risk"] = {"max_order_submit_rate": "100000/00:00:01"}
    ConfigStore(ws).save(doc, deep=False)
    token = TokenStore(ws).create(Principal("bench", "cli"), "bench", ["read", "trade"])
    return str(ws.root), token


def _cpu_times() -> tuple[float, float, float]:
    """Machine-wide CPU seconds since boot: (all, idle + iowait, steal)."""
    with open("/proc/stat") as fh:
        fields = [int(f) for f in fh.readline().split()[1:9]]
    tick = os.sysconf("SC_CLK_TCK")
    return sum(fields) / tick, (fields[3] + fields[4]) / tick, fields[7] / tick


def _launch(gw: Any, workspace: str) -> str:
    """Launch the node through the API; return its run id once its feed has quoted."""
    from engine.workspace import Workspace
    from tests.integration.market_wait import wait_for_quotes

    run_id = str(gw.launch(NODE).run_id)
    deadline = time.monotonic() + 90
    while (state := gw.run(run_id).state) != "running":
        if state in ("failed", "stopped", "completed") or time.monotonic() > deadline:
            raise RuntimeError(f"node {NODE} did not start: {gw.run(run_id)}")
        time.sleep(0.2)
    wait_for_quotes(Workspace(Path(workspace)).runs_dir / NODE / run_id)
    return run_id


class _Connection:
    """One keep-alive HTTP/1.1 connection (http.client: the client's own CPU per request is
    a fraction of httpx's async pool, which with a backlog costs more than the server)."""

    def __init__(self, url: str, token: str) -> None:
        import http.client
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port, timeout=60
        )
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def submit(self, key: str, i: int) -> tuple[str | None, str]:
        """One submit: its client order id, or None and what the API answered instead."""
        import json

        body = {"command": {"action": "submit", "ticket": _ticket(i)}, "idempotency_key": key}
        try:
            self.conn.request("POST", f"/nodes/{NODE}/orders", json.dumps(body), self.headers)
            response = self.conn.getresponse()
            text = response.read().decode()
        except OSError as exc:
            self.conn.close()
            return None, f"{key}: {exc!r}"
        reply = json.loads(text).get("reply") if response.status == 200 else None
        ids = (reply or {}).get("client_order_ids") or []
        if reply is None or reply.get("ok") is not True or len(ids) != 1:
            return None, f"{key}: {response.status} {text[:300]}"
        return str(ids[0]), ""

    def close(self) -> None:
        self.conn.close()


def _accepted_ns(gw: Any, run_id: str) -> tuple[dict[str, int], dict[str, str]]:
    """From the run's journal: each order's OrderAccepted wall time, and any other verdict
    (OrderDenied, OrderRejected) with its reason."""
    accepted: dict[str, int] = {}
    refused: dict[str, str] = {}
    after = 0
    while True:
        page = gw.run_events(run_id, after_seq=after, limit=10_000)
        for e in page.events:
            cid = e.payload.get("client_order_id")
            # A market order at the sandbox venue is filled without an OrderAccepted first.
            if e.type in ("OrderAccepted", "OrderFilled"):
                accepted.setdefault(cid, e.ts_ns)
            elif e.type in ("OrderDenied", "OrderRejected"):
                refused[cid] = f"{e.type}: {e.payload.get('reason')}"
        if not page.events:
            return accepted, refused
        after = page.events[-1].seq


def _process_cpu(pids: dict[str, int]) -> dict[str, float]:
    import psutil

    out = {}
    for name, pid in pids.items():
        t = psutil.Process(pid).cpu_times()
        out[name] = t.user + t.system
    return out


def _timed(url: str, token: str, run_id: str, gw: Any, pids: dict[str, int]) -> Timed:
    """The open loop: request i is due at start + i/RATE and goes out on the first free
    connection (a request waiting for one counts the wait in its latency)."""
    import queue
    import threading

    reply_s: list[float] = [0.0] * REQUESTS
    ids: list[str | None] = [None] * REQUESTS
    errors: list[str] = []
    conns = [_Connection(url, token) for _ in range(CONNECTIONS)]
    warm = [conns[i % CONNECTIONS].submit(f"warm-{i}", i) for i in range(WARMUP)]
    warm_ids = [cid for cid, _ in warm if cid is not None]
    if len(warm_ids) != WARMUP:
        raise RuntimeError(f"warm-up submit refused: {next(e for c, e in warm if c is None)}")
    due: queue.SimpleQueue[int | None] = queue.SimpleQueue()
    for i in range(REQUESTS):
        due.put(i)
    for _ in conns:
        due.put(None)
    load0 = os.getloadavg()[0]
    cpu0, proc0 = _cpu_times(), _process_cpu(pids)
    start, wall0 = time.perf_counter(), time.time_ns()

    def worker(conn: _Connection) -> None:
        while (i := due.get()) is not None:
            planned = start + i / RATE
            delay = planned - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            cid, error = conn.submit(f"bench-{i}", WARMUP + i)
            reply_s[i] = time.perf_counter() - planned
            if cid is None:
                errors.append(error)
            ids[i] = cid

    threads = [threading.Thread(target=worker, args=(c,)) for c in conns]
    for t in threads:
        t.start()
    quarter = max(1, REQUESTS // 4)
    marks = [proc0["node"]]
    for q in range(1, 4):  # the node's CPU at each quarter of the schedule
        time.sleep(max(0.0, start + q * quarter / RATE - time.perf_counter()))
        marks.append(_process_cpu({"node": pids["node"]})["node"])
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    cpu1, proc1 = _cpu_times(), _process_cpu(pids)
    load1 = os.getloadavg()[0]
    marks.append(proc1["node"])
    for c in conns:
        c.close()
    sizes = [quarter] * 3 + [REQUESTS - 3 * quarter]
    node_quarters = [
        (b - a) * 1e3 / n for a, b, n in zip(marks[:-1], marks[1:], sizes, strict=True)
    ]
    if errors:
        raise RuntimeError(f"{len(errors)} of {REQUESTS} submits not taken, e.g. {errors[0]}")
    sent = [cid for cid in ids if cid is not None]
    # The verdicts follow the replies: wait for every order's.
    deadline = time.monotonic() + 30
    while True:
        accepted, refused = _accepted_ns(gw, run_id)
        if refused:
            first = next(iter(refused.items()))
            raise RuntimeError(f"{len(refused)} orders refused, e.g. {first}")
        if all(i in accepted for i in sent):
            break
        if time.monotonic() > deadline:
            missing = [i for i in sent if i not in accepted]
            raise RuntimeError(f"{len(missing)} orders never accepted, e.g. {missing[:3]}")
        time.sleep(0.5)
    accepted_s = [(accepted[cid] - (wall0 + i * 1e9 / RATE)) / 1e9 for i, cid in enumerate(sent)]
    total = cpu1[0] - cpu0[0]
    busy = 1 - (cpu1[1] - cpu0[1]) / total if total > 0 else 0.0
    per_request = {k: (proc1[k] - proc0[k]) * 1e3 / REQUESTS for k in pids}
    return Timed(
        reply_s,
        accepted_s,
        sent,
        warm_ids,
        (load0, load1),
        cpu1[2] - cpu0[2],
        busy,
        wall,
        per_request,
        node_quarters,
    )


def _check_outcome(gw: Any, ids: list[str]) -> int:
    """At the node: exactly the orders sent, once each; resting ones all canceled through
    the API, market ones all filled and the position flat again."""
    if KIND == "resting":
        outcome = gw.order_action(NODE, {"action": "cancel_all"}, timeout_s=120)
        if not outcome.ok:
            raise RuntimeError(f"cancel all: {str(outcome.outcome)[:500]}")
    rows = gw.orders(NODE).orders
    seen = [r.client_order_id for r in rows]
    if len(seen) != len(set(seen)) or set(seen) != set(ids) or len(ids) != len(set(ids)):
        raise RuntimeError(
            f"orders at the node: {len(seen)} ({len(set(seen))} distinct), "
            f"sent {len(ids)} ({len(set(ids))} distinct)"
        )
    final = "CANCELED" if KIND == "resting" else "FILLED"
    other = [(r.client_order_id, r.status) for r in rows if r.status != final]
    if other:
        raise RuntimeError(f"{len(other)} orders not {final}, e.g. {other[:3]}")
    if KIND != "resting" and gw.positions(NODE).positions:
        raise RuntimeError(f"not flat after {len(ids)} alternating market orders")
    return len(rows)


def _quantiles(values: list[float]) -> tuple[float, float, float]:
    """p50, p99 and max in milliseconds."""
    s = sorted(values)
    return statistics.median(s) * 1e3, s[int(0.99 * (len(s) - 1))] * 1e3, s[-1] * 1e3


def main() -> dict[str, float]:
    """Run the benchmark; print the figures and return them (milliseconds)."""
    from api.client import GatewayClient
    from engine.state.redis_server import stop_workspace_redis
    from engine.workspace import Workspace
    from tests.integration.api_support import free_port

    with tempfile.TemporaryDirectory(prefix="bench-api-orders-") as tmp:
        workspace, token = _workspace(Path(tmp))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        process = _serve(workspace, port, Path(tmp) / "serve.log")
        gw = GatewayClient(url, token, timeout=180)
        try:
            _wait_up(url)
            run_id = _launch(gw, workspace)
            settled = _settle(process.pid)  # type: ignore[attr-defined]
            node_pid = next(s.pid for s in gw.ps() if s.node_id == NODE and s.pid)
            pids = {"server": process.pid, "node": node_pid, "client": os.getpid()}  # type: ignore[attr-defined]
            timed = _timed(url, token, run_id, gw, pids)
            counted = _check_outcome(gw, timed.warm_ids + timed.ids)
        finally:
            try:
                gw.stop(NODE)
            finally:
                gw.close()
                process.terminate()  # type: ignore[attr-defined]
                process.wait(15)  # type: ignore[attr-defined]
                # The node started the workspace's redis-server; it outlives the node.
                stop_workspace_redis(Workspace(Path(workspace)))
    r50, r99, rmax = _quantiles(timed.reply_s)
    a50, a99, amax = _quantiles(timed.accepted_s)
    cpus = os.cpu_count() or 1
    what = "LIMIT GTC, rests" if KIND == "resting" else "MARKET, buys and sells alternating"
    outcome = "all canceled" if KIND == "resting" else "all filled, the position flat"
    print(
        f"REST POST /nodes/{{id}}/orders ({what}) at {RATE}/s, {REQUESTS} requests "
        f"on {CONNECTIONS} connection(s): reply p50 {r50:.2f} ms, p99 {r99:.2f} ms, max "
        f"{rmax:.2f} ms (target p99 < 20 ms); to OrderAccepted journaled p50 {a50:.2f} ms, "
        f"p99 {a99:.2f} ms, max {amax:.2f} ms; {counted} orders at the node, none lost or "
        f"doubled, {outcome}"
    )
    print(
        f"  during the {timed.wall_s:.1f} s run ({REQUESTS / timed.wall_s:.0f} requests/s "
        f"sustained): load average {timed.load[0]:.2f} -> "
        f"{timed.load[1]:.2f} on {cpus} CPUs, machine {timed.busy:.0%} busy, steal "
        f"{timed.steal_s:.2f} CPU s ({timed.steal_s / (timed.wall_s * cpus):.1%}); "
        f"server idle {settled:.1f} s after the launch; CPU ms per request: "
        + ", ".join(f"{k} {v:.2f}" for k, v in timed.cpu_ms.items())
        + " (node by quarter of the run: "
        + ", ".join(f"{v:.2f}" for v in timed.node_quarters)
        + ")"
    )
    return {"reply_p50_ms": r50, "reply_p99_ms": r99, "accepted_p99_ms": a99}


if __name__ == "__main__":
    main()
