"""The adapter kinds a profile can name, and what each accepts.

One table says, per kind: the exchange family, the environments and account types it
supports, the secret fields it keeps in the keyring, and the options it understands.
The model, the CLI, the console form and the probe all read this table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final


class AdapterKind(StrEnum):
    """What a profile connects to."""

    BINANCE_SPOT = "binance_spot"
    BINANCE_USDT_FUTURES = "binance_usdt_futures"
    BINANCE_COIN_FUTURES = "binance_coin_futures"
    BYBIT_SPOT = "bybit_spot"
    BYBIT_LINEAR = "bybit_linear"
    BYBIT_INVERSE = "bybit_inverse"
    IB_TWS = "ib_tws"
    IB_GATEWAY = "ib_gateway"
    SANDBOX = "sandbox"


class Family(StrEnum):
    """The exchange (or simulator) behind a kind."""

    BINANCE = "binance"
    BYBIT = "bybit"
    INTERACTIVE_BROKERS = "interactive_brokers"
    SANDBOX = "sandbox"


class Environment(StrEnum):
    """Real money, the exchange's testnet, or its demo / paper-trading environment."""

    LIVE = "live"
    TESTNET = "testnet"
    DEMO = "demo"


OptionValue = str | int | float | bool


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """One option a kind understands."""

    type: type[OptionValue]
    default: OptionValue | None
    help: str
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class KindInfo:
    """What one adapter kind accepts."""

    kind: AdapterKind
    family: Family
    label: str
    environments: tuple[Environment, ...]
    default_environment: Environment
    account_types: tuple[str, ...]
    secret_fields: tuple[str, ...] = ()
    optional_secret_fields: tuple[str, ...] = ()
    options: Mapping[str, OptionSpec] = field(default_factory=dict)
    takes_base_urls: bool = False

    @property
    def all_secret_fields(self) -> tuple[str, ...]:
        return self.secret_fields + self.optional_secret_fields


_ALL_ENVS = (Environment.LIVE, Environment.TESTNET, Environment.DEMO)
_API_KEYS = ("api_key", "api_secret")

_BINANCE_OPTIONS: Final[Mapping[str, OptionSpec]] = {
    "recv_window_ms": OptionSpec(int, 5000, "receive window of signed requests (ms)"),
    "load_all_instruments": OptionSpec(bool, False, "load every instrument on start"),
    "use_reduce_only": OptionSpec(bool, True, "send reduce_only through to the exchange"),
    "use_position_ids": OptionSpec(bool, True, "use futures hedging position ids"),
    "proxy_url": OptionSpec(str, None, "HTTP/WebSocket proxy URL"),
}
_BYBIT_OPTIONS: Final[Mapping[str, OptionSpec]] = {
    "recv_window_ms": OptionSpec(int, 5000, "receive window of signed requests (ms)"),
    "load_all_instruments": OptionSpec(bool, False, "load every instrument on start"),
    "proxy_url": OptionSpec(str, None, "HTTP/WebSocket proxy URL"),
}
_IB_OPTIONS: Final[Mapping[str, OptionSpec]] = {
    "host": OptionSpec(str, "127.0.0.1", "TWS / IB Gateway host"),
    "port": OptionSpec(int, None, "API port (default by kind and environment)"),
    "client_id": OptionSpec(int, 1, "API client id"),
    "account_id": OptionSpec(str, None, "IB account id, e.g. DU123456"),
    "dockerized_gateway": OptionSpec(
        bool, False, "start IB Gateway in Docker (needs username and password)"
    ),
    "read_only_api": OptionSpec(bool, True, "dockerized gateway: read-only API"),
}
_SANDBOX_OPTIONS: Final[Mapping[str, OptionSpec]] = {
    "venue": OptionSpec(str, "SIM", "simulated venue id, upper case"),
    "starting_balances": OptionSpec(str, "100000 USD", "comma-separated, e.g. '1 BTC,1000 USDT'"),
    "base_currency": OptionSpec(str, None, "account base currency, e.g. USD"),
    "oms_type": OptionSpec(str, "NETTING", "order management", ("NETTING", "HEDGING")),
}

