"""The reconciliation over real HTTP with the SDK: a stopped node's last comparison, 404
for a node that does not exist, 409 for accepting at a node that is not running, and the
same rows the CLI prints."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from api.client import GatewayClient, GatewayError
from engine.config.store import ConfigStore
from engine.demo import demo_sandbox
from engine.runs import create_run
from engine.workspace import Workspace
from tests.integration.api_support import Server, running_server
from tests.integration.cli import gateway

ROW = {
    "kind": "order",
    "key": "O-1",
    "instrument_id": "EUR/USD.SIM",
    "journal": "ACCEPTED 0/1000",
    "cache": "-",
    "venue": "ACCEPTED 0/1000",
    "agree": False,
    "note": "working only in journal, venue",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    ws = Workspace(tmp_path_factory.mktemp("recovery-api") / ".gateway").ensure()
    ConfigStore(ws).save(demo_sandbox(), deep=False)
    run = create_run(ws, "demo-sandbox", "sandbox")
    stored = {"agree": False, "summary": "", "orders": [ROW], "positions": [], "problems": []}
    (run.path / "reconciliation.json").write_text(json.dumps(stored))
    with running_server(ws) as running:
        yield running


def test_the_sdk_reads_a_stopped_nodes_last_comparison_like_the_cli(server: Server) -> None:
    with GatewayClient(server.url, server.token("recovery-admin")) as gw:
        view = gw.reconciliation("demo-sandbox")
        assert view.running is False and view.agree is False
        assert [r.model_dump() for r in view.orders] == [ROW]
        assert view.summary == "1 order differs"
        with pytest.raises(GatewayError) as missing:
            gw.reconciliation("no-such-node")
        assert missing.value.status == 404
        with pytest.raises(GatewayError) as stopped:
            gw.accept_venue("demo-sandbox")
        assert stopped.value.status == 409
    cli = gateway("nodes", "reconcile", "demo-sandbox", "--json", workspace=server.workspace.root)
    assert cli.code == 1
    assert json.loads(cli.out)["orders"] == [ROW]
