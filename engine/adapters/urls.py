"""Default REST base URLs per kind and environment, as NautilusTrader 1.231 uses them.

Kept here (and checked against Nautilus by a unit test) so that ``adapters test`` need
not import Nautilus, which takes seconds.
"""

from __future__ import annotations

from typing import Final

from engine.adapters.kinds import AdapterKind, Environment

_E = Environment
_K = AdapterKind

_BYBIT: Final = {
    _E.LIVE: "https://api.bybit.com",
    _E.TESTNET: "https://api-testnet.bybit.com",
    _E.DEMO: "https://api-demo.bybit.com",
}

DEFAULT_HTTP_URLS: Final[dict[tuple[AdapterKind, Environment], str]] = {
    (_K.BINANCE_SPOT, _E.LIVE): "https://api.binance.com",
    (_K.BINANCE_SPOT, _E.TESTNET): "https://testnet.binance.vision",
    (_K.BINANCE_SPOT, _E.DEMO): "https://demo-api.binance.com",
    (_K.BINANCE_USDT_FUTURES, _E.LIVE): "https://fapi.binance.com",
    (_K.BINANCE_USDT_FUTURES, _E.TESTNET): "https://demo-fapi.binance.com",
    (_K.BINANCE_USDT_FUTURES, _E.DEMO): "https://demo-fapi.binance.com",
    (_K.BINANCE_COIN_FUTURES, _E.LIVE): "https://dapi.binance.com",
    (_K.BINANCE_COIN_FUTURES, _E.TESTNET): "https://testnet.binancefuture.com",
    (_K.BINANCE_COIN_FUTURES, _E.DEMO): "https://demo-dapi.binance.com",
    **{(k, e): url for k in (_K.BYBIT_SPOT, _K.BYBIT_LINEAR, _K.BYBIT_INVERSE)
       for e, url in _BYBIT.items()},
}  # fmt: skip

BINANCE_US_SPOT: Final = "https://api.binance.us"


def default_http_url(kind: AdapterKind, environment: Environment, us: bool = False) -> str:
    """Return the REST base URL Nautilus would use for this kind and environment."""
    if us and kind is AdapterKind.BINANCE_SPOT and environment is Environment.LIVE:
        return BINANCE_US_SPOT
    try:
        return DEFAULT_HTTP_URLS[(kind, environment)]
    except KeyError:
        raise ValueError(f"{kind.value} has no REST API") from None
