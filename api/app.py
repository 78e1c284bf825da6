"""The FastAPI app: REST over ``engine.services``, the event WebSocket, Prometheus.

Each route authenticates (``api.auth.require``), checks the token's node and mode limits,
calls one service and returns its model; errors leave as the one error model.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, Query, Response, WebSocket
from fastapi_offline import FastAPIOffline
from starlette.routing import Route

from api import errors
from api.auth import require
from api.exact_json import ExactJsonRoute
from api.metrics import MetricsApp, follow_samples
from api.ratelimit import RateLimiter
from api.stream import stream_events
from engine.services import ServiceError, Services
from engine.services.adapters import (
    AdapterDetail,
    AdapterProbe,
    AdapterRemoved,
    AdapterSummary,
)
from engine.services.configs import check_node_ref
from engine.services.events import QUEUE_MESSAGES
from engine.services.models import (
    Alert,
    AuditEntryOut,
    AuditVerifyResult,
    ConfigDocument,
    ConfigSummary,
    DeletedConfig,
    EventPage,
    KillSwitchRequest,
    KillSwitchResult,
    Launched,
    LaunchRequest,
    MetricsSample,
    ModeName,
    NodeState,
    OrderActionRequest,
    OrderCheck,
    OrderCheckRequest,
    OrderCommandReply,
    OrderCommandRequest,
    OrderList,
    OrderOutcome,
    PersistedStateView,
    PositionsSnapshot,
    ReconciliationView,
    RestartRequest,
    RiskLimitsRequest,
    RiskView,
    RunResults,
    RunSummary,
    SavedConfig,
    Stopped,
    StopRequest,
    TradingStateRequest,
    ValidationResult,
)
from engine.services.orders import outcome_error, refusal
from engine.services.tokens import Grant

DEFAULT_RATE = 50.0  # requests/s per token

Read = Annotated[Grant, Depends(require("read"))]
Trade = Annotated[Grant, Depends(require("trade"))]
Admin = Annotated[Grant, Depends(require("admin"))]
NodeId = Annotated[str, "a node id (a slug)"]
AdapterName = Annotated[str, "an adapter profile name (a slug)"]
ModeQuery = Annotated[ModeName | None, Query(description="Which of the node's configs.")]
Document = Annotated[dict[str, Any], Body(description="A node config (see /schema/node).")]


def _stored_mode(services: Services, node_id: str, mode: str | None) -> str | None:
    """The mode of the node's config, for a token limited to modes (None if unknown)."""
    if mode is not None:
        return mode
    try:
        return services.configs.store.resolve_mode(node_id).value
    except Exception:  # unknown or ambiguous: the service call reports it
        return None


# A launch that waited and got there answers 200 (the outcome is known); 202 otherwise.
WAITED_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"model": Launched, "description": "Waited: the outcome says how the run stands"}
}


def _waited(response: Response, launched: Launched) -> None:
    if launched.outcome is not None and not launched.outcome.timed_out:
        response.status_code = 200


