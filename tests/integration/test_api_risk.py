"""Risk and order outcomes through the HTTP API, on a real sandbox node: the same service
core as the CLI and the console, the same words in a 422, every change in the audit log
under the token's name."""

from __future__ import annotations

import copy
import time
from pathlib import Path

import pytest

from api.client import GatewayClient, GatewayError
from engine.config.store import ConfigStore
from engine.demo import demo_sandbox
from engine.workspace import Workspace
from tests.integration.api_support import running_server
from tests.integration.market_wait import wait_for_quotes

NODE = "api-risk"
IID = "EUR/USD.SIM"
pytestmark = pytest.mark.timeout(180)


def _market(side: str, qty: str) -> dict[str, object]:
    return {"type": "MARKET", "instrument_id": IID, "side": side, "quantity": qty}


def test_risk_and_order_actions_through_the_api(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / ".gateway").ensure()
    doc = copy.deepcopy(demo_sandbox())
    doc.update(node_id=NODE, strategies=[])
    doc.pop("restart", None)
    ConfigStore(ws).save(doc, deep=False)
    with running_server(ws) as server:
        gw = GatewayClient(server.url, server.token("risk-bot", "read,trade,admin"))
        launched = gw.launch(NODE)
        try:
            deadline = time.monotonic() + 60
            while gw.run(launched.run_id).state != "running":
                assert time.monotonic() < deadline
                time.sleep(0.2)
            wait_for_quotes(Path(ws.runs_dir / NODE / launched.run_id))

            view = gw.risk(NODE)
            assert view.running and view.trading_state == "ACTIVE"

            # Bad limits: 422 naming each field, nothing changed.
            with pytest.raises(GatewayError) as err:
                gw.set_risk_limits(NODE, max_open_orders=-1, no_such_limit=1)
            assert err.value.status == 422
            assert {i.path for i in err.value.error.issues} == {
                "max_open_orders",
                "no_such_limit",
            }
            assert gw.risk(NODE).limits["max_open_orders"] is None

            view = gw.set_risk_limits(NODE, max_notional_per_order="50000")
            assert view.limits["max_notional_per_order"] == "50000"
            reply = gw.send_order(
                NODE, {"action": "submit", "ticket": _market("BUY", "100000")}, "k-big"
            )
            (coid,) = reply.reply["client_order_ids"]
            # With a wait, the API answers what the node did: the risk guard denied it.
            with pytest.raises(GatewayError) as denied:
                gw.send_order(
                    NODE,
                    {"action": "submit", "ticket": _market("BUY", "100000")},
                    "k-big-wait",
                    wait="accepted",
                )
            assert denied.value.status == 409 and "DENIED" in denied.value.error.message

            # A buy inside the limit, then the API closes it and the node is flat.
            gw.send_order(NODE, {"action": "submit", "ticket": _market("BUY", "40000")}, "k-ok")
            deadline = time.monotonic() + 10
            while not gw.risk(NODE).usage.get("positions"):
                assert time.monotonic() < deadline, gw.risk(NODE)
                time.sleep(0.1)
            closed = gw.order_action(NODE, {"action": "flatten_all", "cancel_orders": True})
            assert closed.ok, closed.outcome
            assert gw.risk(NODE).usage.get("positions") == {}

            halted = gw.set_trading_state(NODE, "HALTED", "api test")
            assert halted.trading_state == "HALTED" and halted.changed_by == "risk-bot@api"
            result = gw.kill_switch(flatten=True)
            assert result.ok and [n["node_id"] for n in result.nodes] == [NODE]
            assert gw.risk(NODE).trading_state == "HALTED"

            actions = [e.action for e in gw.audit(who="risk-bot")]
            assert {"risk.set", "risk.halt", "risk.reduce", "orders.flatten_all"} <= set(actions)
            assert all(e.via == "api" for e in gw.audit(who="risk-bot"))
            assert gw.audit_verify().ok
            del coid
        finally:
            gw.stop(NODE, kill=True)
