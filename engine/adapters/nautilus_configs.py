"""Real NautilusTrader client configs (data + execution) built from a profile and secrets.

Everything here builds offline; nothing connects. Nautilus is imported inside the
functions, so importing this module stays cheap. Interactive Brokers needs the optional
``ib`` extra (``nautilus-gateway[ib]``, which brings ``nautilus-ibapi``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from engine.adapters.kinds import AdapterKind, Environment, Family
from engine.adapters.model import AdapterProfile, ProfileInvalid, ProfileIssue
from engine.adapters.service import required_secret_fields
from engine.credentials import Secret

IB_EXTRA: Final = "nautilus-gateway[ib]"
IB_CLIENT_ID: Final = (
    "INTERACTIVE_BROKERS"  # nautilus_trader.adapters.interactive_brokers.common.IB
)


class AdapterExtraMissing(ImportError):
    """An adapter's optional dependency is not installed; the message names the extra."""


@dataclass(frozen=True, slots=True)
class NautilusClients:
    """The client configs and factories a TradingNode needs for one profile.

    ``client_id`` is the key to use in ``TradingNodeConfig.data_clients`` /
    ``exec_clients`` and in ``node.add_data_client_factory(client_id, data_factory)``.
    ``data`` is ``None`` for the sandbox, which simulates execution only.
    """

    profile: str
    client_id: str
    data: Any | None
    exec: Any
    data_factory: type | None
    exec_factory: type


SecretsLike = Mapping[str, Secret | str]


def _plain(secrets: SecretsLike, profile: AdapterProfile) -> dict[str, str]:
    values = {k: (v.reveal() if isinstance(v, Secret) else v) for k, v in secrets.items()}
    missing = [f for f in required_secret_fields(profile) if not values.get(f)]
    if missing:
        raise ProfileInvalid(
            [
                ProfileIssue(
                    f"secrets.{f}",
                    f"not in the keyring; run: gateway adapters edit {profile.name} --secrets",
                )
                for f in missing
            ],
            source=f"profile {profile.name}",
        )
    return values


def build_client_configs(profile: AdapterProfile, secrets: SecretsLike) -> NautilusClients:
    """Return the Nautilus data and execution client configs for ``profile``.

    Parameters
    ----------
    profile : AdapterProfile
        The stored profile.
    secrets : mapping of str to Secret or str
        Its secrets (``api_key``/``api_secret``; IB ``username``/``password`` when the
        dockerized gateway is used), as read by ``AdapterService.secrets``.

    Raises
    ------
    ProfileInvalid
        A required secret is missing.
    AdapterExtraMissing
        IB was asked for and the ``ib`` extra is not installed.
    """
    values = _plain(secrets, profile)
    family = profile.family
    if family is Family.BINANCE:
        return _binance(profile, values)
    if family is Family.BYBIT:
        return _bybit(profile, values)
    if family is Family.INTERACTIVE_BROKERS:
        return _interactive_brokers(profile, values)
    return _sandbox(profile)


def _binance(profile: AdapterProfile, s: dict[str, str]) -> NautilusClients:
    from nautilus_trader.adapters.binance import (
        BINANCE,
        BinanceAccountType,
        BinanceDataClientConfig,
        BinanceExecClientConfig,
        BinanceInstrumentProviderConfig,
        BinanceLiveDataClientFactory,
        BinanceLiveExecClientFactory,
    )
    from nautilus_trader.adapters.binance.common.enums import BinanceEnvironment

    common: dict[str, Any] = {
        "api_key": s["api_key"],
        "api_secret": s["api_secret"],
        "account_type": BinanceAccountType(profile.account_type),
        "environment": BinanceEnvironment(profile.env.value.upper()),
        "base_url_http": profile.base_url_http,
        "base_url_ws": profile.base_url_ws,
        "proxy_url": profile.option("proxy_url"),
        "us": bool(profile.option("us")),
        "instrument_provider": BinanceInstrumentProviderConfig(
            load_all=bool(profile.option("load_all_instruments"))
        ),
    }
    data = BinanceDataClientConfig(**common)
    exec_config = BinanceExecClientConfig(
        **common,
        recv_window_ms=int(profile.option("recv_window_ms")),
        use_reduce_only=bool(profile.option("use_reduce_only")),
        use_position_ids=bool(profile.option("use_position_ids")),
    )
    return NautilusClients(
        profile.name,
        BINANCE,
        data,
        exec_config,
        BinanceLiveDataClientFactory,
        BinanceLiveExecClientFactory,
    )