def create_app(
    services: Services,
    *,
    rate: float = DEFAULT_RATE,
    metrics_interval_s: float = 1.0,
    ws_queue: int = QUEUE_MESSAGES,
) -> FastAPI:
    """The server's app for ``services`` (one workspace).

    ``rate``: requests a second per token; ``ws_queue``: messages (of up to 1000 events)
    held for each WebSocket client before it is sent a gap instead.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(follow_samples(services, app.state.metrics, metrics_interval_s))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task

    # The docs pages' scripts are served from the package, not a CDN: the server's machine
    # may have no internet, and a page holding a bearer token runs no third-party script.
    app = FastAPIOffline(
        title="nautilus-gateway",
        version="1",
        summary="Node configs, node hosts, runs, metrics, alerts, audit and live events.",
        lifespan=lifespan,
        responses=errors.ERROR_RESPONSES,
    )
    app.router.route_class = ExactJsonRoute  # before any route: every body parsed exactly
    app.state.services = services
    app.state.limiter = RateLimiter(rate)
    app.state.metrics = MetricsApp(services, app.state.limiter)
    errors.install(app)
    app.router.routes.append(
        Route("/metrics", app.state.metrics, methods=["GET"], include_in_schema=False)
    )

    def guard(grant: Grant, node_id: str, mode: str | None = None) -> None:
        grant.require_node(node_id, _stored_mode(services, node_id, mode) if grant.modes else None)

    @app.get("/healthz", tags=["server"])
    def healthz() -> dict[str, bool]:
        """Whether the server answers (no token needed)."""
        return {"ok": True}

    # -- node configs ------------------------------------------------------------------
    @app.get("/nodes", tags=["configs"])
    async def list_nodes(grant: Read) -> list[ConfigSummary]:
        """Every stored node config (broken ones with their issues)."""
        # On the loop when nothing changed (a few stats): a hop to the thread pool cost
        # more than the listing itself and made the p99 under load.
        rows = services.configs.list_if_cached()
        if rows is None:
            rows = await asyncio.to_thread(services.configs.list)
        return [c for c in rows if grant.may_see(c.node_id, c.mode)]

    @app.post("/nodes", status_code=201, tags=["configs"])
    def create_node(
        grant: Admin,
        doc: Document,
        overwrite: Annotated[bool, Query(description="Replace a stored config.")] = False,
    ) -> SavedConfig:
        """Validate a config and store it; nothing is stored when it is invalid."""
        node_id, mode = doc.get("node_id"), doc.get("mode")
        if isinstance(node_id, str):
            grant.require_node(node_id, mode if isinstance(mode, str) else None)
        elif grant.limited:
            raise ServiceError.invalid("node_id", node_id, "expected a node id (a slug)")
        return services.configs.create(grant.principal, doc, overwrite=overwrite)

    @app.get("/schema/node", tags=["configs"])
    def node_schema(_grant: Read) -> dict[str, Any]:
        """The node config JSON Schema."""
        return services.configs.schema()

    @app.post("/validate/node", tags=["configs"])
    def validate_node(_grant: Read, doc: Document) -> ValidationResult:
        """Validate a config all the way down (Nautilus included) without storing it."""
        return services.configs.validate(doc)

    @app.get("/nodes/{node_id}", tags=["configs"])
    def get_node(grant: Read, node_id: NodeId, mode: ModeQuery = None) -> ConfigDocument:
        """A stored node config."""
        guard(grant, node_id, mode)
        return services.configs.get(node_id, mode)

    @app.put("/nodes/{node_id}", tags=["configs"])
    def update_node(grant: Admin, node_id: NodeId, mode: ModeName, doc: Document) -> SavedConfig:
        """Replace a stored config (same id and mode); nothing changes when it is invalid."""
        guard(grant, node_id, mode)
        return services.configs.update(grant.principal, node_id, mode, doc)

    @app.delete("/nodes/{node_id}", tags=["configs"])
    def delete_node(grant: Admin, node_id: NodeId, mode: ModeQuery = None) -> DeletedConfig:
        """Delete a stored config (its only mode, or ``mode``)."""
        guard(grant, node_id, mode)
        return services.configs.delete(grant.principal, node_id, mode)

    # -- node hosts --------------------------------------------------------------------
    @app.post("/nodes/{node_id}/launch", status_code=202, tags=["nodes"], responses=WAITED_RESPONSE)
    async def launch(
        grant: Trade,
        node_id: NodeId,
        response: Response,
        request: Annotated[LaunchRequest | None, Body()] = None,
    ) -> Launched:
        """Start the node's host (it runs detached); its events are on /ws/events.

        With ``wait``, answer once the node runs (``running``) or its run ended
        (``ended``), with the ``outcome``: its state, the error when it failed, the exit
        code ``gateway launch`` gives; 200 then. On a timeout (202) the node goes on and the
        outcome says the state seen last.
        """
        request = request or LaunchRequest()
        await asyncio.to_thread(guard, grant, node_id, request.mode)
        launched = await services.nodes.launch(
            grant.principal,
            node_id,
            request.mode,
            wait=request.wait,
            timeout_s=request.timeout_s,
        )
        _waited(response, launched)
        return launched

    @app.post("/nodes/{node_id}/stop", tags=["nodes"])
    async def stop(
        grant: Trade, node_id: NodeId, request: Annotated[StopRequest | None, Body()] = None
    ) -> Stopped:
        """Stop the node's host (gracefully unless ``kill``); returns how its run ended."""
        await asyncio.to_thread(guard, grant, node_id)
        return await services.nodes.stop(grant.principal, node_id, request or StopRequest())

    @app.post(
        "/nodes/{node_id}/restart", status_code=202, tags=["nodes"], responses=WAITED_RESPONSE
    )
    async def restart(
        grant: Trade,
        node_id: NodeId,
        response: Response,
        request: Annotated[RestartRequest | None, Body()] = None,
    ) -> Launched:
        """Stop the node's host if one runs, then launch the node again (``wait`` and
        ``timeout_s`` as for launch)."""
        request = request or RestartRequest()
        await asyncio.to_thread(guard, grant, node_id)
        launched = await services.nodes.restart(
            grant.principal, node_id, wait=request.wait, timeout_s=request.timeout_s
        )
        _waited(response, launched)
        return launched

    @app.get("/ps", tags=["nodes"])
    async def ps(
        grant: Read,
        all: Annotated[bool, Query(description="Also nodes with no host running.")] = False,
    ) -> list[NodeState]:
        """Node hosts: state, pid, uptime, run id."""
        rows = await services.nodes.ps(all_nodes=all)
        return [r for r in rows if grant.may_see(r.node_id, r.mode)]

    # -- orders ------------------------------------------------------------------------
    @app.get("/nodes/{node_id}/orders", tags=["orders"])
    async def list_orders(
        grant: Read,
        node_id: NodeId,
        open: Annotated[bool, Query(description="Only orders still working.")] = False,
    ) -> OrderList:
        """The orders of the node's live or latest run, as the console and the CLI show
        them (one fold of the node's events)."""
        check_node_ref(node_id)  # a run id or a malformed id is a 422, not a lookup
        await asyncio.to_thread(guard, grant, node_id)
        return await services.orders.list(node_id, open_only=open)

    @app.get("/nodes/{node_id}/positions", tags=["orders"])
    async def positions(grant: Read, node_id: NodeId) -> PositionsSnapshot:
        """The running node's open positions as its portfolio marks them now."""
        await asyncio.to_thread(guard, grant, node_id)
        return await services.orders.positions(node_id)

    @app.post("/nodes/{node_id}/orders/actions", tags=["orders"])
    async def order_action(
        grant: Trade, node_id: NodeId, request: OrderActionRequest
    ) -> OrderOutcome:
        """Modify, cancel, cancel all, close or flatten, followed to what the node did.

        ``ok`` only when the node shows what was asked (flat, modified, canceled); the
        outcome says what remains otherwise.
        """
        await asyncio.to_thread(guard, grant, node_id)
        return await services.orders.act(grant.principal, node_id, request)

    @app.get("/nodes/{node_id}/state", tags=["nodes"])
    async def node_state(grant: Read, node_id: NodeId) -> PersistedStateView:
        """What the node has persisted (orders, positions, accounts in Redis; risk state)."""
        await asyncio.to_thread(guard, grant, node_id)
        return PersistedStateView.model_validate(await services.state.show(node_id))

    @app.get("/nodes/{node_id}/reconciliation", tags=["nodes"])
    async def reconciliation(grant: Read, node_id: NodeId) -> ReconciliationView:
        """Journal, Nautilus cache and venue compared now, order by order and position by
        position (a stopped node: its last run's comparison). ``agree`` false: HALTED."""
        await asyncio.to_thread(guard, grant, node_id)
        return await services.recovery.reconcile(node_id)

    @app.post("/nodes/{node_id}/reconciliation/accept-venue", tags=["nodes"])
    async def reconciliation_accept(grant: Admin, node_id: NodeId) -> ReconciliationView:
        """Adopt the venue's view (audited); the node trades again once all three agree."""
        await asyncio.to_thread(guard, grant, node_id)
        return await services.recovery.accept_venue(grant.principal, node_id)

    # -- risk --------------------------------------------------------------------------
    @app.get("/nodes/{node_id}/risk", tags=["risk"])
    async def risk_show(grant: Read, node_id: NodeId) -> RiskView:
        """Trading state, each limit and what it is measured against now."""
        await asyncio.to_thread(guard, grant, node_id)
        return await services.risk.show(node_id)

    @app.put("/nodes/{node_id}/risk/limits", tags=["risk"])
    async def risk_limits(grant: Admin, node_id: NodeId, request: RiskLimitsRequest) -> RiskView:
        """Change limits at runtime, all or none; confirmed by the node."""
        await asyncio.to_thread(guard, grant, node_id)
        return await services.risk.set_limits(grant.principal, node_id, request.limits)

    @app.post("/nodes/{node_id}/risk/state", tags=["risk"])
    async def risk_state(grant: Admin, node_id: NodeId, request: TradingStateRequest) -> RiskView:
        """ACTIVE, REDUCING or HALTED; stored by the node before it takes effect."""
        await asyncio.to_thread(guard, grant, node_id)
        return await services.risk.set_state(
            grant.principal, node_id, request.trading_state, request.reason
        )

    @app.post("/risk/kill-switch", tags=["risk"])
    async def kill_switch(
        grant: Admin, request: Annotated[KillSwitchRequest | None, Body()] = None
    ) -> KillSwitchResult:
        """Every running node: (flatten, then) HALTED, each step confirmed by the node."""
        if grant.nodes is not None or grant.modes is not None:
            raise ServiceError(
                "forbidden",
                "the kill switch acts on every node: it needs a token not limited to nodes",
                field="token",
            )
        flatten = request.flatten if request is not None else True
        return await services.risk.kill_switch(grant.principal, flatten=flatten)

    @app.post("/nodes/{node_id}/orders", tags=["orders"])
    async def order_command(
        grant: Trade, node_id: NodeId, request: OrderCommandRequest
    ) -> OrderCommandReply:
        """Send one order command to the node; returns the node's reply, and with ``wait``
        the orders once accepted (or filled) or refused, as ``gateway order --wait``.

        A command the node refuses is an error: 422 when it is invalid (the field named,
        every issue listed), 409 for any other refusal; a retry with the same key gets the
        same answer. A submit whose notional is above the workspace's
        ``orders.confirm_notional_above`` (or cannot be valued) needs ``confirm_notional``:
        without it, 409 with code ``unconfirmed`` naming the notional and the threshold, and
        nothing is sent.
        """
        if grant.modes is None:  # no config to read: on the loop, a thread hop costs more
            guard(grant, node_id)
        else:
            await asyncio.to_thread(guard, grant, node_id)
        sent = await services.orders.send(grant.principal, node_id, request)
        # Bad input 422, any other refusal 409 (the CLI's 2 and 1); with a wait, an order
        # DENIED or REJECTED (or ended unfilled, waiting for a fill) is a 409 too.
        refused = refusal(sent.reply) or outcome_error(sent)
        if refused is not None:
            raise refused
        return sent

    @app.post("/nodes/{node_id}/orders/dry-run", tags=["orders"])
    async def order_dry_run(grant: Read, node_id: NodeId, request: OrderCheckRequest) -> OrderCheck:
        """Check a ticket as the node will (its rules, quote and risk limits), sending
        nothing: its issues, what could not be checked, its notional and whether a submit
        of it needs ``confirm_notional``."""
        await asyncio.to_thread(guard, grant, node_id)
        return await services.orders.check_ticket(node_id, request.ticket)

    # -- runs --------------------------------------------------------------------------
    def _run_guard(grant: Grant, ref: str) -> None:
        run = services.runs.find(ref)
        grant.require_node(run.node_id, run.meta.mode)

    @app.get("/runs", tags=["runs"])
    def list_runs(
        grant: Read,
        node_id: str | None = None,
        last: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
    ) -> list[RunSummary]:
        """Runs, oldest first (of one node, the newest ``last``)."""
        if node_id is not None:
            guard(grant, node_id)
        runs = services.runs.list(node_id, None)
        runs = [r for r in runs if grant.may_see(r.node_id, r.mode)]
        return runs[-last:] if last else runs

    @app.get("/runs/{run_id}", tags=["runs"])
    def show_run(grant: Read, run_id: str) -> RunSummary:
        """One run: state, times, exit code, error."""
        _run_guard(grant, run_id)
        return services.runs.show(run_id)

    @app.get("/runs/{run_id}/results", tags=["runs"])
    def run_results(grant: Read, run_id: str) -> RunResults:
        """A run's statistics, error and reports (rows capped)."""
        _run_guard(grant, run_id)
        return services.runs.results(run_id)

    @app.get("/runs/{run_id}/events", tags=["runs"])
    def run_events(
        grant: Read,
        run_id: str,
        after_seq: Annotated[int, Query(ge=0, le=2**62)] = 0,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    ) -> EventPage:
        """Journaled events with ``seq > after_seq``: how a client re-reads a gap."""
        _run_guard(grant, run_id)
        return services.runs.events(run_id, after_seq, limit)

    # -- metrics, alerts, audit ----------------------------------------------------------
    @app.get("/nodes/{node_id}/metrics", tags=["telemetry"])
    def node_metrics(grant: Read, node_id: NodeId) -> MetricsSample:
        """The latest metrics sample of the node's latest run."""
        guard(grant, node_id)
        return services.telemetry.latest_sample(node_id)

    @app.get("/alerts", tags=["telemetry"])
    def alerts(
        grant: Read,
        node_id: str | None = None,
        last: Annotated[int, Query(ge=1, le=10_000)] = 100,
    ) -> list[Alert]:
        """Alert events (raised, resolved) of each node's latest run, newest ``last`` each."""
        if node_id is not None:
            guard(grant, node_id)
        found = services.telemetry.alerts(node_id, last)
        return [a for a in found if grant.may_see(a.node_id)]

    def whole_workspace(grant: Grant, what: str = "the audit log covers every node") -> None:
        if grant.limited:
            raise ServiceError(
                "forbidden",
                f"token {grant.name!r} is limited to some nodes or modes; {what}",
                field="Authorization",
                expected="a token without node or mode limits",
            )

    @app.get("/audit", tags=["audit"])
    def audit_list(
        grant: Admin,
        since: Annotated[str | None, Query(description="30m, 2h, 7d or ISO 8601")] = None,
        who: str | None = None,
        action: str | None = None,
        last: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
    ) -> list[AuditEntryOut]:
        """Audit entries, oldest first."""
        whole_workspace(grant)
        return services.audit.list(since=since, who=who, action=action, last=last)

    @app.get("/audit/verify", tags=["audit"])
    def audit_verify(grant: Admin) -> AuditVerifyResult:
        """Check the audit log's hash chain."""
        whole_workspace(grant)
        return services.audit.verify()

    # -- adapter profiles: settings and which secrets are stored, never a secret --------
    adapters_note = "adapter profiles serve every node"

    @app.get("/adapters", tags=["adapters"])
    async def list_adapters(grant: Read) -> list[AdapterSummary]:
        """Every stored adapter profile (unreadable ones with why); the keyring is not read."""
        whole_workspace(grant, adapters_note)
        return await asyncio.to_thread(services.adapters.list)

    @app.get("/adapters/{name}", tags=["adapters"])
    async def get_adapter(grant: Read, name: AdapterName) -> AdapterDetail:
        """One profile and, per secret field, whether the keyring holds it (no value)."""
        whole_workspace(grant, adapters_note)
        return await asyncio.to_thread(services.adapters.show, name)

    @app.delete("/adapters/{name}", tags=["adapters"])
    async def remove_adapter(grant: Admin, name: AdapterName) -> AdapterRemoved:
        """Delete a profile and its secrets from the keyring (audited)."""
        whole_workspace(grant, adapters_note)
        return await asyncio.to_thread(services.adapters.remove, grant.principal, name)

    @app.post("/adapters/{name}/test", tags=["adapters"])
    async def test_adapter(
        grant: Admin,
        name: AdapterName,
        timeout_s: Annotated[float, Query(ge=0.1, le=60, description="Per request.")] = 5.0,
    ) -> AdapterProbe:
        """Reach the profile's venue and check its keys; ``ok`` says whether they work."""
        whole_workspace(grant, adapters_note)
        return await services.adapters.probe(name, timeout_s)

    @app.websocket("/ws/events")
    async def ws_events(websocket: WebSocket) -> None:
        await stream_events(websocket, services, app.state.limiter, ws_queue)

    return app
