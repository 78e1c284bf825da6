"""A small typed client (SDK) for the gateway API, over httpx (and websockets for events).

    from api.client import GatewayClient

    with GatewayClient("http://127.0.0.1:8700", token) as gw:
        for node in gw.nodes():
            print(node.node_id, node.mode, node.ok)
        launched = gw.launch("demo-sandbox", wait="running", timeout_s=30)
        print(launched.outcome.state)  # running, or failed with launched.outcome.error

Every call returns the server's typed model or raises :class:`GatewayError` carrying the
error model (``code``, ``field``, ``value``, ``expected``, ``message``) and the status.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter

from engine.services.adapters import (
    AdapterDetail,
    AdapterProbe,
    AdapterRemoved,
    AdapterSummary,
)
from engine.services.models import (
    Alert,
    AuditEntryOut,
    AuditVerifyResult,
    ConfigDocument,
    ConfigSummary,
    DeletedConfig,
    ErrorBody,
    EventPage,
    KillSwitchResult,
    Launched,
    MetricsSample,
    NodeState,
    OrderCheck,
    OrderCommandReply,
    OrderList,
    OrderOutcome,
    PersistedStateView,
    PositionsSnapshot,
    ReconciliationView,
    RiskView,
    RunResults,
    RunSummary,
    SavedConfig,
    Stopped,
    ValidationResult,
    WaitFor,
)

M = TypeVar("M", bound=BaseModel)
DEFAULT_WAIT_S = 60.0  # the server's, for a wait without timeout_s


def _wait_body(wait: WaitFor | None, timeout_s: float | None, **fields: Any) -> dict[str, Any]:
    body = {k: v for k, v in fields.items() if v is not None}
    if wait is not None:
        body["wait"] = wait
    if timeout_s is not None:
        body["timeout_s"] = timeout_s
    return body


class GatewayError(Exception):
    """The server refused or failed a call: ``status`` and the error model ``error``."""

    def __init__(self, status: int, error: ErrorBody, retry_after: float | None = None) -> None:
        super().__init__(f"{status} {error.code}: {error.message}")
        self.status = status
        self.error = error
        self.retry_after = retry_after


def _error(response: httpx.Response) -> GatewayError:
    try:
        body = ErrorBody.model_validate(response.json())
    except ValueError:
        body = ErrorBody(code="failed", field="", expected="", message=response.text[:500])
    retry = response.headers.get("retry-after")
    return GatewayError(response.status_code, body, float(retry) if retry else None)


class GatewayClient:
    """REST calls of the gateway API (synchronous; one httpx connection pool)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 60.0,
        verify: bool | str = True,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.verify = verify
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            verify=verify,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GatewayClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ------------------------------------------------------------------------
    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """One call; the decoded JSON body, or :class:`GatewayError`."""
        params = {k: v for k, v in (kwargs.pop("params", None) or {}).items() if v is not None}
        response = self._http.request(method, path, params=params, **kwargs)
        if response.status_code >= 400:
            raise _error(response)
        return response.json()

    def _one(self, model: type[M], method: str, path: str, **kwargs: Any) -> M:
        return model.model_validate(self.request(method, path, **kwargs))

    def _many(self, model: type[M], method: str, path: str, **kwargs: Any) -> list[M]:
        return TypeAdapter(list[model]).validate_python(  # type: ignore[valid-type]
            self.request(method, path, **kwargs)
        )

    # -- node configs --------------------------------------------------------------------
    def nodes(self) -> list[ConfigSummary]:
        return self._many(ConfigSummary, "GET", "/nodes")

    def node(self, node_id: str, mode: str | None = None) -> ConfigDocument:
        return self._one(ConfigDocument, "GET", f"/nodes/{node_id}", params={"mode": mode})

    def create_node(self, doc: dict[str, Any], *, overwrite: bool = False) -> SavedConfig:
        params = {"overwrite": "true"} if overwrite else None
        return self._one(SavedConfig, "POST", "/nodes", json=doc, params=params)

    def update_node(self, node_id: str, mode: str, doc: dict[str, Any]) -> SavedConfig:
        return self._one(SavedConfig, "PUT", f"/nodes/{node_id}", json=doc, params={"mode": mode})

    def delete_node(self, node_id: str, mode: str | None = None) -> DeletedConfig:
        return self._one(DeletedConfig, "DELETE", f"/nodes/{node_id}", params={"mode": mode})

    def validate(self, doc: dict[str, Any]) -> ValidationResult:
        return self._one(ValidationResult, "POST", "/validate/node", json=doc)

    def schema(self) -> dict[str, Any]:
        data: dict[str, Any] = self.request("GET", "/schema/node")
        return data

    # -- node hosts ----------------------------------------------------------------------
    def launch(
        self,
        node_id: str,
        mode: str | None = None,
        *,
        wait: WaitFor | None = None,
        timeout_s: float | None = None,
    ) -> Launched:
        """Start the node's host. With ``wait`` ("running" or "ended") the answer comes once
        the node runs or its run ended, at most ``timeout_s`` (server default 60 s), and
        carries ``outcome`` (state, error, exit code; ``timed_out`` when it ran out)."""
        body = _wait_body(wait, timeout_s, mode=mode)
        return self._one(
            Launched,
            "POST",
            f"/nodes/{node_id}/launch",
            json=body or None,
            timeout=self._wait_timeout(wait, timeout_s),
        )

    def stop(
        self,
        node_id: str,
        *,
        kill: bool = False,
        cancel_orders: bool = False,
        flatten: bool = False,
        timeout_s: float = 15.0,
    ) -> Stopped:
        body = {
            "kill": kill,
            "cancel_orders": cancel_orders,
            "flatten": flatten,
            "timeout_s": timeout_s,
        }
        return self._one(Stopped, "POST", f"/nodes/{node_id}/stop", json=body)

    def restart(
        self, node_id: str, *, wait: WaitFor | None = None, timeout_s: float | None = None
    ) -> Launched:
        """Stop the node's host if one runs and launch it again; ``wait`` as for launch."""
        body = _wait_body(wait, timeout_s)
        return self._one(
            Launched,
            "POST",
            f"/nodes/{node_id}/restart",
            json=body or None,
            timeout=self._wait_timeout(wait, timeout_s),
        )

    def _wait_timeout(self, wait: WaitFor | None, timeout_s: float | None) -> httpx.Timeout:
        """The HTTP timeout of a launch: the wait it asks for and some, never less than the
        client's own."""
        own = self._http.timeout
        if wait is None:
            return own
        read = max(own.read or 0.0, (timeout_s or DEFAULT_WAIT_S) + 30.0)
        return httpx.Timeout(own.connect, read=read, write=own.write, pool=own.pool)

    def ps(self, *, all_nodes: bool = False) -> list[NodeState]:
        return self._many(NodeState, "GET", "/ps", params={"all": "true" if all_nodes else None})

    def orders(self, node_id: str, *, open_only: bool = False) -> OrderList:
        """The orders of the node's live or latest run, as the console and CLI show them."""
        params = {"open": "true" if open_only else None}
        return self._one(OrderList, "GET", f"/nodes/{node_id}/orders", params=params)

    def positions(self, node_id: str) -> PositionsSnapshot:
        """The running node's open positions (what ``gateway positions`` prints)."""
        return self._one(PositionsSnapshot, "GET", f"/nodes/{node_id}/positions")

    def send_order(
        self,
        node_id: str,
        command: dict[str, Any],
        idempotency_key: str,
        *,
        confirm_notional: bool | Decimal | str | None = None,
        wait: str = "none",
        timeout_s: float = 10.0,
    ) -> OrderCommandReply:
        """Send one order command (retry with the same key after a lost reply).

        ``wait`` (``accepted``, ``filled``): answer once the orders got there, with their
        rows; an order DENIED or REJECTED raises ``GatewayError`` 409, and ``settled`` is
        false when ``timeout_s`` ran out first. An invalid command raises 422 naming the
        field. A submit above the workspace's notional threshold (or of unknown notional)
        raises ``GatewayError`` 409, code ``unconfirmed``, unless ``confirm_notional`` is
        ``True`` or an amount at least its notional (see :meth:`dry_run`).
        """
        body: dict[str, Any] = {
            "command": command,
            "idempotency_key": idempotency_key,
            "wait": wait,
            "timeout_s": timeout_s,
        }
        if confirm_notional is not None:
            body["confirm_notional"] = (
                confirm_notional if isinstance(confirm_notional, bool) else str(confirm_notional)
            )
        return self._one(OrderCommandReply, "POST", f"/nodes/{node_id}/orders", json=body)

    def dry_run(self, node_id: str, ticket: dict[str, Any]) -> OrderCheck:
        """Check a ticket as the node will, sending nothing: issues, notional, and whether
        a submit of it needs ``confirm_notional`` (``notional.needs_confirmation``)."""
        body = {"ticket": ticket}
        return self._one(OrderCheck, "POST", f"/nodes/{node_id}/orders/dry-run", json=body)

    def order_action(
        self,
        node_id: str,
        command: dict[str, Any],
        *,
        wait: bool = True,
        timeout_s: float | None = None,
        confirm_notional: bool | Decimal | str | None = None,
    ) -> OrderOutcome:
        """Modify, cancel, cancel all, close or flatten; the verified outcome at the node.

        A modify raising the order's notional above the workspace's threshold raises
        ``GatewayError`` 409 ``unconfirmed`` unless ``confirm_notional`` covers it."""
        body: dict[str, Any] = {"command": command, "wait": wait, "timeout_s": timeout_s}
        if confirm_notional is not None:
            body["confirm_notional"] = (
                confirm_notional if isinstance(confirm_notional, bool) else str(confirm_notional)
            )
        return self._one(OrderOutcome, "POST", f"/nodes/{node_id}/orders/actions", json=body)

    def node_state(self, node_id: str) -> PersistedStateView:
        """What the node has persisted: orders, positions, accounts (Redis), risk state."""
        return self._one(PersistedStateView, "GET", f"/nodes/{node_id}/state")

    def reconciliation(self, node_id: str) -> ReconciliationView:
        """Journal, Nautilus cache and venue compared, order by order, position by position."""
        return self._one(ReconciliationView, "GET", f"/nodes/{node_id}/reconciliation")

    def accept_venue(self, node_id: str) -> ReconciliationView:
        """Adopt the venue's view; ``agree`` on the answer says whether the node trades again."""
        path = f"/nodes/{node_id}/reconciliation/accept-venue"
        return self._one(ReconciliationView, "POST", path)

    # -- risk ----------------------------------------------------------------------------
    def risk(self, node_id: str) -> RiskView:
        return self._one(RiskView, "GET", f"/nodes/{node_id}/risk")

    def set_risk_limits(self, node_id: str, **limits: Any) -> RiskView:
        """Set limits (all or none are taken; ``None`` clears one)."""
        body = {"limits": limits}
        return self._one(RiskView, "PUT", f"/nodes/{node_id}/risk/limits", json=body)

    def set_trading_state(self, node_id: str, state: str, reason: str = "") -> RiskView:
        body = {"trading_state": state, "reason": reason}
        return self._one(RiskView, "POST", f"/nodes/{node_id}/risk/state", json=body)

    def kill_switch(self, *, flatten: bool = True) -> KillSwitchResult:
        """Every running node: (flatten, then) HALTED, each step confirmed by the node."""
        body = {"flatten": flatten}
        return self._one(KillSwitchResult, "POST", "/risk/kill-switch", json=body, timeout=120)

    # -- runs, telemetry, audit ----------------------------------------------------------
    def runs(self, node_id: str | None = None, last: int | None = None) -> list[RunSummary]:
        return self._many(RunSummary, "GET", "/runs", params={"node_id": node_id, "last": last})

    def run(self, run_id: str) -> RunSummary:
        return self._one(RunSummary, "GET", f"/runs/{run_id}")

    def results(self, run_id: str) -> RunResults:
        return self._one(RunResults, "GET", f"/runs/{run_id}/results")

    def run_events(self, run_id: str, after_seq: int = 0, limit: int = 1000) -> EventPage:
        params = {"after_seq": after_seq, "limit": limit}
        return self._one(EventPage, "GET", f"/runs/{run_id}/events", params=params)

    def metrics(self, node_id: str) -> MetricsSample:
        return self._one(MetricsSample, "GET", f"/nodes/{node_id}/metrics")

    def alerts(self, node_id: str | None = None, last: int = 100) -> list[Alert]:
        return self._many(Alert, "GET", "/alerts", params={"node_id": node_id, "last": last})

    def audit(
        self,
        *,
        since: str | None = None,
        who: str | None = None,
        action: str | None = None,
        last: int | None = None,
    ) -> list[AuditEntryOut]:
        params = {"since": since, "who": who, "action": action, "last": last}
        return self._many(AuditEntryOut, "GET", "/audit", params=params)

    def audit_verify(self) -> AuditVerifyResult:
        return self._one(AuditVerifyResult, "GET", "/audit/verify")

    # -- adapter profiles (never a secret) -------------------------------------------------
    def adapters(self) -> list[AdapterSummary]:
        return self._many(AdapterSummary, "GET", "/adapters")

    def adapter(self, name: str) -> AdapterDetail:
        return self._one(AdapterDetail, "GET", f"/adapters/{name}")

    def test_adapter(self, name: str, timeout_s: float = 5.0) -> AdapterProbe:
        """Reach the profile's venue and check its keys (``ok``)."""
        return self._one(
            AdapterProbe, "POST", f"/adapters/{name}/test", params={"timeout_s": timeout_s}
        )

    def remove_adapter(self, name: str) -> AdapterRemoved:
        return self._one(AdapterRemoved, "DELETE", f"/adapters/{name}")

    # -- events ----------------------------------------------------------------------------
    async def events(
        self, nodes: Sequence[str], from_seq: int | dict[str, int] = 0
    ) -> AsyncIterator[dict[str, Any]]:
        """Messages of ``/ws/events`` (``events``, ``gap``, ``end``) until the stream ends.

        ``from_seq``: the last seq the caller has (of every node, or by node id); the
        stream starts after it. An ``error`` message raises :class:`GatewayError`.
        """
        import websockets

        if isinstance(from_seq, dict):
            after = ",".join(f"{k}:{v}" for k, v in from_seq.items())
        else:
            after = str(from_seq)
        url = self.base_url.replace("http", "ws", 1) + "/ws/events"
        query = httpx.QueryParams({"nodes": ",".join(nodes), "from_seq": after})
        async with websockets.connect(
            f"{url}?{query}",
            additional_headers={"Authorization": f"Bearer {self.token}"},
            max_size=None,
        ) as ws:
            async for raw in ws:
                message: dict[str, Any] = json.loads(raw)
                if message.get("type") == "error":
                    message.pop("type")
                    status = 400
                    code = message.get("code")
                    for s, c in (
                        (401, "unauthorized"),
                        (403, "forbidden"),
                        (404, "not_found"),
                        (422, "invalid"),
                        (429, "rate_limited"),
                    ):
                        if c == code:
                            status = s
                    raise GatewayError(status, ErrorBody.model_validate(message))
                yield message
