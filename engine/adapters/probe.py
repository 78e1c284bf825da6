"""``adapters test NAME``: can this profile reach its venue, and do its keys work?

Binance and Bybit get real requests to the profile's REST base URL: the server time
first (reachable? how far off is our clock?), then a signed account/balance call (do
the key, secret and permissions work?). Interactive Brokers gets a TCP connection and
the TWS API handshake. Each outcome is one :class:`ProbeState`, with the venue's own
error code and message. Secrets never appear in a result.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Final

from engine.adapters.kinds import AdapterKind, Family
from engine.adapters.model import AdapterProfile
from engine.adapters.service import required_secret_fields
from engine.adapters.signing import binance_signed_query, bybit_headers
from engine.adapters.urls import default_http_url
from engine.credentials import Secret

DEFAULT_TIMEOUT: Final = 5.0
USER_AGENT: Final = "nautilus-gateway-probe/1"
# TWS API client versions we announce (ibapi's MIN_CLIENT_VER .. MAX_CLIENT_VER).
IB_MIN_VERSION: Final = 100
IB_MAX_VERSION: Final = 176


class ProbeState(StrEnum):
    """The outcome of a probe, most useful first."""

    AUTHENTICATED = "authenticated"  # signed call accepted
    REACHABLE = "reachable"  # venue answered; no signed call made (IB, sandbox, no keys)
    INVALID_KEY = "invalid_key"  # key unknown/malformed, or signature wrong (secret)
    CLOCK_SKEW = "clock_skew"  # timestamp outside the receive window
    PERMISSION_MISSING = "permission_missing"  # key valid but not allowed (or IP)
    UNREACHABLE = "unreachable"  # no connection, timeout, or not that API
    ERROR = "error"  # any other answer from the venue


OK_STATES: Final = frozenset({ProbeState.AUTHENTICATED, ProbeState.REACHABLE})


@dataclass(frozen=True, slots=True)
class ProbeStep:
    """One request of a probe."""

    name: str
    target: str
    ok: bool
    elapsed_ms: float
    http_status: int | None = None


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What a probe found; ``ok`` is true for authenticated (or reachable, for IB)."""

    profile: str
    kind: str
    state: ProbeState
    message: str
    target: str
    code: int | str | None = None
    venue_message: str | None = None
    clock_offset_ms: int | None = None
    details: dict[str, Any] = field(default_factory=dict)
    steps: list[ProbeStep] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.state in OK_STATES

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["state"] = self.state.value
        data["ok"] = self.ok
        return data


@dataclass(frozen=True, slots=True)
class _Reply:
    status: int | None
    body: Any
    elapsed_ms: float
    error: str | None = None  # transport failure


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


# Retries of a connection that failed to open (nothing was sent), with httpx's backoff.
CONNECT_RETRIES = 2


def _get(url: str, headers: Mapping[str, str], timeout: float) -> _Reply:
    import httpx

    start = time.perf_counter()
    transport = httpx.HTTPTransport(retries=CONNECT_RETRIES)
    try:
        with httpx.Client(transport=transport, timeout=timeout) as client:
            # 4xx/5xx still carry the venue's JSON: read whatever status came back.
            response = client.get(url, headers={"User-Agent": USER_AGENT, **headers})
            status, raw = response.status_code, response.content
    except (httpx.HTTPError, OSError) as exc:
        return _Reply(None, None, (time.perf_counter() - start) * 1000, str(exc) or repr(exc))
    elapsed = (time.perf_counter() - start) * 1000
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    return _Reply(status, body, elapsed)


def _base(profile: AdapterProfile) -> str:
    if profile.base_url_http:
        return profile.base_url_http.rstrip("/")
    return default_http_url(profile.kind, profile.env, bool(profile.option("us")))


def _step(name: str, url: str, reply: _Reply, ok: bool) -> ProbeStep:
    target = url.split("?", 1)[0]  # never keep the signed query
    return ProbeStep(name, target, ok, round(reply.elapsed_ms, 1), reply.status)


