"""Typed requests and responses of the service core (pydantic: the API's schema is theirs)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

type Scope = Literal["read", "trade", "admin"]
type ModeName = Literal["backtest", "sandbox", "live"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Issue(_Model):
    """One problem with one field of a config."""

    path: str
    message: str
    value: Any = None
    severity: Literal["error", "warning"] = "error"


class ErrorBody(_Model):
    """The one error model: what failed, which field, its value, what was expected."""

    code: str
    field: str
    value: Any = None
    expected: str
    message: str
    issues: list[Issue] = Field(default_factory=list)


# -- node configs ------------------------------------------------------------------------
class ConfigSummary(_Model):
    node_id: str
    mode: str
    ok: bool
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    issues: list[Issue] = Field(default_factory=list)


class ConfigDocument(_Model):
    """A stored config, as JSON."""

    node_id: str
    mode: str
    config: dict[str, Any]


class SavedConfig(_Model):
    node_id: str
    mode: str
    created: bool
    warnings: list[Issue] = Field(default_factory=list)


class ValidationResult(_Model):
    ok: bool
    issues: list[Issue] = Field(default_factory=list)


class DeletedConfig(_Model):
    node_id: str
    mode: str


# -- node hosts --------------------------------------------------------------------------
class NodeState(_Model):
    """One node host as ``gateway ps`` lists it."""

    node_id: str
    run_id: str
    mode: str
    pid: int | None = None
    state: str
    alive: bool
    uptime_s: float | None = None
    socket: str | None = None  # the host's channel socket, while one runs
    run_dir: str | None = None
    error: str | None = None


type WaitFor = Literal["running", "ended"]

MAX_WAIT_S = 600.0  # the longest a launch request may hold its connection


class _WaitFields(_Model):
    """How long a launch or restart request waits for the run, if at all."""

    wait: WaitFor | None = Field(
        default=None,
        description="Answer once the node is running or its run ended ('running'), or once "
        "its run ended ('ended'); absent: at once, as the host starts.",
    )
    timeout_s: float | None = Field(
        default=None,
        ge=0.1,
        le=MAX_WAIT_S,
        allow_inf_nan=False,
        strict=True,  # a number: not "5", not true
        description="Seconds to wait (default 60); on a timeout the node goes on and the "
        "answer says the state seen last. Only with wait.",
    )

    @field_validator("timeout_s")
    @classmethod
    def _needs_wait(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is not None and info.data.get("wait") is None:
            raise PydanticCustomError(
                "timeout_without_wait", "only goes with wait ('running' or 'ended')"
            )
        return value


class LaunchRequest(_WaitFields):
    mode: ModeName | None = None


class RestartRequest(_WaitFields):
    """Restart in the mode the node runs in (or its only one)."""


class LaunchOutcome(_Model):
    """Where a launched run stood when the wait for it ended (``engine.services.follow``)."""

    run_id: str
    wait: WaitFor
    state: str = Field(description="The run's state; on a timeout the state seen last")
    ended: bool = Field(description="The run has ended: completed, failed or stopped")
    timed_out: bool = Field(description="The wait ran out first; the node goes on")
    exit_code: int | None = Field(
        description="What `gateway launch` exits with: 0 running (wait=running) or "
        "completed, 1 failed, 3 stopped; null on a timeout"
    )
    host_exit_code: int | None = Field(
        default=None, description="The node host process's exit status, once it exited"
    )
    reported: bool = Field(
        default=True,
        description="The run's events said its state (its host's, or its supervisor's for a "
        "host that died); false: they had not when the host was gone, and the state is "
        "the one meta.json holds",
    )
    error: str | None = Field(default=None, description="From the run's error.json, when failed")
    last_seq: int = Field(default=0, description="The last event seen (resume /ws/events here)")
    message: str


class Launched(_Model):
    node_id: str
    run_id: str
    mode: str
    pid: int
    outcome: LaunchOutcome | None = Field(
        default=None, description="Present when the request asked to wait"
    )


class StopRequest(_Model):
    kill: bool = False
    cancel_orders: bool = False
    flatten: bool = False
    timeout_s: float = Field(default=15.0, ge=0.1, le=300.0, allow_inf_nan=False)


class Stopped(_Model):
    node_id: str
    run_id: str
    state: str
    exit_code: int | None = None


# -- runs --------------------------------------------------------------------------------
class RunsDeleted(_Model):
    """What a run deletion did: the runs deleted, and those kept with why."""

    deleted: list[str]
    kept: dict[str, str] = {}


class RunSummary(_Model):
    node_id: str
    run_id: str
    mode: str
    state: str
    started: str | None = None
    ended: str | None = None
    exit_code: int | None = None
    error: str | None = None


class Report(_Model):
    name: str
    columns: list[str]
    rows: list[list[str]]
    truncated: bool


class RunResults(_Model):
    run: RunSummary
    stats: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    reports: list[Report] = Field(default_factory=list)


class EventOut(_Model):
    """One journaled event (the envelope)."""

    seq: int
    ts_ns: int
    node_id: str
    run_id: str
    kind: str
    type: str
    payload: dict[str, Any]


class EventPage(_Model):
    node_id: str
    run_id: str
    last_seq: int
    events: list[EventOut]


# -- metrics and alerts ------------------------------------------------------------------
class MetricsSample(_Model):
    node_id: str
    run_id: str
    seq: int
    ts_ns: int
    sample: dict[str, Any]


class Alert(_Model):
    node_id: str
    run_id: str
    seq: int
    ts_ns: int
    type: str
    payload: dict[str, Any]


# -- audit -------------------------------------------------------------------------------
class AuditEntryOut(_Model):
    seq: int
    ts: str
    who: str
    via: str
    action: str
    target: dict[str, Any]
    request: dict[str, Any]
    result: dict[str, Any]
    hash: str


class AuditVerifyResult(_Model):
    ok: bool
    entries: int
    last_seq: int
    problem: dict[str, Any] | None = None
    sealed: int = 0  # entries checked through their seals (the rest line by line)
    note: str | None = None  # why some seals could not be used; the log may still be intact


# -- orders ------------------------------------------------------------------------------
type ConfirmAmount = Annotated[
    Decimal, Field(ge=0, allow_inf_nan=False, description='a notional, e.g. "5000000"')
]


class NotionalOut(_Model):
    """A ticket's notional against the workspace's confirmation threshold."""

    notional: str | None = Field(description="exact decimal; null when it cannot be valued")
    currency: str
    confirm_above: str | None = Field(description="orders.confirm_notional_above; null: never")
    needs_confirmation: bool = Field(description="a submit needs confirm_notional to be sent")
    why_unknown: str | None = None


class OrderCheckRequest(_Model):
    """A ticket to check without sending it (``engine.orders.tickets`` shapes)."""

    ticket: dict[str, Any]


class OrderCheck(_Model):
    """A dry run: the ticket checked with the node's rules, quote and risk limits, nothing
    sent; what could not be checked, and whether a submit of it needs confirming."""

    ok: bool
    issues: list[dict[str, Any]]
    instrument: dict[str, Any] | None
    quote: dict[str, Any] | None
    not_checked: list[str]
    risk_denial: str | None
    notional: NotionalOut


class OrderCommandRequest(_Model):
    """An order command for a node (``engine.orders.commands`` shapes) and its retry key."""

    command: dict[str, Any]
    idempotency_key: str = Field(min_length=1, max_length=200)
    wait: Literal["none", "accepted", "filled"] = Field(
        "none",
        description="A submit: answer once its orders are accepted (or filled), or refused "
        "(DENIED, REJECTED: 409), as `gateway order --wait`; none: the node's reply at once.",
    )
    timeout_s: float = Field(10.0, gt=0, le=300, description="For the reply and the wait.")
    confirm_notional: StrictBool | ConfirmAmount | None = Field(
        default=None,
        description=(
            "A submit whose notional is above the workspace's orders.confirm_notional_above "
            "(or cannot be valued) is refused (409, code unconfirmed) unless confirmed: true "
            "sends it whatever its notional; an amount sends it if its notional, valued when "
            "sent, is at most that amount (the figure the sender was shown, or a ceiling)."
        ),
        examples=[True, "5000000"],
    )

    @field_validator("confirm_notional", mode="before")
    @classmethod
    def _confirm(cls, value: Any) -> Any:
        # One error naming the field (not one per member of the union).
        if value is None or isinstance(value, bool):
            return value
        try:
            amount = Decimal(str(value)) if isinstance(value, int | float | str) else None
        except ArithmeticError:
            amount = None
        if (
            amount is None
            or not amount.is_finite()
            or amount < 0
            or amount.adjusted() > 40
            or len(str(value)) > 64
        ):
            raise ValueError('true, false or a notional from 0 to 1e40, e.g. "5000000"')
        return amount


class OrderRowOut(_Model):
    """One order as the engine's one fold has it (``engine.orders.status.OrderRow``):
    what the console's orders pane, ``gateway orders list`` and ``GET .../orders`` show."""

    client_order_id: str
    instrument_id: str
    strategy_id: str
    side: str
    order_type: str
    quantity: str | None
    filled_qty: str
    avg_px: str | None
    price: str | None
    trigger_price: str | None
    time_in_force: str
    status: str
    last_event: str
    venue_order_id: str | None
    reason: str | None
    tags: list[str]
    seq: int
    ts_ns: int
    is_open: bool


