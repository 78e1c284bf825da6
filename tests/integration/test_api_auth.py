"""Who may call what: every endpoint with no token, a revoked one, each scope, a token
limited to other nodes; a rate limit per token (429 with Retry-After)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from engine.config.store import ConfigStore
from engine.demo import demo_backtest, demo_sandbox
from engine.journal import JournalWriter
from engine.runs import Run
from engine.services.tokens import TokenStore
from engine.workspace import Workspace
from tests.integration.api_support import ADMIN, Server, journaled_run, running_server

pytestmark = pytest.mark.timeout(180)
NODE = "demo-sandbox"
GHOST = "ghost-node"


def _workspace(tmp: Path) -> tuple[Workspace, Run]:
    ws = Workspace(tmp / ".gateway").ensure()
    store = ConfigStore(ws)
    store.save(demo_sandbox(), deep=False)
    store.save(demo_backtest(), deep=False)
    run = journaled_run(ws, NODE, 20, mode="sandbox")
    writer = JournalWriter(run.path, NODE, run.run_id)
    sample = {"schema": 1, "reason": "interval", "ts_ns": 1_700_000_000_000_000_000}
    writer.append("metric", "MetricsSample", sample, 21)
    writer.append("alert", "AlertRaised", {"alert_id": f"{NODE}:r:p", "rule": "r"}, 22)
    writer.close()
    return ws, run


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Run, dict[str, str]]]:
    ws, run = _workspace(tmp_path_factory.mktemp("auth"))
    with running_server(ws) as server:
        tokens = {
            "read": server.token("t-read", "read"),
            "trade": server.token("t-trade", "trade"),
            "admin": server.token("t-admin", "admin"),
            "other": server.token("t-other", "read,trade,admin", nodes=["demo-backtest"]),
            "revoked": server.token("t-revoked", "read,trade,admin"),
        }
        TokenStore(ws).revoke(ADMIN, "t-revoked")
        yield server, run, tokens


ORDER = {"command": {"action": "submit"}, "idempotency_key": "k-1"}
ACTION = {"command": {"action": "cancel", "client_order_id": "O-1"}}
CHECK = {"ticket": {"type": "MARKET", "instrument_id": "X.Y", "side": "BUY", "quantity": "1"}}


def _endpoints(run_id: str) -> list[tuple[str, str, str, dict[str, Any] | None, int, int]]:
    """(method, path, scope, json body, status with the scope, status for the other token)."""
    return [
        ("GET", "/nodes", "read", None, 200, 200),
        ("GET", f"/nodes/{NODE}", "read", None, 200, 403),
        ("GET", "/schema/node", "read", None, 200, 200),
        ("POST", "/validate/node", "read", {}, 200, 200),
        ("GET", "/ps", "read", None, 200, 200),
        ("GET", "/runs", "read", None, 200, 200),
        ("GET", f"/runs/{run_id}", "read", None, 200, 403),
        ("GET", f"/runs/{run_id}/results", "read", None, 200, 403),
        ("GET", f"/runs/{run_id}/events", "read", None, 200, 403),
        ("GET", f"/nodes/{NODE}/metrics", "read", None, 200, 403),
        ("GET", f"/nodes/{NODE}/orders", "read", None, 200, 403),
        ("GET", f"/nodes/{GHOST}/positions", "read", None, 409, 403),
        ("GET", "/alerts", "read", None, 200, 200),
        ("GET", f"/alerts?node_id={NODE}", "read", None, 200, 403),
        ("GET", "/metrics", "read", None, 200, 403),
        ("POST", "/nodes", "admin", {"node_id": GHOST}, 422, 403),
        ("PUT", f"/nodes/{GHOST}?mode=sandbox", "admin", {}, 404, 403),
        ("DELETE", f"/nodes/{GHOST}", "admin", None, 404, 403),
        ("GET", "/audit", "admin", None, 200, 403),
        ("GET", "/audit/verify", "admin", None, 200, 403),
        ("POST", f"/nodes/{GHOST}/launch", "trade", None, 404, 403),
        ("POST", f"/nodes/{GHOST}/stop", "trade", None, 409, 403),
        ("POST", f"/nodes/{GHOST}/restart", "trade", None, 404, 403),
        ("POST", f"/nodes/{GHOST}/orders", "trade", ORDER, 409, 403),
        ("POST", f"/nodes/{GHOST}/orders/actions", "trade", ACTION, 409, 403),
        ("POST", f"/nodes/{GHOST}/orders/dry-run", "read", CHECK, 200, 403),
        ("GET", f"/nodes/{GHOST}/state", "read", None, 404, 403),
        ("GET", f"/nodes/{GHOST}/reconciliation", "read", None, 404, 403),
        ("POST", f"/nodes/{GHOST}/reconciliation/accept-venue", "admin", None, 404, 403),
        ("GET", f"/nodes/{GHOST}/risk", "read", None, 200, 403),
        (
            "PUT",
            f"/nodes/{GHOST}/risk/limits",
            "admin",
            {"limits": {"max_open_orders": 5}},
            409,
            403,
        ),
        ("POST", f"/nodes/{GHOST}/risk/state", "admin", {"trading_state": "HALTED"}, 409, 403),
        ("POST", "/risk/kill-switch", "admin", {"flatten": False}, 200, 403),
        ("GET", "/adapters", "read", None, 200, 403),
        ("GET", "/adapters/ghost", "read", None, 404, 403),
        ("DELETE", "/adapters/ghost", "admin", None, 404, 403),
        ("POST", "/adapters/ghost/test", "admin", None, 404, 403),
    ]


def _call(server: Server, method: str, path: str, body: Any, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.request(method, server.url + path, json=body, headers=headers, timeout=60)


def test_every_endpoint_checks_the_token_its_scope_and_its_nodes(
    setup: tuple[Server, Run, dict[str, str]],
) -> None:
    server, run, tokens = setup
    endpoints = _endpoints(run.run_id)
    documented = json.loads(httpx.get(server.url + "/openapi.json").text)["paths"]
    # Every REST route of the schema is in the matrix (a new one must be added here).
    covered = {path.split("?")[0] for _, path, *_ in endpoints}
    for path in documented:
        if path != "/healthz":
            concrete = (
                path.replace(
                    "{node_id}", NODE if "metrics" in path or path == "/nodes/{node_id}" else GHOST
                )
                .replace("{run_id}", run.run_id)
                .replace("{name}", "ghost")
            )
            assert concrete in covered or path.replace("{node_id}", GHOST) in covered, path
    failures = []
    for method, path, scope, body, ok_status, other_status in endpoints:
        expect = {
            None: 401,
            "revoked": 401,
            "read": ok_status if scope == "read" else 403,
            "trade": ok_status if scope == "trade" else 403,
            "admin": ok_status if scope == "admin" else 403,
            "other": other_status,
        }
        for who, status in expect.items():
            response = _call(server, method, path, body, tokens[who] if who else None)
            if response.status_code != status:
                failures.append(f"{method} {path} as {who}: {response.status_code} != {status}")
                continue
            if status >= 400:
                error = response.json()
                assert set(error) >= {"code", "field", "value", "expected", "message"}, error
                if status == 401:
                    assert response.headers["www-authenticate"] == "Bearer"
    assert not failures, "\n".join(failures)


def test_a_token_limited_to_other_nodes_lists_none_of_this_one(
    setup: tuple[Server, Run, dict[str, str]],
) -> None:
    server, _run, tokens = setup
    for path in ("/nodes", "/runs", "/ps?all=true", "/alerts"):
        full = _call(server, "GET", path, None, tokens["read"]).json()
        limited = _call(server, "GET", path, None, tokens["other"]).json()
        assert any(row["node_id"] == NODE for row in full), path
        assert all(row["node_id"] == "demo-backtest" for row in limited), (path, limited)


def test_prometheus_metrics_are_served_by_the_api(
    setup: tuple[Server, Run, dict[str, str]],
) -> None:
    server, _run, tokens = setup
    line = 'gateway_sample_timestamp_seconds{node="demo-sandbox"} 1.7e+09'
    deadline = time.monotonic() + 20  # the feed reads the journals every second
    while True:
        body = _call(server, "GET", "/metrics", None, tokens["read"]).text
        if line in body or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert line in body, body[:2000]


def test_the_event_stream_checks_the_token_too(
    setup: tuple[Server, Run, dict[str, str]],
) -> None:
    server, _run, tokens = setup
    url = server.url.replace("http", "ws") + f"/ws/events?nodes={NODE}&from_seq=0"

    async def first(token: str | None) -> tuple[dict[str, Any], int | None]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with websockets.connect(url, additional_headers=headers) as ws:
            message = json.loads(await ws.recv())
            if message["type"] == "error":
                with pytest.raises(websockets.ConnectionClosed):
                    await ws.recv()
                return message, ws.close_code
            return message, None

    for who, code in ((None, 4401), ("revoked", 4401), ("trade", 4403), ("other", 4403)):
        message, close = asyncio.run(first(tokens[who] if who else None))
        assert (message["type"], close) == ("error", code), (who, message)
    message, close = asyncio.run(first(tokens["read"]))
    assert message["type"] == "events" and message["events"][0]["seq"] == 1


def test_a_token_over_its_rate_gets_429_with_retry_after(tmp_path: Path) -> None:
    ws, _run = _workspace(tmp_path)
    with running_server(ws, rate=2) as server:
        token = server.token("slow", "read")
        statuses = []
        for _ in range(12):
            response = _call(server, "GET", "/nodes", None, token)
            statuses.append(response.status_code)
            if response.status_code == 429:
                assert int(response.headers["retry-after"]) >= 1
                assert response.json()["code"] == "rate_limited"
        assert statuses[:4] == [200] * 4, statuses  # the burst (twice the rate)
        assert 429 in statuses, statuses
        other = server.token("other", "read")  # one token's limit is its own
        assert _call(server, "GET", "/nodes", None, other).status_code == 200


def test_the_schema_and_docs_page_need_no_token(
    setup: tuple[Server, Run, dict[str, str]],
) -> None:
    server, _run, _tokens = setup
    schema = _call(server, "GET", "/openapi.json", None, None)
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/nodes", "/nodes/{node_id}/launch", "/runs/{run_id}/events", "/audit"} <= set(paths)
    assert schema.json()["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    docs = _call(server, "GET", "/docs", None, None)
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
