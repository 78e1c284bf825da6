"""`adapters test` logic against loopback stand-ins that verify signatures like the venues."""

from __future__ import annotations

import socket
import uuid

import pytest

from engine.adapters import parse_profile
from engine.adapters.probe import ProbeState, probe
from engine.credentials import Secret
from tests.integration.standins.binance import BinanceStandin
from tests.integration.standins.bybit import BybitStandin
from tests.integration.standins.ib import IBStandin

KEY = "K" + uuid.uuid4().hex.upper()
SECRET = "S" + uuid.uuid4().hex


def _secrets(key: str = KEY, secret: str = SECRET) -> dict[str, Secret]:
    return {"api_key": Secret(key), "api_secret": Secret(secret)}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("kind", "account_path"),
    [
        ("binance_spot", "/api/v3/account"),
        ("binance_usdt_futures", "/fapi/v2/balance"),
        ("binance_coin_futures", "/dapi/v1/balance"),
    ],
)
def test_binance_states(kind: str, account_path: str) -> None:
    with BinanceStandin() as venue:
        venue.keys[KEY] = SECRET
        profile = parse_profile({"name": "bn", "kind": kind, "base_url_http": venue.url})

        ok = probe(profile, _secrets())
        assert ok.state is ProbeState.AUTHENTICATED and ok.ok
        assert ("GET", account_path) in venue.requests
        assert abs(ok.clock_offset_ms or 0) < 1000

        wrong_secret = probe(profile, _secrets(secret="S" + uuid.uuid4().hex))
        assert (wrong_secret.state, wrong_secret.code) == (ProbeState.INVALID_KEY, -1022)

        malformed = probe(profile, _secrets(key="not a key!"))
        assert (malformed.state, malformed.code) == (ProbeState.INVALID_KEY, -2014)

        venue.denied.add(KEY)
        denied = probe(profile, _secrets())
        assert (denied.state, denied.code) == (ProbeState.PERMISSION_MISSING, -2015)
        assert denied.venue_message == "Invalid API-key, IP, or permissions for action."
        venue.denied.clear()

        venue.clock_offset_ms = 10_000  # the venue's clock is 10 s ahead of ours
        skewed = probe(profile, _secrets())
        assert (skewed.state, skewed.code) == (ProbeState.CLOCK_SKEW, -1021)
        assert skewed.clock_offset_ms is not None and skewed.clock_offset_ms > 9000

    gone = parse_profile({"name": "bn", "kind": kind,
                          "base_url_http": f"http://127.0.0.1:{_closed_port()}"})  # fmt: skip
    assert probe(gone, _secrets(), timeout=2).state is ProbeState.UNREACHABLE


@pytest.mark.parametrize("kind", ["bybit_spot", "bybit_linear", "bybit_inverse"])
def test_bybit_states(kind: str) -> None:
    with BybitStandin() as venue:
        venue.keys[KEY] = SECRET
        profile = parse_profile({"name": "by", "kind": kind, "base_url_http": venue.url})

        ok = probe(profile, _secrets())
        assert ok.state is ProbeState.AUTHENTICATED, ok.message
        assert ("GET", "/v5/account/wallet-balance") in venue.requests

        unknown = probe(profile, _secrets(key="K" + uuid.uuid4().hex))
        assert (unknown.state, unknown.code) == (ProbeState.INVALID_KEY, 10003)

        wrong_secret = probe(profile, _secrets(secret="S" + uuid.uuid4().hex))
        assert (wrong_secret.state, wrong_secret.code) == (ProbeState.INVALID_KEY, 10004)

        venue.denied.add(KEY)
        denied = probe(profile, _secrets())
        assert (denied.state, denied.code) == (ProbeState.PERMISSION_MISSING, 10005)
        venue.denied.clear()

        tiny = parse_profile({"name": "by", "kind": kind, "base_url_http": venue.url,
                              "options": {"recv_window_ms": 1}})  # fmt: skip
        venue.clock_offset_ms = 3_000
        skewed = probe(tiny, _secrets())
        assert (skewed.state, skewed.code) == (ProbeState.CLOCK_SKEW, 10002)

    gone = parse_profile({"name": "by", "kind": kind,
                          "base_url_http": f"http://127.0.0.1:{_closed_port()}"})  # fmt: skip
    assert probe(gone, _secrets(), timeout=2).state is ProbeState.UNREACHABLE


def test_probe_results_never_carry_secrets() -> None:
    with BybitStandin() as venue:
        venue.keys[KEY] = SECRET
        profile = parse_profile({"name": "by", "kind": "bybit_spot", "base_url_http": venue.url})
        for secrets in (_secrets(), _secrets(secret="S" + uuid.uuid4().hex)):
            text = repr(probe(profile, secrets).to_dict())
            assert SECRET not in text and "X-BAPI-SIGN" not in text
            assert "signature=" not in text


def test_http_server_that_is_not_the_api_is_unreachable() -> None:
    with BinanceStandin() as venue:  # Bybit paths on a Binance server: 404
        profile = parse_profile({"name": "by", "kind": "bybit_spot", "base_url_http": venue.url})
        result = probe(profile, _secrets())
        assert result.state is ProbeState.UNREACHABLE and "404" in result.message


@pytest.mark.parametrize("kind", ["ib_tws", "ib_gateway"])
def test_ib_handshake_ok(kind: str) -> None:
    with IBStandin("ok") as tws:
        profile = parse_profile(
            {"name": "ib", "kind": kind, "options": {"port": tws.port, "host": "127.0.0.1"}}
        )
        result = probe(profile, {})
        assert result.state is ProbeState.REACHABLE and result.ok
        assert result.details["server_version"] == IBStandin.SERVER_VERSION
        assert result.details["connection_time"] == IBStandin.CONNECTION_TIME
        assert tws.greetings == [b"API\0v100..176"]


def test_ib_handshake_refused_and_closed_port() -> None:
    with IBStandin("close") as tws:
        profile = parse_profile({"name": "ib", "kind": "ib_gateway", "options": {"port": tws.port}})
        result = probe(profile, {})
        assert result.state is ProbeState.PERMISSION_MISSING and "trusted" in result.message
    closed = parse_profile({"name": "ib", "kind": "ib_tws", "options": {"port": _closed_port()}})
    result = probe(closed, {}, timeout=2)
    assert result.state is ProbeState.UNREACHABLE and "TWS" in result.message
