"""Adapter profiles over the API and the CLI: never a secret out, every change audited."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import keyring
import pytest

from api.client import GatewayClient, GatewayError
from engine.workspace import Workspace
from tests.integration.api_support import running_server
from tests.integration.cli import gateway
from tests.integration.standins.binance import BinanceStandin

pytestmark = pytest.mark.timeout(180)
SERVICE = "nautilus-gateway"


def test_profiles_are_read_tested_and_removed_without_a_secret_leaving(
    tmp_path: Path, keyring_env: dict[str, str]
) -> None:
    ws = Workspace(tmp_path / ".gateway").ensure()
    key, secret = "K" + uuid.uuid4().hex.upper(), "S" + uuid.uuid4().hex
    with BinanceStandin() as venue, running_server(ws) as server:
        venue.keys[key] = secret
        added = gateway(
            "adapters", "add", "bn", "--kind", "binance_spot", "--base-url-http", venue.url,
            "--secrets-stdin", workspace=ws.root, env=keyring_env,
            stdin=json.dumps({"api_key": key, "api_secret": secret}),
        )  # fmt: skip
        assert added.code == 0, added.err
        admin = {"Authorization": f"Bearer {server.token('ops', 'read,admin')}"}

        listed = httpx.get(server.url + "/adapters", headers=admin)
        assert listed.status_code == 200
        assert [(p["name"], p["kind"]) for p in listed.json()] == [("bn", "binance_spot")]
        shown = httpx.get(server.url + "/adapters/bn", headers=admin)
        assert shown.status_code == 200, shown.text
        detail = shown.json()
        assert detail["secrets_stored"] == {"api_key": True, "api_secret": True}
        assert detail["missing"] == [] and detail["urls"]["base_url_http"] == venue.url
        # Not the value, nor a masked one: no piece of either secret leaves through the API.
        for value in (key, secret):
            assert value[:4] not in shown.text and value[-4:] not in shown.text

        tested = httpx.post(server.url + "/adapters/bn/test", headers=admin, timeout=30)
        assert tested.status_code == 200, tested.text
        assert tested.json()["ok"] is True and tested.json()["result"]["state"] == "authenticated"
        assert secret not in tested.text and key not in tested.text
        with GatewayClient(server.url, server.token("sdk", "read,admin")) as sdk:  # the SDK
            assert sdk.adapter("bn").secrets_stored == {"api_key": True, "api_secret": True}
            venue.keys[key] = "S" + uuid.uuid4().hex  # the venue no longer takes this secret
            probe = sdk.test_adapter("bn", timeout_s=10)
            assert not probe.ok and probe.result["state"] == "invalid_key"
            with pytest.raises(GatewayError) as refused:
                sdk.test_adapter("bn", timeout_s=float("nan"))
            assert refused.value.status == 422

        bad = httpx.get(server.url + "/adapters/..%2Fnodes", headers=admin)
        assert bad.status_code in (404, 422) and "Traceback" not in bad.text
        hostile = httpx.get(server.url + "/adapters/" + "x" * 10_000, headers=admin)
        assert hostile.status_code == 422 and hostile.json()["field"] == "name"

        removed = httpx.delete(server.url + "/adapters/bn", headers=admin)
        assert removed.status_code == 200, removed.text
        assert sorted(removed.json()["secrets_deleted"]) == ["api_key", "api_secret"]
        assert keyring.get_password(SERVICE, "bn:api_key") is None
        assert httpx.get(server.url + "/adapters/bn", headers=admin).status_code == 404

    entries = json.loads(gateway("audit", "list", "--json", workspace=ws.root).out)
    changes = [(e["action"], e["via"], e["who"]) for e in entries]
    assert changes[0][:2] == ("adapters.add", "cli") and changes[-1] == (
        "adapters.remove",
        "api",
        "ops",
    )
    assert entries[0]["request"]["credential_fields"] == ["api_key", "api_secret"]
    raw = (ws.root / "audit" / "audit.jsonl").read_text()
    assert key not in raw and secret not in raw


def test_the_cli_never_removes_keys_unasked_without_a_terminal(
    tmp_path: Path, keyring_env: dict[str, str]
) -> None:
    ws = tmp_path / "ws"
    key, secret = "K" + uuid.uuid4().hex.upper(), "S" + uuid.uuid4().hex
    added = gateway(
        "adapters", "add", "bn", "--kind", "binance_spot", "--secrets-stdin",
        workspace=ws, env=keyring_env, stdin=json.dumps({"api_key": key, "api_secret": secret}),
    )  # fmt: skip
    assert added.code == 0, added.err
    refused = gateway("adapters", "remove", "bn", workspace=ws, env=keyring_env)
    assert refused.code == 2 and "--yes" in refused.err
    assert keyring.get_password(SERVICE, "bn:api_secret") == secret
    assert (ws / "adapters" / "bn.json").exists()
    edited = gateway("adapters", "edit", "bn", "--env", "live", workspace=ws, env=keyring_env)
    assert edited.code == 0, edited.err
    entries = json.loads(gateway("audit", "list", "--json", workspace=ws).out)
    assert [e["action"] for e in entries] == ["adapters.add", "adapters.update"]
    assert entries[1]["request"]["changes"] == {"environment": "live"}
