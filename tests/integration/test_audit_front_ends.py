"""Launches, stops and config changes leave the same audit entries whichever front end made
them: the CLI (a real ``gateway`` process), the API (a real ``gateway serve``) and the
console's services, each under its own principal (issue 17).

One real sandbox node (no strategies) is launched and stopped once from each front end.
"""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path
from typing import Any

import pytest

from api.client import GatewayClient
from console.services import WorkspaceServices
from engine.audit.log import AuditLog
from engine.demo import demo_sandbox
from engine.principal import Principal
from engine.services.audit import AuditService
from engine.workspace import Workspace
from tests.integration.api_support import running_server
from tests.integration.cli import gateway

NODE = "audited-sbx"
pytestmark = pytest.mark.timeout(240)


def sandbox_doc() -> dict[str, Any]:
    doc = copy.deepcopy(demo_sandbox())
    doc.update(node_id=NODE, strategies=[])
    doc.pop("restart", None)
    return doc


def shape(entry: Any) -> tuple[Any, ...]:
    """What must not depend on the front end: action, the keys of target, request and
    result, and the values that say what was asked."""
    return (
        entry.action,
        entry.target,
        sorted(entry.request),
        sorted(entry.result),
        entry.result.get("ok"),
    )


def test_cli_api_and_console_launches_stops_and_edits_are_audited_alike(
    tmp_path: Path,
) -> None:
    ws = Workspace(tmp_path / ".gateway").ensure()
    doc = sandbox_doc()
    source = tmp_path / "node.json"
    source.write_text(json.dumps(doc))
    # Config changes: the CLI creates, the console updates, the CLI deletes another.
    created = gateway("nodes", "create", "-f", str(source), workspace=ws.root)
    assert created.code == 0, created.err
    console = WorkspaceServices(ws)
    assert not [i for i in console.save(doc, new=False) if i.severity == "error"]

    launched = gateway("launch", NODE, workspace=ws.root)
    assert launched.code == 0, launched.err
    stopped = gateway("stop", NODE, workspace=ws.root)
    assert stopped.code == 0, stopped.err

    with (
        running_server(ws) as server,
        GatewayClient(server.url, server.token("robot", "read,trade")) as client,
    ):
        run = client.launch(NODE)
        asyncio.run(wait_running(ws))
        client.stop(NODE)

    async def console_cycle() -> None:
        await console.launch(NODE, "sandbox")
        await wait_running(ws)
        await console.stop(NODE)
        await console.close(stop_live=False)

    asyncio.run(console_cycle())

    entries = list(AuditLog.of(ws).entries())
    by = {
        (e.via, e.action): e
        for e in entries
        if e.action.startswith("nodes.") and e.action != "nodes.restart"
    }
    local = Principal.local("cli").name
    for action in ("nodes.launch", "nodes.stop"):
        cli, api, tui = (by[(via, action)] for via in ("cli", "api", "console"))
        assert shape(cli) == shape(api) == shape(tui), (cli, api, tui)
        assert (cli.who, api.who, tui.who) == (local, "robot", local)
        assert cli.result["ok"] is True
    assert by[("api", "nodes.launch")].result["run_id"] == run.run_id
    assert by[("cli", "nodes.launch")].request == {"mode": None}
    assert by[("cli", "nodes.create")].result == {"ok": True, "created": True}
    assert by[("console", "nodes.update")].target == {"node_id": NODE, "mode": "sandbox"}
    # The chain holds every entry, from every front end.
    assert AuditService(ws).verify().ok


async def wait_running(ws: Workspace) -> None:
    from engine.manager import NodeManager

    meta = await NodeManager(ws).wait_state(NODE, {"running", "failed", "stopped"}, timeout_s=60)
    assert meta.state == "running", meta