def _unreachable(
    profile: AdapterProfile, url: str, reply: _Reply, steps: list[ProbeStep]
) -> ProbeResult:
    target = url.split("?", 1)[0]
    if reply.error is not None:
        why = reply.error
    elif reply.body is None:
        why = f"HTTP {reply.status} without JSON: not the {profile.info.label} API?"
    else:
        why = f"HTTP {reply.status}: unexpected answer {str(reply.body)[:200]}"
    return ProbeResult(
        profile.name, profile.kind.value, ProbeState.UNREACHABLE, f"{target}: {why}", target,
        steps=steps,
    )  # fmt: skip


# -- Binance ------------------------------------------------------------------------------

_BINANCE_PATHS: Final = {
    AdapterKind.BINANCE_SPOT: ("/api/v3/time", "/api/v3/account", {"omitZeroBalances": "true"}),
    AdapterKind.BINANCE_USDT_FUTURES: ("/fapi/v1/time", "/fapi/v2/balance", {}),
    AdapterKind.BINANCE_COIN_FUTURES: ("/dapi/v1/time", "/dapi/v1/balance", {}),
}
_BINANCE_STATES: Final = {
    -2014: ProbeState.INVALID_KEY,  # API-key format invalid
    -1022: ProbeState.INVALID_KEY,  # signature not valid: the secret does not match
    -2008: ProbeState.INVALID_KEY,  # invalid Api-Key ID
    -2015: ProbeState.PERMISSION_MISSING,  # invalid API-key, IP, or permissions for action
    -1021: ProbeState.CLOCK_SKEW,  # timestamp outside recvWindow / ahead of server
}
_BINANCE_HINTS: Final = {
    ProbeState.INVALID_KEY: "the API key or secret is wrong",
    ProbeState.PERMISSION_MISSING: (
        "Binance refused the key: it is unknown here (live vs testnet?), this IP is not "
        "whitelisted, or the key lacks permission for this product"
    ),
    ProbeState.CLOCK_SKEW: "this machine's clock is off: sync it (NTP) or raise recv_window_ms",
}


def _probe_binance(profile: AdapterProfile, s: Mapping[str, str], timeout: float) -> ProbeResult:
    time_path, account_path, extra = _BINANCE_PATHS[profile.kind]
    base = _base(profile)
    steps: list[ProbeStep] = []
    url = base + time_path
    reply = _get(url, {}, timeout)
    server_ms = reply.body.get("serverTime") if isinstance(reply.body, dict) else None
    steps.append(_step("server_time", url, reply, isinstance(server_ms, int)))
    if not isinstance(server_ms, int) or reply.status != 200:
        return _unreachable(profile, url, reply, steps)
    offset = int(server_ms - (_now_ms() - reply.elapsed_ms / 2))
    recv_window = int(profile.option("recv_window_ms"))
    query = binance_signed_query(extra, s["api_secret"], _now_ms(), recv_window)
    url = f"{base}{account_path}?{query}"
    reply = _get(url, {"X-MBX-APIKEY": s["api_key"]}, timeout)
    ok = reply.status == 200 and reply.body is not None
    steps.append(_step("account", url, reply, ok))
    target = base + account_path
    if ok:
        details: dict[str, Any] = {}
        if isinstance(reply.body, dict):
            details = {k: reply.body[k] for k in ("canTrade", "accountType") if k in reply.body}
        elif isinstance(reply.body, list):
            details = {"assets": len(reply.body)}
        return ProbeResult(
            profile.name, profile.kind.value, ProbeState.AUTHENTICATED,
            f"signed {account_path} accepted", target, clock_offset_ms=offset,
            details=details, steps=steps,
        )  # fmt: skip
    body = reply.body if isinstance(reply.body, dict) else {}
    code, msg = body.get("code"), body.get("msg")
    if not isinstance(code, int):
        return _unreachable(profile, url, reply, steps)
    state = _BINANCE_STATES.get(code, ProbeState.ERROR)
    hint = _BINANCE_HINTS.get(state, "the venue refused the request")
    return ProbeResult(
        profile.name, profile.kind.value, state, f"{hint} (Binance {code}: {msg})", target,
        code=code, venue_message=msg, clock_offset_ms=offset, steps=steps,
    )  # fmt: skip


