"""A Binance REST stand-in: spot, USDT-M and COIN-M time and account endpoints, and spot
``exchangeInfo`` (one symbol, BTCUSDT), as the Nautilus adapter reads them on connect.

Verifies requests as Binance does: ``X-MBX-APIKEY`` header, ``timestamp`` within
``recvWindow`` of the server clock (and not more than 1 s ahead), and ``signature`` =
HMAC-SHA256(secret, query string before ``&signature=``). Errors use Binance's codes,
messages, HTTP statuses and ``{"code": …, "msg": …}`` shape.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from typing import Any

from tests.integration.standins.http_base import StandinServer

_TIME_PATHS = {"/api/v3/time", "/fapi/v1/time", "/dapi/v1/time"}
_EXCHANGE_INFO_PATH = "/api/v3/exchangeInfo"
_ACCOUNT_PATHS = {"/api/v3/account", "/fapi/v2/balance", "/dapi/v1/balance"}
_KEY_FORMAT = re.compile(r"^[A-Za-z0-9]{16,128}$")


def _error(status: int, code: int, msg: str) -> tuple[int, Any]:
    return status, {"code": code, "msg": msg}


class BinanceStandin(StandinServer):
    """Binance's REST API, enough for ``adapters test``."""

    def server_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self.clock_offset_ms

    def handle(self, path: str, query: str, headers: dict[str, str]) -> tuple[int, Any]:
        if path in _TIME_PATHS:
            return 200, {"serverTime": self.server_ms()}
        if path == _EXCHANGE_INFO_PATH:
            return 200, spot_exchange_info(self.server_ms())
        if path not in _ACCOUNT_PATHS:
            return 404, {"code": -1000, "msg": "Not found"}
        api_key = headers.get("x-mbx-apikey", "")
        if not _KEY_FORMAT.match(api_key):
            return _error(401, -2014, "API-key format invalid.")
        body, sep, signature = query.rpartition("&signature=")
        if not sep:
            return _error(
                400,
                -1102,
                "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.",
            )
        params = self.params(body)
        try:
            timestamp = int(params["timestamp"])
            recv_window = int(params.get("recvWindow", "5000"))
        except (KeyError, ValueError):
            return _error(
                400,
                -1102,
                "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.",
            )
        if recv_window > 60000:
            return _error(400, -1131, "recvWindow must be less than 60000")
        now = self.server_ms()
        if timestamp >= now + 1000:
            return _error(
                400, -1021, "Timestamp for this request was 1000ms ahead of the server's time."
            )
        if now - timestamp > recv_window:
            return _error(400, -1021, "Timestamp for this request is outside of the recvWindow.")
        secret = self.keys.get(api_key)
        if secret is None:
            return _error(401, -2015, "Invalid API-key, IP, or permissions for action.")
        expected = hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature.lower()):
            return _error(400, -1022, "Signature for this request is not valid.")
        if api_key in self.denied:
            return _error(401, -2015, "Invalid API-key, IP, or permissions for action.")
        if path == "/api/v3/account":
            return 200, {
                "makerCommission": 10, "takerCommission": 10, "buyerCommission": 0,
                "sellerCommission": 0, "commissionRates": {"maker": "0.00100000",
                "taker": "0.00100000", "buyer": "0.00000000", "seller": "0.00000000"},
                "canTrade": True, "canWithdraw": False, "canDeposit": True,
                "brokered": False, "requireSelfTradePrevention": False, "preventSor": False,
                "updateTime": now,
                "accountType": "SPOT", "balances": [
                    {"asset": "BTC", "free": "1.00000000", "locked": "0.00000000"},
                ], "permissions": ["SPOT"],
            }  # fmt: skip
        asset = "USDT" if path.startswith("/fapi") else "BTC"
        return 200, [
            {"accountAlias": "SgsR", "asset": asset, "balance": "122607.35137903",
             "crossWalletBalance": "23.72469206", "crossUnPnl": "0.00000000",
             "availableBalance": "23.72469206", "maxWithdrawAmount": "23.72469206",
             "marginAvailable": True, "updateTime": now},
        ]  # fmt: skip


def spot_exchange_info(server_ms: int) -> dict[str, Any]:
    """``GET /api/v3/exchangeInfo`` as Binance answers it, with BTCUSDT only."""
    return {
        "timezone": "UTC", "serverTime": server_ms,
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
             "limit": 6000},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
        ],
        "exchangeFilters": [],
        "symbols": [{
            "symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC",
            "baseAssetPrecision": 8, "quoteAsset": "USDT", "quotePrecision": 8,
            "quoteAssetPrecision": 8, "baseCommissionPrecision": 8,
            "quoteCommissionPrecision": 8,
            "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT",
                           "TAKE_PROFIT_LIMIT"],
            "icebergAllowed": True, "ocoAllowed": True, "otoAllowed": True,
            "quoteOrderQtyMarketAllowed": True, "allowTrailingStop": True,
            "cancelReplaceAllowed": True, "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": "0.01000000",
                 "maxPrice": "1000000.00000000", "tickSize": "0.01000000"},
                {"filterType": "LOT_SIZE", "minQty": "0.00001000", "maxQty": "9000.00000000",
                 "stepSize": "0.00001000"},
                {"filterType": "NOTIONAL", "minNotional": "5.00000000",
                 "applyMinToMarket": True, "maxNotional": "9000000.00000000",
                 "applyMaxToMarket": False, "avgPriceMins": 5},
            ],
            "permissions": [], "permissionSets": [["SPOT"]],
            "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
            "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
        }],
    }  # fmt: skip
