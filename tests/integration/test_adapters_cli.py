"""`gateway adapters` end to end: the real CLI in a subprocess, the real keyring."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import keyring

from tests.integration.cli import gateway
from tests.integration.standins.binance import BinanceStandin

SERVICE = "nautilus-gateway"


def _fake_key() -> str:
    return "K" + uuid.uuid4().hex.upper()  # 33 alphanumerics: a well-formed key


def _add(ws: Path, env: dict[str, str], name: str, key: str, secret: str, *extra: str):  # type: ignore[no-untyped-def]
    stdin = json.dumps({"api_key": key, "api_secret": secret})
    return gateway(
        "adapters", "add", name, "--kind", "binance_spot", "--secrets-stdin", *extra,
        workspace=ws, stdin=stdin, env=env,
    )  # fmt: skip


def test_crud_keeps_secrets_in_the_keyring_only(
    tmp_path: Path, keyring_env: dict[str, str]
) -> None:
    ws = tmp_path / "ws"
    key, secret = _fake_key(), "S" + uuid.uuid4().hex
    r = _add(ws, keyring_env, "bn-crud", key, secret, "--description", "main account")
    assert r.code == 0, r.err
    stored = json.loads((ws / "adapters" / "bn-crud.json").read_text())
    assert stored["kind"] == "binance_spot" and stored["environment"] == "testnet"
    assert not {"api_key", "api_secret", "secrets"} & set(stored)
    assert keyring.get_password(SERVICE, "bn-crud:api_secret") == secret
    assert keyring.get_password(SERVICE, "bn-crud:api_key") == key

    listed = json.loads(gateway("adapters", "list", "--json", workspace=ws, env=keyring_env).out)
    assert [(p["name"], p["kind"]) for p in listed] == [("bn-crud", "binance_spot")]

    shown = gateway("adapters", "show", "bn-crud", "--json", workspace=ws, env=keyring_env)
    view = json.loads(shown.out)
    assert view["secrets"] == {
        "api_key": f"{key[:4]}…{key[-4:]}",
        "api_secret": f"{secret[:4]}…{secret[-4:]}",
    }
    assert view["missing"] == []

    new_secret = "N" + uuid.uuid4().hex
    r = gateway(
        "adapters", "edit", "bn-crud", "--env", "live", "-o", "recv_window_ms=10000",
        "--secrets-stdin", workspace=ws, stdin=f"api_secret={new_secret}\n", env=keyring_env,
    )  # fmt: skip
    assert r.code == 0, r.err
    stored = json.loads((ws / "adapters" / "bn-crud.json").read_text())
    assert stored["environment"] == "live" and stored["options"] == {"recv_window_ms": 10000}
    assert keyring.get_password(SERVICE, "bn-crud:api_secret") == new_secret
    assert keyring.get_password(SERVICE, "bn-crud:api_key") == key  # untouched

    r = gateway("adapters", "remove", "bn-crud", "--yes", workspace=ws, env=keyring_env)
    assert r.code == 0, r.err
    assert not (ws / "adapters" / "bn-crud.json").exists()
    assert keyring.get_password(SERVICE, "bn-crud:api_secret") is None
    assert keyring.get_password(SERVICE, "bn-crud:api_key") is None
    again = gateway("adapters", "remove", "bn-crud", "--yes", workspace=ws, env=keyring_env)
    assert again.code == 2 and "bn-crud" in again.err


def test_bad_input_exits_2_naming_the_field(tmp_path: Path, keyring_env: dict[str, str]) -> None:
    ws = tmp_path / "ws"
    cases = [
        (["adapters", "add", "../evil", "--kind", "sandbox"], None, "name:"),
        (["adapters", "add", "ib", "--kind", "ib_tws", "--env", "testnet"], None, "environment:"),
        (["adapters", "add", "bn", "--kind", "binance_spot", "-o", "recv_window_ms=soon",
          "--secrets-stdin"], '{"api_key": "a", "api_secret": "b"}', "options.recv_window_ms:"),
        (["adapters", "add", "bn", "--kind", "binance_spot", "-o", "api_secret=x"], None,
         "options.api_secret:"),
        (["adapters", "add", "bn", "--kind", "binance_spot", "--secrets-stdin"],
         '{"api_key": "only-the-key"}', "secrets.api_secret:"),
        (["adapters", "add", "bn", "--kind", "binance_spot"], "", "secrets:"),  # no tty
        (["adapters", "show", "nope"], None, "nope"),
    ]  # fmt: skip
    for args, stdin, field in cases:
        r = gateway(*args, workspace=ws, stdin=stdin, env=keyring_env)
        assert r.code == 2, (args, r.err)
        assert field in r.err, (args, r.err)
    assert not list((ws / "adapters").glob("*.json")) if (ws / "adapters").exists() else True


def test_corrupt_profile_is_reported_with_its_path(
    tmp_path: Path, keyring_env: dict[str, str]
) -> None:
    ws = tmp_path / "ws"
    (ws / "adapters").mkdir(parents=True)
    bad = ws / "adapters" / "broken.json"
    bad.write_text("{ not json")
    r = gateway("adapters", "list", workspace=ws, env=keyring_env)
    assert r.code == 0 and "CORRUPT" in r.out and str(bad) in r.out
    r = gateway("adapters", "show", "broken", workspace=ws, env=keyring_env)
    assert r.code == 1 and str(bad) in r.err
    r = gateway("adapters", "remove", "broken", "--yes", workspace=ws, env=keyring_env)
    assert r.code == 0 and not bad.exists()


def test_cli_test_reports_authenticated_and_errors(
    tmp_path: Path, keyring_env: dict[str, str]
) -> None:
    ws = tmp_path / "ws"
    key, secret = _fake_key(), "S" + uuid.uuid4().hex
    with BinanceStandin() as venue:
        venue.keys[key] = secret
        assert _add(ws, keyring_env, "bn", key, secret, "--base-url-http", venue.url).code == 0
        r = gateway("adapters", "test", "bn", "--json", workspace=ws, env=keyring_env)
        result = json.loads(r.out)
        assert r.code == 0 and result["state"] == "authenticated", r.out + r.err
        assert [s["name"] for s in result["steps"]] == ["server_time", "account"]
        assert ("GET", "/api/v3/account") in venue.requests

        venue.denied.add(key)
        r = gateway("adapters", "test", "bn", workspace=ws, env=keyring_env)
        assert r.code == 1 and "permission_missing" in r.out and "-2015" in r.out
    r = gateway("adapters", "test", "bn", "--json", "--timeout", "2", workspace=ws, env=keyring_env)
    assert r.code == 1 and json.loads(r.out)["state"] == "unreachable"