_BYBIT_PRODUCT: Final = {
    AdapterKind.BYBIT_SPOT: "SPOT",
    AdapterKind.BYBIT_LINEAR: "LINEAR",
    AdapterKind.BYBIT_INVERSE: "INVERSE",
}
_BYBIT_ENV: Final = {
    Environment.LIVE: "MAINNET",
    Environment.TESTNET: "TESTNET",
    Environment.DEMO: "DEMO",
}


def _bybit(profile: AdapterProfile, s: dict[str, str]) -> NautilusClients:
    from nautilus_trader.adapters.bybit import (
        BYBIT,
        BybitDataClientConfig,
        BybitEnvironment,
        BybitExecClientConfig,
        BybitLiveDataClientFactory,
        BybitLiveExecClientFactory,
        BybitProductType,
    )
    from nautilus_trader.config import InstrumentProviderConfig

    common: dict[str, Any] = {
        "api_key": s["api_key"],
        "api_secret": s["api_secret"],
        "product_types": (getattr(BybitProductType, _BYBIT_PRODUCT[profile.kind]),),
        "environment": getattr(BybitEnvironment, _BYBIT_ENV[profile.env]),
        "base_url_http": profile.base_url_http,
        "proxy_url": profile.option("proxy_url"),
        "recv_window_ms": int(profile.option("recv_window_ms")),
        "instrument_provider": InstrumentProviderConfig(
            load_all=bool(profile.option("load_all_instruments"))
        ),
    }
    data = BybitDataClientConfig(**common)
    exec_config = BybitExecClientConfig(**common, base_url_ws_private=profile.base_url_ws)
    return NautilusClients(
        profile.name,
        BYBIT,
        data,
        exec_config,
        BybitLiveDataClientFactory,
        BybitLiveExecClientFactory,
    )


def _import_ib() -> Any:
    try:
        from nautilus_trader.adapters.interactive_brokers import config, factories
    except ImportError as exc:
        raise AdapterExtraMissing(
            "Interactive Brokers needs the optional extra: "
            f"pip install '{IB_EXTRA}' (or uv sync --extra ib); import failed: {exc}"
        ) from None
    return config, factories


def _interactive_brokers(profile: AdapterProfile, s: dict[str, str]) -> NautilusClients:
    ib_config, ib_factories = _import_ib()
    docker = None
    if profile.option("dockerized_gateway"):
        docker = ib_config.DockerizedIBGatewayConfig(
            username=s["username"],
            password=s["password"],
            trading_mode="live" if profile.env is Environment.LIVE else "paper",
            read_only_api=bool(profile.option("read_only_api")),
        )
    common: dict[str, Any] = {
        "ibg_host": profile.option("host"),
        "ibg_port": None if docker else profile.ib_port(),
        "ibg_client_id": int(profile.option("client_id")),
        "dockerized_gateway": docker,
    }
    data = ib_config.InteractiveBrokersDataClientConfig(**common)
    exec_config = ib_config.InteractiveBrokersExecClientConfig(
        **common, account_id=profile.option("account_id")
    )
    return NautilusClients(
        profile.name,
        IB_CLIENT_ID,
        data,
        exec_config,
        ib_factories.InteractiveBrokersLiveDataClientFactory,
        ib_factories.InteractiveBrokersLiveExecClientFactory,
    )


def _sandbox(profile: AdapterProfile) -> NautilusClients:
    from nautilus_trader.adapters.sandbox.config import SandboxExecutionClientConfig
    from nautilus_trader.adapters.sandbox.factory import SandboxLiveExecClientFactory

    venue = str(profile.option("venue")).upper()
    balances = [b.strip() for b in str(profile.option("starting_balances")).split(",") if b.strip()]
    exec_config = SandboxExecutionClientConfig(
        venue=venue,
        starting_balances=balances,
        base_currency=profile.option("base_currency"),
        oms_type=str(profile.option("oms_type")),
        account_type=str(profile.account_type),
    )
    return NautilusClients(
        profile.name, venue, None, exec_config, None, SandboxLiveExecClientFactory
    )
