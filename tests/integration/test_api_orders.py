"""POST /nodes/{id}/orders on a real sandbox node: the node's reply, once per key, audited."""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.client import GatewayClient, GatewayError
from engine.config.store import ConfigStore
from engine.demo import demo_sandbox
from engine.workspace import Workspace
from tests.integration.api_support import running_server
from tests.integration.market_wait import wait_for_quotes
from tests.integration.sandbox_docs import quiet_sandbox

pytestmark = pytest.mark.timeout(180)
NODE = "api-orders"
IID = "EUR/USD.SIM"


def _submit(tag: str) -> dict[str, Any]:
    ticket = {
        "type": "LIMIT",
        "instrument_id": IID,
        "side": "BUY",
        "quantity": "10000",
        "price": "1.05000",  # far below the 1.1 market: rests
        "tags": [tag],
    }
    return {"action": "submit", "ticket": ticket}


def test_an_order_command_retried_with_its_key_acts_once(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / ".gateway").ensure()
    doc = quiet_sandbox(NODE)
    ConfigStore(ws).save(doc, deep=False)
    with running_server(ws) as server:
        gw = GatewayClient(server.url, server.token("trader-bot", "read,trade,admin"))
        with pytest.raises(GatewayError) as not_running:
            gw.send_order(NODE, _submit("early"), "key-0")
        assert not_running.value.status == 409
        launched = gw.launch(NODE)
        try:
            deadline = time.monotonic() + 40
            while gw.run(launched.run_id).state != "running":
                assert time.monotonic() < deadline, gw.run(launched.run_id)
                time.sleep(0.2)
            wait_for_quotes(Path(ws.runs_dir / NODE / launched.run_id))
            first = gw.send_order(NODE, _submit("api-1"), "key-1")
            again = gw.send_order(NODE, _submit("api-1"), "key-1")
            assert again.reply == {**first.reply, "replayed": True}  # the first run's reply
            ids = first.reply["client_order_ids"]
            assert len(ids) == 1
            with pytest.raises(GatewayError) as reused:
                gw.send_order(NODE, _submit("api-2"), "key-1")
            assert reused.value.status == 409 and reused.value.error.code == "refused"
            with pytest.raises(GatewayError) as bad_key:
                gw.send_order(NODE, _submit("api-3"), "")
            assert bad_key.value.status == 422 and bad_key.value.error.field == "idempotency_key"
            # The node holds one order for the key: read back from its journal.
            deadline = time.monotonic() + 10
            while True:
                page = gw.run_events(launched.run_id, limit=10_000)
                accepted = {
                    e.payload.get("client_order_id")
                    for e in page.events
                    if e.type == "OrderAccepted"
                }
                if ids[0] in accepted or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert accepted == {ids[0]}
            entries = gw.audit(action="orders")
            assert [(e.who, e.via, e.result["ok"]) for e in entries] == [
                ("trader-bot", "api", False),
                ("trader-bot", "api", True),
                ("trader-bot", "api", True),
                ("trader-bot", "api", False),
            ]
        finally:
            gw.stop(NODE)