class OrderCommandReply(_Model):
    """The node's reply to an order command and, with ``wait``, the orders it followed."""

    node_id: str
    reply: dict[str, Any]
    wait: Literal["none", "accepted", "filled"] = "none"
    settled: bool | None = Field(
        None, description="With wait: whether the orders settled (done or refused) in time."
    )
    elapsed_ms: float | None = Field(None, description="Sent to settled, with wait.")
    orders: list[OrderRowOut] = Field(
        default_factory=list, description="With wait: the followed orders as they stand."
    )


class OrderList(_Model):
    """A run's orders, folded from its events (its node's live or latest run)."""

    node_id: str
    run_id: str
    orders: list[OrderRowOut]
    damaged: str | None = Field(
        None,
        description="Why the rows may stop short: the journal is damaged after intact_seq "
        "(orders still open there show status UNKNOWN)",
    )
    intact_seq: int | None = None


class PositionOut(_Model):
    """One open position as the node's portfolio marks it (``engine.orders.portfolio``)."""

    position_id: str
    instrument_id: str
    strategy_id: str
    side: str
    quantity: str
    signed_qty: str
    avg_px_open: str
    mark_price: str | None
    unrealized_pnl: str | None
    realized_pnl: str | None
    currency: str
    is_open: bool
    ts_opened: int


