"""A live node on a Binance testnet profile pointed at a loopback stand-in, keys in the keyring.

The node host reads the profile's keys from the real Secret Service, builds Nautilus's own
Binance data and execution clients and connects them to the stand-in: the data client
loads ``exchangeInfo`` and connects; the execution client passes a signed ``account`` call
(the stand-in checks the HMAC signature, so the keyring's secret reached the adapter), reads
the server time, then opens the WebSocket API, which the stand-in does not speak. The user
sees that as a ``failed`` node whose error names the client and the reason, within seconds.

The tests share one workspace and run in file order (the second removes a secret).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from engine.config.store import ConfigStore
from engine.credentials import CredentialStore
from tests.integration.live_venue_support import (
    PROFILE,
    Gateway,
    live_node_doc,
    unique_credentials,
)
from tests.integration.standins.binance import BinanceStandin

NODE = "live-bn"
WS_FAILURE = "exec client BINANCE failed to connect: WebSocketClientError: handshake failed"


@dataclass
class Venue:
    gw: Gateway
    standin: BinanceStandin


@pytest.fixture(scope="module")
def venue(
    tmp_path_factory: pytest.TempPathFactory, secret_service: dict[str, str]
) -> Iterator[Venue]:
    gw = Gateway(tmp_path_factory.mktemp("live-venue") / ".gateway", secret_service)
    key, secret = unique_credentials()
    with BinanceStandin() as standin:
        standin.keys[key] = secret
        assert gw.add_profile(standin, key, secret).code == 0, gw.results[-1]
        ConfigStore(gw.workspace).save(live_node_doc(NODE), deep=False)
        try:
            yield Venue(gw, standin)
        finally:
            gw.kill_hosts(NODE)


def test_live_binance_node_connects_its_clients_and_reports_the_failing_one(
    venue: Venue,
) -> None:
    gw = venue.gw
    started = time.monotonic()
    launch = gw("launch", NODE)
    elapsed = time.monotonic() - started
    print(f"\nlaunch to failed (connect error): {elapsed:.1f}s")

    # The adapter's start-up calls reached the stand-in, the signed one accepted.
    paths = [path for _, path in venue.standin.requests]
    assert paths[:3] == ["/api/v3/exchangeInfo", "/api/v3/account", "/api/v3/time"], paths
    assert paths[3:] == ["/"]  # the WebSocket API handshake, answered 404

    # launch: exit 1, the client states and the failure on screen, no traceback.
    assert launch.code == 1, launch
    assert elapsed < 25, f"the failure took {elapsed:.1f}s to surface"
    out = launch.out
    assert "data client BINANCE connected" in out
    assert "exec client BINANCE disconnected" in out
    assert f"NodeError              HostError: {WS_FAILURE}" in out
    assert "failed" in out.splitlines()[-1]
    assert launch.err.startswith(f"error: {WS_FAILURE}")
    assert "Traceback" not in out + launch.err

    # The journal holds the same story.
    events = gw.journal(NODE, gw.latest_run_id(NODE))
    states = [e.payload["state"] for e in events if e.type == "NodeStateChanged"]
    assert states == ["created", "starting", "failed"]
    connections = {
        (e.payload["kind"], e.payload["client_id"], e.payload["connected"])
        for e in events
        if e.type == "ClientConnectionChanged"
    }
    assert ("data", "BINANCE", True) in connections
    assert ("exec", "BINANCE", False) in connections
    assert ("exec", "BINANCE", True) not in connections
    (error,) = [e.payload for e in events if e.type == "NodeError"]
    assert error["message"].startswith(WS_FAILURE)
    assert (error["phase"], error["field"]) == ("connect", "exec_clients[0]")
    assert any("Error on '_connect'" in line for line in error["log_tail"]), error["log_tail"]

    # ps: nothing left running; runs show names the failure.
    assert json.loads(gw("ps", "--json").out) == []
    assert f"error (connect): {WS_FAILURE}" in gw("runs", "show", NODE).out
    # ps --all still lists the node, with its failed latest run and why.
    (row,) = [r for r in json.loads(gw("ps", "--all", "--json").out) if r["node_id"] == NODE]
    assert row["state"] == "failed" and row["alive"] is False
    assert WS_FAILURE in row["error"]


def test_a_secret_missing_from_the_keyring_fails_launch_naming_the_field_and_the_fix(
    venue: Venue, keyring_env: dict[str, str]
) -> None:
    # The keyring lost the secret (another tool, a reset keyring): only the key is left.
    store = CredentialStore.for_workspace(venue.gw.workspace)
    assert store.delete_many(PROFILE, ["api_secret"]) == ["api_secret"]
    venue.standin.requests.clear()
    started = time.monotonic()
    launch = venue.gw("launch", NODE)
    print(f"\nlaunch to failed (missing secret): {time.monotonic() - started:.1f}s")

    assert venue.standin.requests == []  # nothing was sent to the venue
    assert launch.code == 1, launch
    text = launch.out + launch.err
    assert "secrets.api_secret: not in the keyring" in text, text
    assert f"gateway adapters edit {PROFILE} --secrets" in text
    assert "Traceback" not in text
    assert "failed" in launch.out.splitlines()[-1]