# -- Bybit --------------------------------------------------------------------------------

_BYBIT_STATES: Final = {
    10003: ProbeState.INVALID_KEY,  # API key is invalid
    10004: ProbeState.INVALID_KEY,  # error sign: the secret does not match
    10005: ProbeState.PERMISSION_MISSING,  # permission denied
    10010: ProbeState.PERMISSION_MISSING,  # unmatched IP (not whitelisted)
    10002: ProbeState.CLOCK_SKEW,  # timestamp / recv_window
}
_BYBIT_HINTS: Final = {
    ProbeState.INVALID_KEY: "the API key or secret is wrong (live vs testnet vs demo?)",
    ProbeState.PERMISSION_MISSING: "the key lacks a permission, or this IP is not whitelisted",
    ProbeState.CLOCK_SKEW: "this machine's clock is off: sync it (NTP) or raise recv_window_ms",
}


def _probe_bybit(profile: AdapterProfile, s: Mapping[str, str], timeout: float) -> ProbeResult:
    base = _base(profile)
    steps: list[ProbeStep] = []
    url = base + "/v5/market/time"
    reply = _get(url, {}, timeout)
    body = reply.body if isinstance(reply.body, dict) else {}
    result = body.get("result") if isinstance(body.get("result"), dict) else {}
    server_ms: int | None = None
    if body.get("retCode") == 0 and isinstance(result, dict) and "timeNano" in result:
        server_ms = int(result["timeNano"]) // 1_000_000
    steps.append(_step("server_time", url, reply, server_ms is not None))
    if server_ms is None:
        return _unreachable(profile, url, reply, steps)
    offset = int(server_ms - (_now_ms() - reply.elapsed_ms / 2))
    recv_window = int(profile.option("recv_window_ms"))
    query = f"accountType={profile.account_type}"
    headers = bybit_headers(s["api_key"], s["api_secret"], query, _now_ms(), recv_window)
    url = f"{base}/v5/account/wallet-balance?{query}"
    reply = _get(url, headers, timeout)
    body = reply.body if isinstance(reply.body, dict) else {}
    code, msg = body.get("retCode"), body.get("retMsg")
    ok = code == 0
    steps.append(_step("wallet_balance", url, reply, ok))
    target = base + "/v5/account/wallet-balance"
    if ok:
        accounts = (body.get("result") or {}).get("list") or []
        return ProbeResult(
            profile.name, profile.kind.value, ProbeState.AUTHENTICATED,
            "signed /v5/account/wallet-balance accepted", target, code=0,
            clock_offset_ms=offset, details={"accounts": len(accounts)}, steps=steps,
        )  # fmt: skip
    if not isinstance(code, int):
        return _unreachable(profile, url, reply, steps)
    state = _BYBIT_STATES.get(code, ProbeState.ERROR)
    hint = _BYBIT_HINTS.get(state, "the venue refused the request")
    return ProbeResult(
        profile.name, profile.kind.value, state, f"{hint} (Bybit {code}: {msg})", target,
        code=code, venue_message=msg, clock_offset_ms=offset, steps=steps,
    )  # fmt: skip


# -- Interactive Brokers ------------------------------------------------------------------


def ib_handshake_request(
    min_version: int = IB_MIN_VERSION, max_version: int = IB_MAX_VERSION
) -> bytes:
    """Return the TWS API greeting: ``API\\0`` and the length-prefixed version range."""
    text = f"v{min_version}..{max_version}".encode("ascii")
    return b"API\0" + struct.pack(">I", len(text)) + text


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("closed by the server")
        data += chunk
    return data


