"""The console, the CLI and the API submitting orders to one node at the same time: every
order is in the node once, in the journal once and in the audit log once (issue 17).

One real sandbox node (no strategy); each front end submits its own tagged limit orders far
from the market (they rest) while the others do the same.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from api.client import GatewayClient
from console.services import WorkspaceServices
from engine.audit.log import AuditLog
from engine.config.store import ConfigStore
from engine.journal import JournalReader
from engine.principal import Principal
from engine.services.audit import AuditService
from engine.services.nodes import NodeService
from engine.workspace import Workspace
from tests.integration.api_support import running_server
from tests.integration.cli import gateway
from tests.integration.market_wait import wait_for_quotes
from tests.integration.sandbox_docs import quiet_sandbox

pytestmark = pytest.mark.timeout(300)
NODE = "three-fronts"
IID = "EUR/USD.SIM"
EACH = 8


def _ticket(tag: str) -> dict[str, Any]:
    return {
        "type": "LIMIT",
        "instrument_id": IID,
        "side": "BUY",
        "quantity": "1000",
        "price": "1.05000",  # far below the 1.1 market: rests
        "time_in_force": "GTC",
        "tags": [tag],
    }


def _ids_in(entry: Any) -> list[str]:
    """The client order ids an audit entry's result names."""
    return list(entry.result.get("client_order_ids") or [])


def test_console_cli_and_api_submitting_at_once_each_order_once(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / ".gateway").ensure()
    doc = quiet_sandbox(NODE)
    ConfigStore(ws).save(doc, deep=False)
    handle = asyncio.run(NodeService(ws).start(Principal.local("cli"), NODE))
    errors: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while json.loads((handle.run_dir / "meta.json").read_text())["state"] != "running":
            assert time.monotonic() < deadline, "the node did not start"
            time.sleep(0.2)
        wait_for_quotes(handle.run_dir)
        with running_server(ws) as server:
            token = server.token("robot", "read,trade")
            start = threading.Barrier(3)

            def cli() -> None:
                start.wait()
                for i in range(EACH):
                    r = gateway(
                        "order", NODE, "--json", "-", "--output", "json",
                        workspace=ws.root, stdin=json.dumps(_ticket(f"cli-{i}")),
                    )  # fmt: skip
                    if r.code != 0:
                        errors.append(f"cli {i}: {r.code} {r.err}")

            def api() -> None:
                with GatewayClient(server.url, token) as client:
                    start.wait()
                    for i in range(EACH):
                        command = {"action": "submit", "ticket": _ticket(f"api-{i}")}
                        reply = client.send_order(NODE, command, f"api-key-{i}").reply
                        if not reply.get("ok"):
                            errors.append(f"api {i}: {reply}")

            def console() -> None:
                services = WorkspaceServices(ws)

                async def run() -> None:
                    start.wait()
                    for i in range(EACH):
                        command = {"action": "submit", "ticket": _ticket(f"console-{i}")}
                        reply = await services.order_command(NODE, command)
                        if not reply.get("ok"):
                            errors.append(f"console {i}: {reply}")
                    await services.close(stop_live=False)

                asyncio.run(run())

            threads = [threading.Thread(target=f) for f in (cli, api, console)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(240)
        assert not errors, errors

        # The node: every tag initialized once, every order accepted once.
        wanted = {f"{front}-{i}" for front in ("cli", "api", "console") for i in range(EACH)}
        deadline = time.monotonic() + 20
        while True:
            events = list(JournalReader(handle.run_dir).read())
            tags = Counter(
                tag
                for e in events
                if e.type == "OrderInitialized"
                for tag in (e.payload.get("tags") or [])
            )
            accepted = Counter(
                e.payload["client_order_id"] for e in events if e.type == "OrderAccepted"
            )
            if set(tags) >= wanted and len(accepted) >= len(wanted):
                break
            assert time.monotonic() < deadline, (tags, accepted)
            time.sleep(0.2)
        assert set(tags) == wanted and all(n == 1 for n in tags.values()), tags
        assert len(accepted) == len(wanted) and all(n == 1 for n in accepted.values())
        seqs = [e.seq for e in events]
        assert seqs == sorted(set(seqs)), "the journal's seq must have no gap or repeat"

        # The audit log: each order named by exactly one entry, from the front end that sent it.
        entries = [e for e in AuditLog.of(ws).entries() if e.action.startswith("orders.")]
        named = Counter(cid for e in entries for cid in _ids_in(e))
        assert set(named) == set(accepted) and all(n == 1 for n in named.values()), named
        assert Counter(e.via for e in entries if _ids_in(e)) == {
            "cli": EACH,
            "api": EACH,
            "console": EACH,
        }
        # One shape whichever front end sent it: the action, the command and a key each.
        assert {e.action for e in entries} == {"orders.submit"}
        assert {tuple(sorted(e.request)) for e in entries} == {("command", "idempotency_key")}
        keys = [e.request["idempotency_key"] for e in entries]
        assert all(keys) and len(set(keys)) == len(keys)
        assert {tuple(sorted(e.result)) for e in entries} == {
            ("client_order_ids", "code", "message", "ok")
        }
        assert AuditService(ws).verify().ok

        # An order action carries a key and its sender too, and is audited in that shape.
        canceled = gateway("orders", "cancel-all", NODE, "--yes", workspace=ws.root)
        assert canceled.code == 0, canceled.err
        (entry,) = [e for e in AuditLog.of(ws).entries() if e.action == "orders.cancel_all"]
        assert entry.via == "cli" and entry.result["ok"] is True
        assert entry.request["command"]["action"] == "cancel_all"
        assert entry.request["idempotency_key"]
    finally:
        asyncio.run(NodeService(ws).stop(Principal.local("cli"), NODE, _stop_request()))


def _stop_request() -> Any:
    from engine.services.models import StopRequest

    return StopRequest(cancel_orders=True)
