"""A unique fake secret, used through every CLI command, shows up nowhere but the keyring."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from tests.integration.cli import Result, gateway
from tests.integration.standins.binance import BinanceStandin
from tests.integration.standins.bybit import BybitStandin


def test_secret_never_reaches_files_or_output(tmp_path: Path, keyring_env: dict[str, str]) -> None:
    ws = tmp_path / "ws"
    key = "LEAKKEY" + uuid.uuid4().hex.upper()
    secret = "LEAKSECRET" + uuid.uuid4().hex
    runs: list[Result] = []

    def run(*args: str, stdin: str | None = None) -> Result:
        result = gateway(*args, workspace=ws, stdin=stdin, env=keyring_env)
        runs.append(result)
        return result

    with BinanceStandin() as binance, BybitStandin() as bybit:
        binance.keys[key] = secret
        bybit.keys[key] = secret
        creds = json.dumps({"api_key": key, "api_secret": secret})
        assert run("adapters", "add", "bn", "-k", "binance_usdt_futures", "--base-url-http",
                   binance.url, "--secrets-stdin", stdin=creds).code == 0  # fmt: skip
        assert run("adapters", "add", "by", "-k", "bybit_linear", "--base-url-http",
                   bybit.url, "--secrets-stdin", stdin=creds).code == 0  # fmt: skip
        run("adapters", "add", "by", "-k", "bybit_linear", "--secrets-stdin", stdin=creds)
        run("adapters", "add", "bad2", "-k", "bybit_linear", "--secrets-stdin",
            stdin=json.dumps({"api_key": key, "api_secret": secret + " x"}))  # fmt: skip
        run("adapters", "add", "bad3", "-k", "bybit_linear", "--secrets-stdin",
            stdin="{" + secret)  # fmt: skip
        assert run("adapters", "test", "bn").code == 0
        assert run("adapters", "test", "by", "--json").code == 0
        run("adapters", "show", "bn")
        run("adapters", "show", "by", "--json")
        run("adapters", "list", "--json")
        run("adapters", "edit", "bn", "--secrets-stdin", stdin=f"api_secret={secret}x")
        run("adapters", "test", "bn", "--json")  # now a wrong secret: -1022
        run("adapters", "keyring", "--json")
        run("adapters", "remove", "by", "--yes")

    for result in runs:
        for stream in (result.out, result.err):
            assert secret not in stream and key not in stream, stream
    files = [p for p in ws.rglob("*") if p.is_file()]
    assert files, "expected profile files in the workspace"
    for path in files:
        data = path.read_bytes()
        assert secret.encode() not in data and key.encode() not in data, path
