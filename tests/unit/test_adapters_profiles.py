"""Profile model, store and service: validation, files, secrets alongside."""

from __future__ import annotations

import json

import pytest

from engine.adapters import (
    AdapterService,
    ProfileCorrupt,
    ProfileExists,
    ProfileInvalid,
    ProfileNotFound,
    ProfileStore,
    parse_profile,
)
from engine.adapters.urls import DEFAULT_HTTP_URLS
from engine.credentials import CredentialStore, Secret, read_settings
from engine.workspace import Workspace
from tests.unit.test_credentials import MemoryKeyring


def _fields(exc: ProfileInvalid) -> list[str]:
    return [i.field for i in exc.issues]


def test_defaults_per_kind() -> None:
    bn = parse_profile({"name": "bn", "kind": "binance_usdt_futures"})
    assert (bn.env.value, bn.account_type) == ("testnet", "USDT_FUTURES")
    ib = parse_profile({"name": "ib", "kind": "ib_gateway"})
    assert (ib.env.value, ib.ib_port()) == ("demo", 4002)
    live = parse_profile({"name": "ib", "kind": "ib_tws", "environment": "live"})
    assert live.ib_port() == 7496
    spot = parse_profile({"name": "m", "kind": "binance_spot", "account_type": "margin"})
    assert spot.account_type == "MARGIN"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "../etc", "kind": "sandbox"}, "name"),
        ({"name": "Upper", "kind": "sandbox"}, "name"),
        ({"name": "a", "kind": "kraken"}, "kind"),
        ({"name": "a", "kind": "ib_tws", "environment": "testnet"}, "environment"),
        ({"name": "a", "kind": "bybit_spot", "account_type": "FUTURES"}, "account_type"),
        ({"name": "a", "kind": "ib_tws", "base_url_http": "http://x"}, "base_url_http/base_url_ws"),
        ({"name": "a", "kind": "bybit_spot", "base_url_http": "ftp://x"}, "base_url_http"),
        ({"name": "a", "kind": "bybit_spot", "options": {"nope": 1}}, "options.nope"),
        ({"name": "a", "kind": "bybit_spot", "options": {"recv_window_ms": 0}}, "options.recv_window_ms"),  # noqa: E501
        ({"name": "a", "kind": "bybit_spot", "options": {"api_secret": "x"}}, "options.api_secret"),
        ({"name": "a", "kind": "bybit_spot", "api_secret": "x"}, "api_secret"),
    ],
)  # fmt: skip
def test_invalid_profiles_name_the_field(data: dict[str, object], field: str) -> None:
    with pytest.raises(ProfileInvalid) as info:
        parse_profile(data)
    assert field in _fields(info.value)


def test_secret_like_fields_are_never_echoed() -> None:
    with pytest.raises(ProfileInvalid) as info:
        parse_profile({"name": "a", "kind": "bybit_spot", "api_secret": "TOPSECRET"})
    assert "TOPSECRET" not in str(info.value)


def test_store_crud_and_corrupt_files(workspace: Workspace) -> None:
    store = ProfileStore(workspace)
    profile = parse_profile(
        {"name": "by", "kind": "bybit_linear", "options": {"recv_window_ms": "7000"}}
    )
    path = store.create(profile)
    assert path == workspace.adapters_dir / "by.json"
    assert json.loads(path.read_text())["options"] == {"recv_window_ms": 7000}
    assert store.get("by") == profile
    with pytest.raises(ProfileExists):
        store.create(profile)
    (workspace.adapters_dir / "bad.json").write_text("[1, 2")
    (workspace.adapters_dir / "other.json").write_text(json.dumps({**profile.to_json_dict()}))
    listed = {item.name: item for item in store.list()}
    assert listed["by"].profile == profile
    assert str(workspace.adapters_dir / "bad.json") in (listed["bad"].error or "")
    with pytest.raises(ProfileCorrupt, match="holds profile 'by'"):
        store.get("other")
    store.delete("by")
    with pytest.raises(ProfileNotFound):
        store.get("by")
    with pytest.raises(ProfileInvalid):
        store.path("../../x")


def test_service_keeps_secrets_in_the_keyring_and_removes_them(workspace: Workspace) -> None:
    backend = MemoryKeyring()
    service = AdapterService(workspace, CredentialStore(read_settings(None), backend=backend))
    profile = parse_profile({"name": "bn", "kind": "binance_spot"})
    with pytest.raises(ProfileInvalid) as info:
        service.add(profile, {"api_key": Secret("k" * 20)})
    assert _fields(info.value) == ["secrets.api_secret"]
    assert not service.store.exists("bn") and backend.entries == {}

    service.add(profile, {"api_key": Secret("k" * 20), "api_secret": Secret("TOPSECRET-1234")})
    assert "TOPSECRET" not in (workspace.adapters_dir / "bn.json").read_text()
    view = service.view("bn")
    assert view.secrets == {"api_key": "kkkk…kkkk", "api_secret": "TOPS…1234"}

    service.update("bn", {"environment": "live"}, set_options={"recv_window_ms": "9000"})
    assert service.get("bn").option("recv_window_ms") == 9000
    assert service.secrets("bn")["api_secret"] == Secret("TOPSECRET-1234")

    # Changing the kind to one without secrets deletes the stale entries.
    service.update("bn", {"kind": "sandbox", "environment": None, "account_type": None,
                          "options": {}})  # fmt: skip
    assert backend.entries == {}
    assert service.remove("bn") == []
    assert not service.store.exists("bn")


def test_default_urls_match_nautilus() -> None:
    from nautilus_trader.adapters.binance.common.enums import BinanceAccountType, BinanceEnvironment
    from nautilus_trader.adapters.binance.common.urls import get_http_base_url
    from nautilus_trader.adapters.bybit import BybitEnvironment
    from nautilus_trader.core import nautilus_pyo3

    binance = {"binance_spot": "SPOT", "binance_usdt_futures": "USDT_FUTURES",
               "binance_coin_futures": "COIN_FUTURES"}  # fmt: skip
    bybit_env = {"live": BybitEnvironment.MAINNET, "testnet": BybitEnvironment.TESTNET,
                 "demo": BybitEnvironment.DEMO}  # fmt: skip
    for (kind, env), url in DEFAULT_HTTP_URLS.items():
        if kind.value in binance:
            expected = get_http_base_url(
                BinanceAccountType(binance[kind.value]),
                BinanceEnvironment(env.value.upper()),
                False,
            )
        else:
            expected = nautilus_pyo3.get_bybit_http_base_url(bybit_env[env.value])
        assert url == expected, (kind, env)


def test_every_problem_of_a_profile_is_reported_at_once() -> None:
    # A bad name stopped the model before its options were checked; two bad options
    # showed only the first.
    from engine.adapters.model import ProfileInvalid, parse_profile

    doc = {
        "name": "\uff2e\uff41\uff4d\uff45",  # full-width letters
        "kind": "binance_spot",
        "base_url_ws": "KEY",
        "options": {"recv_window_ms": "1e400", "load_all_instruments": "NaN"},
    }
    with pytest.raises(ProfileInvalid) as caught:
        parse_profile(doc)
    fields = [i.field for i in caught.value.issues]
    assert fields == [
        "name",
        "base_url_ws",
        "options.recv_window_ms",
        "options.load_all_instruments",
    ]
    doc["name"] = "ok"
    with pytest.raises(ProfileInvalid) as caught:
        parse_profile(doc)
    assert [i.field for i in caught.value.issues] == fields[1:]
