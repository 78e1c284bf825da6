"""The notional confirmation, the core's, through the CLI and the API on one real sandbox
node: the same over-threshold ticket is refused without a confirmation (nothing reaches
the node, the refusal is audited) and accepted at the node with one.

The workspace's ``orders.confirm_notional_above`` is 50,000, so a 100,000 EUR/USD limit at
1.05 (105,000.00 USD) is over it while staying an ordinary sandbox order.
"""

from __future__ import annotations

import asyncio
import json
import os
import pty
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.client import GatewayClient, GatewayError
from engine.audit.log import AuditLog
from engine.config.store import ConfigStore
from engine.manager import NodeManager
from engine.workspace import Workspace
from tests.integration.api_support import running_server
from tests.integration.cli import GATEWAY, gateway
from tests.integration.market_wait import wait_for_quotes
from tests.integration.sandbox_docs import quiet_sandbox

NODE = "notional-sbx"
IID = "EUR/USD.SIM"
BIG = "buy 100000 EUR/USD.SIM limit 1.05000"  # far below the 1.1 market: it rests
pytestmark = [pytest.mark.timeout(180), pytest.mark.xdist_group("notional-sbx")]


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = Workspace(Path(tmp_path_factory.mktemp("notional")) / ".gateway").ensure()
    ws.settings_path.write_text(json.dumps({"orders": {"confirm_notional_above": "50000"}}))
    doc = quiet_sandbox(NODE)
    ConfigStore(ws).save(doc, deep=False)
    manager = NodeManager(ws)

    async def start() -> None:
        handle = await manager.launch(NODE)
        meta = await manager.wait_state(NODE, {"running", "failed", "stopped"}, timeout_s=40)
        assert meta.state == "running", meta
        await asyncio.to_thread(wait_for_quotes, handle.run_dir)

    asyncio.run(start())
    try:
        yield ws
    finally:
        asyncio.run(NodeManager(ws).stop(NODE, timeout_s=15))


def tagged(ws: Workspace, tag: str) -> list[dict[str, Any]]:
    """The node's orders carrying ``tag`` (from its journal, the engine's one fold)."""
    r = gateway("orders", "list", NODE, "--json", workspace=ws.root)
    assert r.code == 0, r.err
    return [row for row in json.loads(r.out) if tag in row["tags"]]


def last_audit(ws: Workspace) -> Any:
    return list(AuditLog.of(ws).entries())[-1]


def test_cli_without_a_terminal_refuses_and_sends_nothing(node: Workspace) -> None:
    r = gateway("order", NODE, f"{BIG} tag=cli-refused", stdin="", workspace=node.root)
    assert r.code == 2, (r.out, r.err)
    assert "notional 105,000.00 USD is above the confirmation threshold 50,000" in r.err
    assert "--yes" in r.err
    entry = last_audit(node)
    assert (entry.action, entry.via, entry.result["ok"], entry.result["code"]) == (
        "orders.submit",
        "cli",
        False,
        "unconfirmed",
    )

    r = gateway(
        "order", NODE, f"{BIG} tag=cli-refused", "-o", "json", stdin="", workspace=node.root
    )
    assert r.code == 2
    error = json.loads(r.out)
    assert (error["code"], error["field"], error["value"]) == (
        "unconfirmed",
        "confirm_notional",
        None,
    )
    assert "105000" in error["expected"] and "50,000" in error["message"]
    assert tagged(node, "cli-refused") == []  # nothing reached the node


def test_cli_yes_sends_it_and_the_node_accepts_it(node: Workspace) -> None:
    r = gateway(
        "order", NODE, f"{BIG} tag=cli-yes", "--yes", "--wait", "accepted", "-o", "json",
        stdin="", workspace=node.root,
    )  # fmt: skip
    assert r.code == 0, (r.out, r.err)
    out = json.loads(r.out)
    assert [row["status"] for row in out["orders"]] == ["ACCEPTED"]
    assert [row["status"] for row in tagged(node, "cli-yes")] == ["ACCEPTED"]


def test_cli_on_a_terminal_asks_and_sends_what_was_confirmed(node: Workspace) -> None:
    def run(answer: bytes, tag: str) -> tuple[int, str]:
        main, sub = pty.openpty()
        proc = subprocess.Popen(
            [*GATEWAY, "order", NODE, f"{BIG} tag={tag}", "--wait", "accepted"],
            stdin=sub,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "GATEWAY_HOME": str(node.root), "NO_COLOR": "1"},
        )
        os.close(sub)
        os.write(main, answer)
        try:
            _, err = proc.communicate(timeout=120)
        finally:
            os.close(main)
        return proc.returncode, err.decode()

    code, err = run(b"y\n", "tty-yes")
    assert code == 0, err
    assert "Notional 105,000.00 USD is above 50,000: send? [y/N]" in err
    assert [row["status"] for row in tagged(node, "tty-yes")] == ["ACCEPTED"]
    code, err = run(b"n\n", "tty-no")
    assert code == 1 and "not confirmed; nothing was sent" in err
    assert tagged(node, "tty-no") == []


def test_cli_dry_run_says_it_would_need_confirming(node: Workspace) -> None:
    r = gateway("order", NODE, BIG, "--dry-run", workspace=node.root)
    assert r.code == 0, r.err
    assert "needs confirmation: Notional 105,000.00 USD is above 50,000" in r.out
    r = gateway("order", NODE, BIG, "--dry-run", "-o", "json", workspace=node.root)
    assert json.loads(r.out)["notional"] == {
        "notional": "105000.00000",
        "currency": "USD",
        "confirm_above": "50000",
        "needs_confirmation": True,
        "why_unknown": None,
    }
    small = gateway(
        "order", NODE, "buy 1000 EUR/USD.SIM limit 1.05", "--dry-run", workspace=node.root
    )
    assert "notional 1,050.00 USD" in small.out and "needs confirmation" not in small.out