KINDS: Final[Mapping[AdapterKind, KindInfo]] = {
    AdapterKind.BINANCE_SPOT: KindInfo(
        AdapterKind.BINANCE_SPOT, Family.BINANCE, "Binance spot", _ALL_ENVS,
        Environment.TESTNET, ("SPOT", "MARGIN", "ISOLATED_MARGIN"), _API_KEYS,
        options={**_BINANCE_OPTIONS, "us": OptionSpec(bool, False, "Binance US")},
        takes_base_urls=True,
    ),
    AdapterKind.BINANCE_USDT_FUTURES: KindInfo(
        AdapterKind.BINANCE_USDT_FUTURES, Family.BINANCE, "Binance USDT-M futures", _ALL_ENVS,
        Environment.TESTNET, ("USDT_FUTURES",), _API_KEYS, options=_BINANCE_OPTIONS,
        takes_base_urls=True,
    ),
    AdapterKind.BINANCE_COIN_FUTURES: KindInfo(
        AdapterKind.BINANCE_COIN_FUTURES, Family.BINANCE, "Binance COIN-M futures", _ALL_ENVS,
        Environment.TESTNET, ("COIN_FUTURES",), _API_KEYS, options=_BINANCE_OPTIONS,
        takes_base_urls=True,
    ),
    AdapterKind.BYBIT_SPOT: KindInfo(
        AdapterKind.BYBIT_SPOT, Family.BYBIT, "Bybit spot", _ALL_ENVS, Environment.TESTNET,
        ("UNIFIED", "SPOT"), _API_KEYS, options=_BYBIT_OPTIONS, takes_base_urls=True,
    ),
    AdapterKind.BYBIT_LINEAR: KindInfo(
        AdapterKind.BYBIT_LINEAR, Family.BYBIT, "Bybit linear (USDT/USDC perpetuals)", _ALL_ENVS,
        Environment.TESTNET, ("UNIFIED", "CONTRACT"), _API_KEYS, options=_BYBIT_OPTIONS,
        takes_base_urls=True,
    ),
    AdapterKind.BYBIT_INVERSE: KindInfo(
        AdapterKind.BYBIT_INVERSE, Family.BYBIT, "Bybit inverse", _ALL_ENVS,
        Environment.TESTNET, ("UNIFIED", "CONTRACT"), _API_KEYS, options=_BYBIT_OPTIONS,
        takes_base_urls=True,
    ),
    AdapterKind.IB_TWS: KindInfo(
        AdapterKind.IB_TWS, Family.INTERACTIVE_BROKERS, "Interactive Brokers TWS",
        (Environment.LIVE, Environment.DEMO), Environment.DEMO, ("MARGIN", "CASH"),
        optional_secret_fields=("username", "password"), options=_IB_OPTIONS,
    ),
    AdapterKind.IB_GATEWAY: KindInfo(
        AdapterKind.IB_GATEWAY, Family.INTERACTIVE_BROKERS, "Interactive Brokers Gateway",
        (Environment.LIVE, Environment.DEMO), Environment.DEMO, ("MARGIN", "CASH"),
        optional_secret_fields=("username", "password"), options=_IB_OPTIONS,
    ),
    AdapterKind.SANDBOX: KindInfo(
        AdapterKind.SANDBOX, Family.SANDBOX, "Sandbox (simulated fills)", _ALL_ENVS,
        Environment.DEMO, ("MARGIN", "CASH"), options=_SANDBOX_OPTIONS,
    ),
}  # fmt: skip

# Every secret field any kind keeps: removing a profile deletes all of them, so an entry
# left by an earlier kind of the same profile cannot survive.
ALL_SECRET_FIELDS: Final[tuple[str, ...]] = tuple(
    dict.fromkeys(f for info in KINDS.values() for f in info.all_secret_fields)
)

# IB's default API ports: TWS 7496 live / 7497 paper, Gateway 4001 live / 4002 paper.
IB_DEFAULT_PORTS: Final[Mapping[tuple[AdapterKind, Environment], int]] = {
    (AdapterKind.IB_TWS, Environment.LIVE): 7496,
    (AdapterKind.IB_TWS, Environment.DEMO): 7497,
    (AdapterKind.IB_GATEWAY, Environment.LIVE): 4001,
    (AdapterKind.IB_GATEWAY, Environment.DEMO): 4002,
}


def kind_info(kind: AdapterKind | str) -> KindInfo:
    """Return the table entry for ``kind``."""
    return KINDS[AdapterKind(kind)]
