"""A Bybit v5 REST stand-in: ``/v5/market/time`` and ``/v5/account/wallet-balance``.

Verifies requests as Bybit v5 does: ``X-BAPI-API-KEY``, ``X-BAPI-TIMESTAMP``,
``X-BAPI-RECV-WINDOW`` and ``X-BAPI-SIGN`` = HMAC-SHA256(secret, timestamp + key +
recv_window + query string); the rule ``server - recv_window <= timestamp < server +
1000``. Answers use Bybit's envelope ``{retCode, retMsg, result, retExtInfo, time}`` and
its codes 10002, 10003, 10004, 10005.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

from tests.integration.standins.http_base import StandinServer


class BybitStandin(StandinServer):
    """Bybit's v5 REST API, enough for ``adapters test``."""

    def server_ns(self) -> int:
        return time.time_ns() + self.clock_offset_ms * 1_000_000

    def _reply(self, code: int, msg: str, result: Any = None) -> tuple[int, Any]:
        return 200, {
            "retCode": code, "retMsg": msg, "result": {} if result is None else result,
            "retExtInfo": {}, "time": self.server_ns() // 1_000_000,
        }  # fmt: skip

    def handle(self, path: str, query: str, headers: dict[str, str]) -> tuple[int, Any]:
        if path == "/v5/market/time":
            ns = self.server_ns()
            return self._reply(0, "OK", {"timeSecond": str(ns // 10**9), "timeNano": str(ns)})
        if path != "/v5/account/wallet-balance":
            return 404, {"retCode": 10001, "retMsg": "Not found", "result": {}}
        api_key = headers.get("x-bapi-api-key", "")
        secret = self.keys.get(api_key)
        if secret is None:
            return self._reply(10003, "API key is invalid.")
        try:
            timestamp = int(headers["x-bapi-timestamp"])
            recv_window = int(headers.get("x-bapi-recv-window", "5000"))
        except (KeyError, ValueError):
            return self._reply(10001, "params error: X-BAPI-TIMESTAMP missing")
        server = self.server_ns() // 1_000_000
        if not server - recv_window <= timestamp < server + 1000:
            return self._reply(
                10002,
                "invalid request, please check your server timestamp or recv_window param. "
                f"req_timestamp[{timestamp}],server_timestamp[{server}],"
                f"recv_window[{recv_window}]",
            )
        payload = f"{timestamp}{api_key}{recv_window}{query}"
        expected = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, headers.get("x-bapi-sign", "")):
            # Bybit echoes the origin string it signed; it holds no secret.
            return self._reply(10004, f"error sign! origin_string[{payload}]")
        if api_key in self.denied:
            return self._reply(10005, "Permission denied, please check your API key permissions.")
        account_type = self.params(query).get("accountType", "")
        if account_type not in {"UNIFIED", "CONTRACT", "SPOT"}:
            return self._reply(10001, "accountType only support UNIFIED.")
        return self._reply(
            0, "OK",
            {"list": [{"accountType": account_type, "totalEquity": "3.31216591",
                       "totalWalletBalance": "3.31216591", "coin": [
                           {"coin": "USDT", "equity": "3.31216591", "walletBalance": "3.31216591"}
                       ]}]},
        )  # fmt: skip