def _submit(tag: str) -> dict[str, Any]:
    ticket = {
        "type": "LIMIT",
        "instrument_id": IID,
        "side": "BUY",
        "quantity": "100000",
        "price": "1.05000",
        "tags": [tag],
    }
    return {"action": "submit", "ticket": ticket}


def test_api_refuses_without_the_field_and_sends_with_it(node: Workspace) -> None:
    with running_server(node) as server:
        gw = GatewayClient(server.url, server.token("agent", "read,trade"))
        check = gw.dry_run(NODE, _submit("x")["ticket"])
        assert check.ok and check.notional.needs_confirmation
        assert (check.notional.notional, check.notional.confirm_above) == ("105000.00000", "50000")

        with pytest.raises(GatewayError) as refused:
            gw.send_order(NODE, _submit("api-refused"), "k-refused")
        error = refused.value.error
        assert refused.value.status == 409
        assert (error.code, error.field, error.value) == ("unconfirmed", "confirm_notional", None)
        assert "105,000.00 USD" in error.message and "50,000" in error.message
        with pytest.raises(GatewayError) as short:  # confirmed for less than it is worth
            gw.send_order(NODE, _submit("api-refused"), "k-short", confirm_notional="100000")
        assert short.value.status == 409 and "only up to 100,000.00" in short.value.error.message
        with pytest.raises(GatewayError) as bad:
            gw.request(
                "POST",
                f"/nodes/{NODE}/orders",
                json={"command": _submit("api-refused"), "idempotency_key": "k-bad",
                      "confirm_notional": "lots"},
            )  # fmt: skip
        assert bad.value.status == 422 and bad.value.error.field == "confirm_notional"
        assert tagged(node, "api-refused") == []

        sent = gw.send_order(NODE, _submit("api-amount"), "k-amount", confirm_notional="105000")
        assert sent.reply["ok"] is True
        sent = gw.send_order(NODE, _submit("api-true"), "k-true", confirm_notional=True)
        assert sent.reply["ok"] is True
        deadline = time.monotonic() + 15
        while True:
            statuses = [r["status"] for t in ("api-amount", "api-true") for r in tagged(node, t)]
            if statuses == ["ACCEPTED", "ACCEPTED"] or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert statuses == ["ACCEPTED", "ACCEPTED"]
        entries = gw_admin_audit(server)
        refusals = [e for e in entries if e.result.get("code") == "unconfirmed"]
        assert [(e.action, e.via, e.result["ok"]) for e in refusals[-2:]] == [
            ("orders.submit", "api", False),
            ("orders.submit", "api", False),
        ]


def gw_admin_audit(server: Any) -> list[Any]:
    admin = GatewayClient(server.url, server.token("auditor", "read,trade,admin"))
    return list(admin.audit(action="orders"))


def test_a_modify_that_raises_the_notional_above_the_threshold_needs_the_confirmation(
    node: Workspace,
) -> None:
    """10,000 at 1.05 (10,500) raised to 100,000 (105,000 > 50,000): refused by the CLI
    without --yes (exit 2) and by the API without confirm_notional (409), the order
    unchanged at the node; taken with them. Lowering it again needs nothing."""
    r = gateway(
        "order", NODE, "buy 10000 EUR/USD.SIM limit 1.05000 tag=modify-raise", "-o", "json",
        workspace=node.root,
    )  # fmt: skip
    assert r.code == 0, r.err
    (coid,) = json.loads(r.out)["client_order_ids"]
    raise_it = ["orders", "modify", NODE, coid, "--quantity", "100000"]
    refused = gateway(*raise_it, stdin="", workspace=node.root)
    assert refused.code == 2, (refused.out, refused.err)
    assert "105,000.00 USD is above the confirmation threshold 50,000" in refused.out + refused.err
    assert [row["quantity"] for row in tagged(node, "modify-raise")] == ["10000"]
    with running_server(node) as server:
        gw = GatewayClient(server.url, server.token("mod-bot", "read,trade"))
        command = {"action": "modify", "client_order_id": coid, "quantity": "100000"}
        with pytest.raises(GatewayError) as unconfirmed:
            gw.order_action(NODE, command)
        assert unconfirmed.value.status == 409
        assert unconfirmed.value.error.code == "unconfirmed"
        assert unconfirmed.value.error.field == "confirm_notional"
        assert [row["quantity"] for row in tagged(node, "modify-raise")] == ["10000"]
        done = gw.order_action(NODE, command, confirm_notional=True)
        assert done.ok, done.outcome
    assert [row["quantity"] for row in tagged(node, "modify-raise")] == ["100000"]
    lowered = gateway(
        "orders", "modify", NODE, coid, "--quantity", "20000", stdin="", workspace=node.root
    )
    assert lowered.code == 0, (lowered.out, lowered.err)
    assert [row["quantity"] for row in tagged(node, "modify-raise")] == ["20000"]
    yes = gateway(*raise_it, "--yes", stdin="", workspace=node.root)
    assert yes.code == 0, (yes.out, yes.err)
    assert [row["quantity"] for row in tagged(node, "modify-raise")] == ["100000"]
    assert gateway("orders", "cancel", NODE, coid, "--yes", workspace=node.root).code == 0