class PositionsSnapshot(_Model):
    """The node's open positions, totals per currency and counts: what ``gateway
    positions NODE --json`` prints and the console's positions pane shows."""

    node_id: str
    ts_ns: int
    positions: list[PositionOut]
    totals: dict[str, dict[str, str]]
    counts: dict[str, Any]


# -- tokens ------------------------------------------------------------------------------
class TokenInfo(_Model):
    name: str
    scopes: list[str]
    nodes: list[str] | None = None
    modes: list[str] | None = None
    created: str
    revoked: str | None = None


# -- risk --------------------------------------------------------------------------------
class RiskView(_Model):
    """A node's trading state, its limits and what they are measured against now."""

    node_id: str
    running: bool
    trading_state: str
    limits: dict[str, Any]
    changed_by: str = ""
    reason: str = ""
    usage: dict[str, Any] = Field(default_factory=dict)
    note: str = ""


class RiskLimitsRequest(_Model):
    """Limits to set, all or none (``null`` or ``"none"`` clears one)."""

    limits: dict[str, Any]


class TradingStateRequest(_Model):
    trading_state: Literal["ACTIVE", "REDUCING", "HALTED"]
    reason: str = Field(default="", max_length=500)


class KillSwitchRequest(_Model):
    """``flatten``: cancel every order and close every position first (then HALTED)."""

    flatten: bool = True


class KillSwitchResult(_Model):
    ok: bool
    nodes: list[dict[str, Any]]


class OrderActionRequest(_Model):
    """Modify, cancel, cancel all, close or flatten, followed to its verified outcome."""

    command: dict[str, Any]
    wait: bool = True
    timeout_s: float | None = Field(default=None, gt=0, le=600)
    confirm_notional: StrictBool | ConfirmAmount | None = Field(
        default=None,
        description=(
            "A modify that raises the order's notional above orders.confirm_notional_above "
            "is refused (409, code unconfirmed) unless confirmed, as a submit is."
        ),
    )

    @field_validator("confirm_notional", mode="before")
    @classmethod
    def _confirm(cls, value: Any) -> Any:
        return OrderCommandRequest._confirm(value)


class OrderOutcome(_Model):
    """What the node did: ``ok`` only when it is what was asked (flat, canceled …)."""

    ok: bool
    outcome: dict[str, Any]


# -- recovery ----------------------------------------------------------------------------
class ReconciliationRow(_Model):
    """One order (by client order id) or position (by instrument): what each source says."""

    kind: str
    key: str
    instrument_id: str
    journal: str
    cache: str
    venue: str
    agree: bool
    note: str = ""


class ReconciliationView(_Model):
    """A node's journal, Nautilus cache and venue compared, order by order and position by
    position. ``agree`` false: the node stays HALTED until the venue's view is accepted."""

    node_id: str
    running: bool
    agree: bool
    summary: str
    orders: list[ReconciliationRow] = Field(default_factory=list)
    positions: list[ReconciliationRow] = Field(default_factory=list)
    trading_state: str | None = None
    reason: str = ""
    accepted: bool = False
    actions: list[str] = Field(default_factory=list)
    note: str = ""


# -- persisted state ---------------------------------------------------------------------
class PersistedStateView(_Model):
    """What a sandbox or live node keeps across restarts: its cache in Redis, its risk.json."""

    node_id: str
    trader_id: str
    redis: dict[str, Any] = Field(description="url and source (node config, settings, own)")
    key_prefix: str
    keys: int
    counts: dict[str, int]
    orders: list[dict[str, Any]]
    positions: list[dict[str, Any]]
    accounts: list[dict[str, Any]]
    risk: dict[str, Any] = Field(description="path of risk.json and the state it holds")
