"""Node configs over the API: the CLI's words on bad input, nothing stored, audited."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.client import GatewayClient, GatewayError
from engine.config.store import ConfigStore
from engine.demo import demo_sandbox
from engine.workspace import Workspace
from tests.integration.api_support import Server, running_server

pytestmark = pytest.mark.timeout(240)

HOSTILE = [
    float("nan"),
    float("inf"),
    float("-inf"),
    -0.0,
    0,
    -1,
    "1e400",
    "9" * 400,
    "0." + "1" * 39,
    "١٢٣",
    "",
    "x" * 10_000,
    "9999-12-31T23:59:59Z",
    None,
    [],
    {},
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    ws = Workspace(tmp_path_factory.mktemp("configs") / ".gateway").ensure()
    ConfigStore(ws).save(demo_sandbox(), deep=False)
    with running_server(ws) as running:
        yield running


@pytest.fixture(scope="module")
def gw(server: Server) -> Iterator[GatewayClient]:
    with GatewayClient(server.url, server.token("configs-admin")) as client:
        yield client


def _stored(server: Server) -> dict[str, bytes]:
    root = server.workspace.nodes_dir
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.json"))}


def _cli_validate(server: Server, doc: dict[str, Any], tmp: Path) -> str:
    path = tmp / "doc.json"
    path.write_text(json.dumps(doc))
    gateway = Path(sys.executable).parent / "gateway"
    out = subprocess.run(
        [str(gateway), "-w", str(server.workspace.root), "nodes", "create", "-f", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 2, out
    return out.stderr


def test_create_read_update_delete_and_the_audit_trail(gw: GatewayClient, server: Server) -> None:
    doc = copy.deepcopy(demo_sandbox())
    doc["node_id"] = "api-made"
    doc["trader_id"] = "API-001"
    saved = gw.create_node(doc)
    assert (saved.node_id, saved.mode, saved.created) == ("api-made", "sandbox", True)
    with pytest.raises(GatewayError) as exists:
        gw.create_node(doc)
    assert exists.value.status == 409 and exists.value.error.code == "conflict"
    doc["description"] = "changed over the API"
    assert gw.update_node("api-made", "sandbox", doc).created is False
    assert gw.node("api-made").config["description"] == "changed over the API"
    assert {n.node_id for n in gw.nodes()} >= {"api-made", "demo-sandbox"}
    assert gw.delete_node("api-made").mode == "sandbox"
    with pytest.raises(GatewayError) as gone:
        gw.node("api-made")
    assert gone.value.status == 404
    actions = [(e.action, e.who, e.via, e.result["ok"]) for e in gw.audit(action="nodes")]
    assert actions[-4:] == [
        ("nodes.create", "configs-admin", "api", True),
        ("nodes.create", "configs-admin", "api", False),
        ("nodes.update", "configs-admin", "api", True),
        ("nodes.delete", "configs-admin", "api", True),
    ]
    assert gw.audit_verify().ok


def test_an_invalid_config_gets_422_in_the_clis_words_and_nothing_is_stored(
    gw: GatewayClient, server: Server, tmp_path: Path
) -> None:
    doc = copy.deepcopy(demo_sandbox())
    doc["node_id"] = "bad-one"
    doc["trader_id"] = "no dash"
    before = _stored(server)
    with pytest.raises(GatewayError) as refused:
        gw.create_node(doc)
    assert refused.value.status == 422
    error = refused.value.error
    assert (error.code, error.field, error.value) == ("invalid", "trader_id", "no dash")
    assert "NAME-TAG" in error.expected
    # The CLI prints the same sentence for the same document.
    assert error.issues[0].message in _cli_validate(server, doc, tmp_path)
    assert _stored(server) == before
    # An update to an invalid config leaves the stored one as it was.
    good = gw.node("demo-sandbox").config
    with pytest.raises(GatewayError):
        gw.update_node("demo-sandbox", "sandbox", {**good, "trader_id": "no dash"})
    assert _stored(server) == before


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    field=st.sampled_from(["node_id", "trader_id", "mode", "description", "tags", "strategies"]),
    value=st.sampled_from(HOSTILE),
)
def test_hostile_values_are_refused_field_by_field(
    gw: GatewayClient, server: Server, field: str, value: Any
) -> None:
    doc = copy.deepcopy(demo_sandbox())
    doc["node_id"] = "hostile"
    doc[field] = value
    before = _stored(server)
    try:
        # NaN and infinities as Python's json writes them (not standard JSON, sent anyway).
        saved = gw.request(
            "POST",
            "/nodes",
            content=json.dumps(doc).encode(),
            headers={"content-type": "application/json"},
        )
    except GatewayError as exc:
        assert exc.status == 422, exc
        assert exc.error.code == "invalid" and exc.error.message
        assert _stored(server) == before
        return
    # Accepted (an empty description, a node id that is a slug): stored as given; clean up.
    assert saved["node_id"] == doc["node_id"]
    assert gw.node(doc["node_id"]).config[field] == value
    gw.delete_node(doc["node_id"])


def test_malformed_bodies_get_422_never_a_traceback(server: Server) -> None:
    import httpx

    headers = {"Authorization": f"Bearer {server.token('raw-admin')}"}
    deep = "[" * 100_000 + "]" * 100_000
    for body in (b"{", b"\xff\xfe not utf-8", deep.encode(), b"[1, 2]", b'"text"'):
        response = httpx.post(
            server.url + "/nodes",
            content=body,
            headers={**headers, "content-type": "application/json"},
            timeout=30,
        )
        assert response.status_code == 422, (body[:20], response.text[:300])
        assert response.json()["code"] == "invalid"
        assert "Traceback" not in response.text
