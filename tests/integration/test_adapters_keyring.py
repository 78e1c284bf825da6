"""Keyring backends through the real CLI: none available, and the encrypted-file opt-in."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from tests.integration.cli import gateway


def _no_keyring_env(tmp_path: Path) -> dict[str, str]:
    # A bus address that answers nothing: what an SSH session without a keyring looks like.
    home = tmp_path / "home"
    home.mkdir()
    return {
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "DBUS_SESSION_BUS_ADDRESS": f"unix:path={tmp_path}/no-bus",
        "GATEWAY_KEYRING_BACKEND": "",
        "PYTHON_KEYRING_BACKEND": "",
    }


def test_missing_keyring_is_detected_and_explained(tmp_path: Path) -> None:
    ws, env = tmp_path / "ws", _no_keyring_env(tmp_path)
    r = gateway("adapters", "keyring", "--json", workspace=ws, env=env)
    status = json.loads(r.out)
    assert r.code == 1 and status["usable"] is False
    assert "gnome-keyring-daemon" in status["message"] and "cryptfile" in status["message"]

    secret = "S" + uuid.uuid4().hex
    stdin = json.dumps({"api_key": "K" + uuid.uuid4().hex, "api_secret": secret})
    r = gateway("adapters", "add", "bn", "--kind", "binance_spot", "--secrets-stdin",
                workspace=ws, stdin=stdin, env=env)  # fmt: skip
    assert r.code == 1 and "No usable OS keyring" in r.err
    assert not (ws / "adapters" / "bn.json").exists()  # nothing half done
    # keyring's own default would chain to plaintext files; none may have been written.
    for path in (tmp_path / "home").rglob("*"):
        assert not path.is_file() or secret not in path.read_text(errors="ignore")


def test_encrypted_file_backend_is_opt_in_with_a_passphrase(tmp_path: Path) -> None:
    ws, env = tmp_path / "ws", _no_keyring_env(tmp_path)
    vault = tmp_path / "vault" / "secrets.cfg"
    env |= {"GATEWAY_KEYRING_FILE": str(vault), "GATEWAY_KEYRING_PASSPHRASE": "correct horse"}
    r = gateway("adapters", "keyring", "--use", "cryptfile", workspace=ws, env=env)
    assert r.code == 0, r.err
    assert json.loads((ws / "keyring.json").read_text()) == {
        "schema_version": 1,
        "backend": "cryptfile",
    }

    key, secret = "K" + uuid.uuid4().hex.upper(), "S" + uuid.uuid4().hex
    stdin = f"{key}\n{secret}\n"  # bare lines, in field order
    r = gateway("adapters", "add", "bn", "--kind", "binance_spot", "--secrets-stdin",
                workspace=ws, stdin=stdin, env=env)  # fmt: skip
    assert r.code == 0, r.err
    assert vault.is_file() and oct(vault.stat().st_mode & 0o777) == "0o600"
    assert secret not in vault.read_text() and key not in vault.read_text()

    shown = json.loads(gateway("adapters", "show", "bn", "--json", workspace=ws, env=env).out)
    assert shown["secrets"]["api_secret"] == f"{secret[:4]}…{secret[-4:]}"

    wrong = gateway("adapters", "show", "bn", workspace=ws,
                    env=env | {"GATEWAY_KEYRING_PASSPHRASE": "wrong"})  # fmt: skip
    assert "wrong passphrase" in wrong.err and secret[:4] + "…" not in wrong.out
    none = gateway("adapters", "test", "bn", workspace=ws,
                   env=env | {"GATEWAY_KEYRING_PASSPHRASE": ""})  # fmt: skip
    assert none.code == 1 and "GATEWAY_KEYRING_PASSPHRASE" in none.err

    r = gateway("adapters", "remove", "bn", "--yes", workspace=ws, env=env)
    assert r.code == 0 and "api_secret" in r.out