def test_a_refused_order_is_an_error_the_same_as_the_cli_exit_code(tmp_path: Path) -> None:
    """Invalid at the node: 422 naming the field (the CLI exits 2); a number a float would
    change is refused, not rounded; other refusals 409 (the CLI exits 1)."""
    ws = Workspace(tmp_path / ".gateway").ensure()
    doc = quiet_sandbox(NODE)
    ConfigStore(ws).save(doc, deep=False)
    with running_server(ws) as server:
        gw = GatewayClient(server.url, server.token("trader-bot", "read,trade,admin"))
        launched = gw.launch(NODE)
        try:
            deadline = time.monotonic() + 40
            while gw.run(launched.run_id).state != "running":
                assert time.monotonic() < deadline, gw.run(launched.run_id)
                time.sleep(0.2)
            bad = _submit("bad")
            bad["ticket"]["quantity"] = "NaN"
            with pytest.raises(GatewayError) as invalid:
                gw.send_order(NODE, bad, "k-nan")
            assert invalid.value.status == 422
            assert invalid.value.error.field == "ticket.quantity"
            assert invalid.value.error.issues and "NaN" in invalid.value.error.message
            body = (
                b'{"command": {"action": "submit", "ticket": {"type": "LIMIT", "instrument_id": '
                b'"EUR/USD.SIM", "side": "BUY", "quantity": 10000.0000000000000000001, '
                b'"price": "1.05"}}, "idempotency_key": "k-lossy"}'
            )
            lossy = httpx.post(
                f"{server.url}/nodes/{NODE}/orders",
                content=body,
                headers={
                    "Authorization": f"Bearer {gw.token}",
                    "content-type": "application/json",
                },
            )
            assert lossy.status_code == 422, lossy.text
            assert lossy.json()["field"] == "ticket.quantity"
            cancel = {"action": "cancel", "client_order_id": "O-19700101-000000-001-001-1"}
            with pytest.raises(GatewayError) as unknown:
                gw.send_order(NODE, cancel, "k-cancel")
            assert unknown.value.status == 409 and unknown.value.error.code == "refused"
            orders = gw.orders(NODE)
            assert orders.orders == []  # nothing reached the node

            wait_for_quotes(Path(ws.runs_dir / NODE / launched.run_id))
            rests = gw.send_order(NODE, _submit("rests"), "k-rest", wait="accepted")
            assert rests.settled is True and rests.elapsed_ms is not None
            assert [o.status for o in rests.orders] == ["ACCEPTED"]
            # Its retry (a lost reply) waits on what already happened: at once, the same order.
            retried = gw.send_order(NODE, _submit("rests"), "k-rest", wait="accepted")
            assert retried.reply["replayed"] is True and retried.settled is True
            assert [(o.client_order_id, o.status) for o in retried.orders] == [
                (rests.orders[0].client_order_id, "ACCEPTED")
            ]
            market = {
                "action": "submit",
                "ticket": {"type": "MARKET", "instrument_id": IID, "side": "BUY",
                           "quantity": "10000"},
            }  # fmt: skip
            filled = gw.send_order(NODE, market, "k-fill", wait="filled")
            assert filled.settled is True and [o.status for o in filled.orders] == ["FILLED"]
            assert filled.orders[0].filled_qty == "10000"
            assert gw.order_action(NODE, {"action": "flatten_all", "cancel_orders": True}).ok
        finally:
            gw.stop(NODE)


def test_a_submit_to_a_dead_hosts_socket_is_409_not_running(tmp_path: Path) -> None:
    """A host killed with -9 leaves its socket: the submit finds nothing listening there and
    answers that the node is not running (409), as it does with no socket at all."""
    import socket

    from engine.host.paths import socket_path

    ws = Workspace(tmp_path / ".gateway").ensure()
    doc = copy.deepcopy(demo_sandbox())
    doc.update(node_id=NODE, strategies=[])
    ConfigStore(ws).save(doc, deep=False)
    path = socket_path(ws, NODE)
    path.parent.mkdir(parents=True, exist_ok=True)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:
        dead.bind(str(path))  # closed without unlinking: what a killed host leaves
    with running_server(ws) as server:
        gw = GatewayClient(server.url, server.token("trader-bot", "read,trade"))
        for key in ("key-0", "key-1"):  # twice: the first call changes nothing it finds
            with pytest.raises(GatewayError) as refused:
                gw.send_order(NODE, _submit("dead"), key)
            assert refused.value.status == 409, refused.value
            assert refused.value.error.field == "node_id"
            assert "not running" in refused.value.error.message


def test_submits_reach_the_node_after_a_restart_and_409_once_stopped(tmp_path: Path) -> None:
    """The server keeps one channel per node: a restarted host gets a new one, and a stopped
    node is 409 again (not 503 from the channel its host closed)."""
    ws = Workspace(tmp_path / ".gateway").ensure()
    doc = quiet_sandbox(NODE)
    ConfigStore(ws).save(doc, deep=False)

    def running(run_id: str) -> None:
        deadline = time.monotonic() + 40
        while gw.run(run_id).state != "running":
            assert time.monotonic() < deadline, gw.run(run_id)
            time.sleep(0.2)
        wait_for_quotes(Path(ws.runs_dir / NODE / run_id))

    with running_server(ws) as server:
        gw = GatewayClient(server.url, server.token("trader-bot", "read,trade"))
        running(gw.launch(NODE).run_id)
        try:
            first = gw.send_order(NODE, _submit("before"), "key-1").reply
            running(gw.restart(NODE).run_id)
            again = gw.send_order(NODE, _submit("after"), "key-2").reply
            assert first["ok"] and again["ok"], (first, again)
        finally:
            gw.stop(NODE)
        with pytest.raises(GatewayError) as stopped:
            gw.send_order(NODE, _submit("stopped"), "key-3")
        assert stopped.value.status == 409, stopped.value
