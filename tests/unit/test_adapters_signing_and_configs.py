"""Request signing against published vectors, and Nautilus client configs per kind."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from engine.adapters import AdapterKind, ProfileInvalid, parse_profile
from engine.adapters.nautilus_configs import AdapterExtraMissing, build_client_configs
from engine.adapters.probe import ib_handshake_request
from engine.adapters.signing import binance_signed_query, bybit_headers, hmac_sha256_hex
from engine.credentials import Secret

SECRETS = {"api_key": Secret("K" * 24), "api_secret": Secret("S" * 48)}


def test_binance_signature_matches_the_documented_example() -> None:
    # From Binance's "SIGNED endpoint examples" (spot API docs).
    secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
    query = (
        "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
        "&recvWindow=5000&timestamp=1499827319559"
    )
    assert hmac_sha256_hex(secret, query) == (
        "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
    )
    signed = binance_signed_query({"symbol": "LTCBTC"}, secret, 1499827319559, 5000)
    body, _, signature = signed.rpartition("&signature=")
    assert body == "symbol=LTCBTC&recvWindow=5000&timestamp=1499827319559"
    assert signature == hmac_sha256_hex(secret, body)


def test_bybit_signs_timestamp_key_window_query() -> None:
    headers = bybit_headers("KEY", "SECRET", "accountType=UNIFIED", 1658384314791, 5000)
    payload = b"1658384314791KEY5000accountType=UNIFIED"
    assert headers["X-BAPI-SIGN"] == hmac.new(b"SECRET", payload, hashlib.sha256).hexdigest()
    assert headers["X-BAPI-TIMESTAMP"] == "1658384314791"
    assert headers["X-BAPI-RECV-WINDOW"] == "5000"


def test_ib_greeting_is_api_nul_and_length_prefixed_versions() -> None:
    assert ib_handshake_request() == b"API\0\x00\x00\x00\x09v100..176"


@pytest.mark.parametrize(
    ("kind", "client_id", "expect"),
    [
        ("binance_spot", "BINANCE", "SPOT"),
        ("binance_usdt_futures", "BINANCE", "USDT_FUTURES"),
        ("binance_coin_futures", "BINANCE", "COIN_FUTURES"),
        ("bybit_spot", "BYBIT", "spot"),
        ("bybit_linear", "BYBIT", "linear"),
        ("bybit_inverse", "BYBIT", "inverse"),
    ],
)
def test_exchange_configs(kind: str, client_id: str, expect: str) -> None:
    profile = parse_profile(
        {"name": "p", "kind": kind, "environment": "demo", "base_url_http": "http://127.0.0.1:9",
         "options": {"recv_window_ms": 7000}}
    )  # fmt: skip
    clients = build_client_configs(profile, SECRETS)
    assert clients.client_id == client_id
    for config in (clients.data, clients.exec):
        assert config.api_key == "K" * 24 and config.api_secret == "S" * 48
        assert config.base_url_http == "http://127.0.0.1:9"
        assert "DEMO" in str(config.environment).upper()
    assert clients.exec.recv_window_ms == 7000
    if kind.startswith("binance"):
        assert clients.exec.account_type.value == expect
    else:
        assert [str(p.value) for p in clients.exec.product_types] == [expect]
    assert clients.data_factory is not None and clients.exec_factory is not None


def test_sandbox_config() -> None:
    profile = parse_profile(
        {"name": "sb", "kind": "sandbox", "account_type": "cash",
         "options": {"venue": "binance", "starting_balances": "1 BTC, 1000 USDT"}}
    )  # fmt: skip
    clients = build_client_configs(profile, {})
    assert clients.data is None and clients.exec.venue == "BINANCE"
    assert clients.exec.starting_balances == ["1 BTC", "1000 USDT"]
    assert clients.exec.account_type == "CASH"


def test_missing_secret_names_the_field() -> None:
    profile = parse_profile({"name": "bn", "kind": AdapterKind.BINANCE_SPOT})
    with pytest.raises(ProfileInvalid) as info:
        build_client_configs(profile, {"api_key": Secret("k")})
    assert [i.field for i in info.value.issues] == ["secrets.api_secret"]


def test_interactive_brokers_needs_the_ib_extra() -> None:
    profile = parse_profile({"name": "ib", "kind": "ib_gateway", "options": {"client_id": 7}})
    try:
        import ibapi  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        with pytest.raises(AdapterExtraMissing, match=r"nautilus-gateway\[ib\]"):
            build_client_configs(profile, {})
    else:
        clients = build_client_configs(profile, {})
        assert clients.exec.ibg_port == 4002 and clients.exec.ibg_client_id == 7