def _probe_ib(profile: AdapterProfile, timeout: float) -> ProbeResult:
    host, port = str(profile.option("host")), profile.ib_port()
    target = f"{host}:{port}"
    start = time.perf_counter()

    def elapsed() -> float:
        return round((time.perf_counter() - start) * 1000, 1)

    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        step = ProbeStep("connect", target, False, elapsed())
        why = exc.strerror or str(exc) or type(exc).__name__
        app = "TWS" if profile.kind is AdapterKind.IB_TWS else "IB Gateway"
        return ProbeResult(
            profile.name, profile.kind.value, ProbeState.UNREACHABLE,
            f"cannot connect to {target}: {why}; is {app} running with the API enabled "
            f"on this port?", target, steps=[step],
        )  # fmt: skip
    steps = [ProbeStep("connect", target, True, elapsed())]
    try:
        with sock:
            sock.sendall(ib_handshake_request())
            (length,) = struct.unpack(">I", _recv_exact(sock, 4))
            fields = _recv_exact(sock, length).split(b"\0")
    except (OSError, struct.error) as exc:
        steps.append(ProbeStep("handshake", target, False, elapsed()))
        return ProbeResult(
            profile.name, profile.kind.value, ProbeState.PERMISSION_MISSING,
            f"{target} accepted the connection but ended the API handshake ({exc}): enable "
            "'ActiveX and Socket Clients' and add this host to the trusted IPs",
            target, steps=steps,
        )  # fmt: skip
    steps.append(ProbeStep("handshake", target, True, elapsed()))
    try:
        server_version = int(fields[0])
    except (ValueError, IndexError):
        return ProbeResult(
            profile.name, profile.kind.value, ProbeState.ERROR,
            f"{target} answered the handshake with {fields[:2]!r}: not the TWS API", target,
            steps=steps,
        )  # fmt: skip
    conn_time = fields[1].decode(errors="replace") if len(fields) > 1 else ""
    return ProbeResult(
        profile.name, profile.kind.value, ProbeState.REACHABLE,
        f"API handshake ok: server version {server_version}, connection time {conn_time}",
        target, details={"server_version": server_version, "connection_time": conn_time},
        steps=steps,
    )  # fmt: skip


# -- entry points -------------------------------------------------------------------------


class ProbeMissingSecrets(ValueError):
    """The profile's required secrets are not stored; the message names the fields."""


def probe(
    profile: AdapterProfile,
    secrets: Mapping[str, Secret | str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> ProbeResult:
    """Probe ``profile`` (blocking; see :func:`probe_async` for event loops).

    Raises
    ------
    ProbeMissingSecrets
        Binance/Bybit without ``api_key``/``api_secret`` in ``secrets``.
    """
    family = profile.family
    if family is Family.INTERACTIVE_BROKERS:
        return _probe_ib(profile, timeout)
    if family is Family.SANDBOX:
        return ProbeResult(
            profile.name, profile.kind.value, ProbeState.REACHABLE,
            "the sandbox simulates execution in the node: nothing to connect to", "local",
        )  # fmt: skip
    plain = {k: (v.reveal() if isinstance(v, Secret) else v) for k, v in secrets.items()}
    missing = [f for f in required_secret_fields(profile) if not plain.get(f)]
    if missing:
        raise ProbeMissingSecrets(
            f"profile {profile.name!r} has no {', '.join(missing)} in the keyring; "
            f"run: gateway adapters edit {profile.name} --secrets"
        )
    if family is Family.BINANCE:
        return _probe_binance(profile, plain, timeout)
    return _probe_bybit(profile, plain, timeout)


async def probe_async(
    profile: AdapterProfile,
    secrets: Mapping[str, Secret | str],
    *,
    timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109 - per request, passed to httpx
) -> ProbeResult:
    """Probe ``profile`` in a worker thread, so an event loop (the console) never blocks."""
    return await asyncio.to_thread(probe, profile, secrets, timeout=timeout)
