"""Request signing exactly as Binance and Bybit (v5) require it."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import urlencode


def hmac_sha256_hex(secret: str, payload: str) -> str:
    """Return the lower-case hex HMAC-SHA256 of ``payload`` keyed by ``secret``."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def binance_signed_query(
    params: Mapping[str, str | int], api_secret: str, timestamp_ms: int, recv_window_ms: int
) -> str:
    """Return the query string of a Binance SIGNED request, ``signature`` last.

    Binance signs the query string as sent (``totalParams``), with ``recvWindow`` and
    ``timestamp`` among the parameters; the key goes in the ``X-MBX-APIKEY`` header.
    """
    query = urlencode({**params, "recvWindow": recv_window_ms, "timestamp": timestamp_ms})
    return f"{query}&signature={hmac_sha256_hex(api_secret, query)}"


def bybit_headers(
    api_key: str, api_secret: str, query: str, timestamp_ms: int, recv_window_ms: int
) -> dict[str, str]:
    """Return the headers of a Bybit v5 signed GET request.

    ``X-BAPI-SIGN`` is HMAC-SHA256 of ``timestamp + api_key + recv_window + query``.
    """
    payload = f"{timestamp_ms}{api_key}{recv_window_ms}{query}"
    return {
        "X-BAPI-API-KEY": api_key,
        "X-BAPI-TIMESTAMP": str(timestamp_ms),
        "X-BAPI-RECV-WINDOW": str(recv_window_ms),
        "X-BAPI-SIGN": hmac_sha256_hex(api_secret, payload),
        "X-BAPI-SIGN-TYPE": "2",
    }
