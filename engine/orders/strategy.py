"""The gateway's own Nautilus strategy: it executes ticket commands inside a node host.

One ``GatewayStrategy`` runs in every node, so manual orders carry a strategy id and
show up in Nautilus's reports like any other. The node host calls its methods on the
kernel's event loop (never from another thread):

=================================================  =============================================
``submit_ticket(ticket) -> list[ClientOrderId]``   validate, convert, submit; ids in ticket order
                                                   (bracket: entry, stop-loss, take-profit)
``modify(ModifyOrder) -> None``                    quantity / price / trigger of a working order
``cancel(CancelOrder) -> None``                    cancel one working order
``cancel_all(CancelAllOrders) -> list[ClientOrderId]``  ids it asked to cancel
``close_position(ClosePosition) -> dict``         ``position_ids``, closing ``client_order_ids``,
                                                   ``canceled``, ``skipped``
``flatten_all(FlattenAll) -> dict``                ``canceled``, ``closed``, ``client_order_ids``,
                                                   ``skipped``
``exposure(instrument_id) -> dict``                open positions, net per instrument, open orders
``execute(command) -> dict``                       any of the above from an ``OrderCommand``,
                                                   returning JSON-safe data
=================================================  =============================================

Failures raise :class:`OrderValidationError` (every issue of a bad ticket or modify) or
an :class:`OrderCommandError` subclass with a ``code`` (``unknown_order``,
``order_not_open``, ``unknown_instrument``, ``unknown_position``, ``bracket_refused``,
``not_running``); both have ``to_dict()``. Nothing is submitted when anything fails.

Brackets (``bracket_mode`` in the config)
    ``native``   submit the bracket as Nautilus builds it (the children are reduce-only
                 and wait at the venue for the entry to fill). Right for backtests and
                 live venues.
    ``managed``  submit the entry alone; when it fills (or is canceled/expires after a
                 partial fill) submit the stop-loss and take-profit for the filled
                 quantity as an OUO/OCO pair **without** reduce-only, on the entry's
                 position, and cancel them if that position closes otherwise. This is
                 the sandbox mode: Nautilus's sandbox rejects reduce-only bracket
                 children. The client order ids are reserved at submission, so callers
                 see the same three ids in both modes.
    ``refuse``   reject brackets with ``bracket_refused``.

Quotes: the strategy subscribes to the quotes of every loaded instrument when there are
at most ``quote_limit`` (32) of them, else (a live client that loaded a venue's whole
list) to an instrument's quotes at its first ticket; quote checks need a cached quote.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.enums import ContingencyType, OrderSide, PositionSide
from nautilus_trader.model.events import (
    OrderCanceled,
    OrderDenied,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    PositionClosed,
)
from nautilus_trader.model.identifiers import ClientOrderId, InstrumentId, PositionId, StrategyId
from nautilus_trader.model.orders import Order, OrderList
from nautilus_trader.trading.strategy import Strategy

from engine.orders.commands import (
    AnyCommand,
    CancelAllOrders,
    CancelOrder,
    ClosePosition,
    FlattenAll,
    ModifyOrder,
    SubmitTicket,
)
from engine.orders.convert import bracket_legs, build_single, link_oco, ticket_size, to_nautilus
from engine.orders.issues import OrderIssue, OrderValidationError
from engine.orders.tickets import AnyTicket, BracketTicket, OcoTicket, OtoTicket
from engine.orders.validation import (
    InstrumentRules,
    MarketQuote,
    check_modify_values,
    validate_ticket,
)

BracketMode = Literal["native", "managed", "refuse"]


class GatewayStrategyConfig(StrategyConfig, frozen=True):  # type: ignore[misc,call-arg]
    """Configuration of the gateway strategy.

    Parameters
    ----------
    bracket_mode : {"native", "managed", "refuse"}
        How brackets are submitted (see the module docstring); use ``managed`` for
        sandbox nodes.
    check_quotes : bool
        Check trigger and post-only prices against the cached quote.
    quote_limit : int
        At start, quotes are subscribed for every loaded instrument when there are at most
        this many; beyond it (a live client loading a venue's thousands of instruments),
        only for an instrument a ticket names, at its first ticket. Thousands of
        subscriptions would exceed venue stream limits and rate limits.
    """

    bracket_mode: str = "native"
    check_quotes: bool = True
    quote_limit: int = 32


class OrderCommandError(Exception):
    """A command that cannot be carried out; ``code`` says why, for clients."""

    code = "order_command_failed"

    def __init__(self, message: str, *, field: str = "", value: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.value = value

    def to_dict(self) -> dict[str, Any]:
        """Return the error as JSON-safe plain data."""
        return {
            "error": self.code,
            "message": self.message,
            "field": self.field,
            "value": None if self.value is None else str(self.value),
        }


class UnknownOrderError(OrderCommandError):
    """No order with that client order id is in the cache."""

    code = "unknown_order"


class OrderNotOpenError(OrderCommandError):
    """The order exists but is closed (filled, canceled, …) and cannot change."""

    code = "order_not_open"


class UnknownInstrumentError(OrderCommandError):
    """The node does not know the instrument."""

    code = "unknown_instrument"


class UnknownPositionError(OrderCommandError):
    """No such open position."""

    code = "unknown_position"


class BracketRefusedError(OrderCommandError):
    """Brackets are switched off for this node (``bracket_mode="refuse"``)."""

    code = "bracket_refused"


class NotRunningError(OrderCommandError):
    """The strategy is not running, so it cannot submit."""

    code = "not_running"


@dataclass(frozen=True, slots=True)
class _PendingExits:
    ticket: BracketTicket
    sl_id: ClientOrderId
    tp_id: ClientOrderId


class GatewayStrategy(Strategy):  # type: ignore[misc]
    """Execute gateway ticket commands inside a Nautilus kernel."""

    def __init__(self, config: GatewayStrategyConfig | None = None) -> None:
        config = config or GatewayStrategyConfig()
        if config.bracket_mode not in ("native", "managed", "refuse"):
            raise ValueError(
                f"bracket_mode must be native, managed or refuse, got {config.bracket_mode!r}"
            )
        super().__init__(config)
        self._bracket_mode: str = config.bracket_mode
        self._check_quotes: bool = config.check_quotes
        self._pending: dict[ClientOrderId, _PendingExits] = {}
        self._managed_exits: dict[ClientOrderId, tuple[ClientOrderId, ...]] = {}
        self._quote_limit: int = config.quote_limit
        self.quoted: set[InstrumentId] = set()  # instruments whose quotes are subscribed
        self._rules_cache: dict[str, tuple[Any, InstrumentRules]] = {}  # see _rules
        # Set by the node host: the node's strategy of an id (closing orders go out as it).
        self.find_strategy: Callable[[StrategyId], Any] | None = None

    def on_start(self) -> None:
        """Subscribe to quotes of every loaded instrument, up to ``quote_limit`` of them.

        Without a subscriber the node requests no quotes, so the sandbox venue has no
        market (market orders are rejected, trailing stops cannot be priced) and
        trigger checks have no quote to check against.
        """
        instruments = self.cache.instruments()
        if len(instruments) > self._quote_limit:
            self.log.warning(
                f"{len(instruments)} instruments loaded, more than quote_limit "
                f"{self._quote_limit}: quotes are subscribed per instrument at its first ticket"
            )
            return
        for instrument in instruments:
            self._follow_quotes(instrument.id)

    def _follow_quotes(self, instrument_id: InstrumentId) -> None:
        if instrument_id not in self.quoted:
            self.quoted.add(instrument_id)
            self.subscribe_quote_ticks(instrument_id)

    # --- submit ---------------------------------------------------------------------------

    def submit_ticket(self, ticket: AnyTicket) -> list[ClientOrderId]:
        """Validate `ticket`, build its orders and submit them.

        Returns
        -------
        list[ClientOrderId]
            One id per order, in ticket order (a bracket: entry, stop-loss, take-profit).

        Raises
        ------
        OrderValidationError
            With every problem, checked against the instrument, the cached quote and
            the clock (an instrument the node does not hold is one: ``instrument_id``).
        BracketRefusedError, NotRunningError
        """
        if not self.is_running:
            raise NotRunningError(f"strategy {self.id} is not running")
        if isinstance(ticket, BracketTicket) and self._bracket_mode == "refuse":
            raise BracketRefusedError(
                "brackets are refused on this node (bracket_mode=refuse); submit the entry "
                "and then an OCO pair instead",
                field="type",
                value="BRACKET",
            )
        instrument = self._instrument(ticket)
        self._follow_quotes(instrument.id)  # the next tickets have a quote to check against
        quote = None
        if self._check_quotes:
            tick = self.cache.quote_tick(instrument.id)
            quote = None if tick is None else MarketQuote.from_quote_tick(tick)
        issues = validate_ticket(
            ticket,
            instrument=self._rules(instrument),
            quote=quote,
            now=self.clock.utc_now(),
        )
        if issues:
            raise OrderValidationError(issues)

        ids = [self.order_factory.generate_client_order_id() for _ in range(ticket_size(ticket))]
        if isinstance(ticket, BracketTicket) and self._bracket_mode == "managed":
            entry_ticket = bracket_legs(ticket)[0]
            entry = to_nautilus(
                entry_ticket, self.order_factory, instrument=instrument, client_order_ids=ids[:1]
            )
            assert isinstance(entry, Order)
            self._pending[ids[0]] = _PendingExits(ticket, ids[1], ids[2])
            self.submit_order(entry)
            return ids
        built = to_nautilus(ticket, self.order_factory, instrument=instrument, client_order_ids=ids)
        if isinstance(built, OrderList):
            self.submit_order_list(built)
        else:
            self.submit_order(built)
        return ids

    def _instrument(self, ticket: AnyTicket) -> Any:
        if isinstance(ticket, OcoTicket | OtoTicket) and not ticket.orders:
            raise OrderValidationError(validate_ticket(ticket))  # "two or more orders"
        first = ticket.orders[0] if isinstance(ticket, OcoTicket | OtoTicket) else ticket
        instrument_id = first.instrument_id
        try:
            instrument = self.cache.instrument(InstrumentId.from_str(instrument_id))
        except ValueError:
            instrument = None
        if instrument is None:  # bad input like any other: invalid_order naming the field
            path = "orders[0].instrument_id" if first is not ticket else "instrument_id"
            raise OrderValidationError(
                [OrderIssue(path, instrument_id, "an instrument loaded in this node")]
            )
        return instrument

    # --- market ----------------------------------------------------------------------------

    def rules_and_quote(
        self, instrument_id: str
    ) -> tuple[InstrumentRules | None, MarketQuote | None]:
        """An instrument's rules and latest quote (``None`` for what is not there): what a
        submit's notional is valued with, here, when it is sent."""
        try:
            iid = InstrumentId.from_str(instrument_id)
        except (TypeError, ValueError):
            return None, None
        instrument = self.cache.instrument(iid)
        if instrument is None:
            return None, None
        tick = self.cache.quote_tick(instrument.id)
        quote = None if tick is None else MarketQuote.from_quote_tick(tick)
        return self._rules(instrument), quote

    def _rules(self, instrument: Any) -> InstrumentRules:
        """An instrument's rules, read once per instrument object (an update replaces the
        object in the cache): reading them at every submit, twice, was ~2% of a node's CPU
        at 200 orders/s."""
        key = instrument.id.value
        held = self._rules_cache.get(key)
        if held is None or held[0] is not instrument:
            held = (instrument, InstrumentRules.from_instrument(instrument))
            self._rules_cache[key] = held
        return held[1]

    def market(self, instrument_id: str) -> dict[str, Any]:
        """An instrument's trading rules and its latest quote, for a ticket being filled.

        Its quotes are followed from now on, so a quote is there by the time the ticket is
        sent (the first ticket of an instrument beyond ``quote_limit``).

        Raises
        ------
        UnknownInstrumentError
        """
        try:
            iid = InstrumentId.from_str(instrument_id)
        except (TypeError, ValueError):
            iid = None
        instrument = None if iid is None else self.cache.instrument(iid)
        if instrument is None:
            raise UnknownInstrumentError(
                f"instrument {instrument_id} is not loaded in this node",
                field="instrument_id",
                value=instrument_id,
            )
        self._follow_quotes(instrument.id)
        tick = self.cache.quote_tick(instrument.id)
        return {
            "ok": True,
            "instrument": InstrumentRules.from_instrument(instrument).to_dict(),
            "quote": None if tick is None else MarketQuote.from_quote_tick(tick).to_dict(),
        }

    # --- modify / cancel ------------------------------------------------------------------

    def modify(self, command: ModifyOrder) -> None:
        """Modify a working order's quantity, price and/or trigger price.

        Raises
        ------
        UnknownOrderError, OrderNotOpenError, OrderValidationError
        """
        order = self._open_order(command.client_order_id)
        instrument = self.cache.instrument(order.instrument_id)
        issues = check_modify_values(
            order.type_string(),
            quantity=command.quantity,
            price=command.price,
            trigger_price=command.trigger_price,
            rules=None if instrument is None else self._rules(instrument),
            quote_quantity=order.is_quote_quantity,
        )
        if issues:
            raise OrderValidationError(issues)
        make_px = instrument.make_price if instrument is not None else None
        make_qty = instrument.make_qty if instrument is not None else None
        self.modify_order(
            order,
            quantity=None
            if command.quantity is None or make_qty is None
            else make_qty(command.quantity),
            price=None if command.price is None or make_px is None else make_px(command.price),
            trigger_price=None
            if command.trigger_price is None or make_px is None
            else make_px(command.trigger_price),
        )

    def cancel(self, command: CancelOrder) -> None:
        """Cancel one working order.

        Raises
        ------
        UnknownOrderError, OrderNotOpenError
        """
        order = self._open_order(command.client_order_id)
        self.cancel_order(order)

    def cancel_all(
        self, command: CancelAllOrders | None = None, *, strategy_id: StrategyId | None = None
    ) -> list[ClientOrderId]:
        """Cancel working orders (this strategy's, all with ``all_strategies``, or only
        `strategy_id`'s); return the ids it asked to cancel."""
        command = command or CancelAllOrders()
        instrument_id = (
            None if command.instrument_id is None else InstrumentId.from_str(command.instrument_id)
        )
        side = OrderSide.NO_ORDER_SIDE if command.side is None else OrderSide[command.side]
        if strategy_id is None:
            strategy_id = None if command.all_strategies else self.id
        orders = self.cache.orders_open(
            instrument_id=instrument_id, strategy_id=strategy_id, side=side
        ) + self.cache.orders_emulated(
            instrument_id=instrument_id, strategy_id=strategy_id, side=side
        )
        done: list[ClientOrderId] = []
        for order in orders:
            if order.client_order_id in done or order.is_closed:
                continue
            self.cancel_order(order)
            done.append(order.client_order_id)
        # Managed bracket exits not yet submitted die with their entry.
        for entry_id in [i for i in self._pending if i in done]:
            del self._pending[entry_id]
        return done

    def _open_order(self, client_order_id: str) -> Order:
        order = self.cache.order(ClientOrderId(client_order_id))
        if order is None:
            raise UnknownOrderError(
                f"no order {client_order_id} in this node",
                field="client_order_id",
                value=client_order_id,
            )
        if order.is_closed:
            raise OrderNotOpenError(
                f"order {client_order_id} is {order.status_string()} and can no longer change",
                field="client_order_id",
                value=client_order_id,
            )
        return order

    # --- positions ------------------------------------------------------------------------

    def close_position(self, command: ClosePosition) -> dict[str, list[str]]:
        """Close one position by id, or every open position of an instrument, at market.

        Each position is closed by a reduce-only market order of the strategy that holds
        it, on its position id (see :meth:`_close`); with ``cancel_orders`` the working
        orders that could reopen it are canceled first.

        Returns
        -------
        dict
            ``position_ids`` closing orders went out for, their ``client_order_ids``,
            ``canceled`` order ids, and ``skipped`` positions no order could close.

        Raises
        ------
        UnknownPositionError
            If the position is unknown or closed, or the instrument has none open.
        """
        if command.position_id is not None:
            position = self.cache.position(PositionId(command.position_id))
            if position is None or position.is_closed:
                raise UnknownPositionError(
                    f"no open position {command.position_id}",
                    field="position_id",
                    value=command.position_id,
                )
            positions = [position]
        elif command.instrument_id is not None:
            positions = self.cache.positions_open(
                instrument_id=InstrumentId.from_str(command.instrument_id)
            )
            if not positions:
                raise UnknownPositionError(
                    f"no open position in {command.instrument_id}",
                    field="instrument_id",
                    value=command.instrument_id,
                )
        else:
            raise OrderValidationError([OrderIssue("", None, "a position_id or an instrument_id")])
        canceled: list[str] = []
        if command.cancel_orders:
            for position in positions:
                scope = CancelAllOrders(
                    instrument_id=position.instrument_id.value, all_strategies=True
                )
                only = None if command.position_id is None else position.strategy_id
                canceled += [c.value for c in self.cancel_all(scope, strategy_id=only)]
        return {**self._close_all(positions, "GATEWAY_CLOSE"), "canceled": canceled}

    def flatten_all(self, command: FlattenAll | None = None) -> dict[str, list[str]]:
        """Cancel working orders (``cancel_orders``) and close every open position at market.

        Returns ``canceled`` and ``closed`` (position ids) as before, plus the closing
        orders' ``client_order_ids`` and the ``skipped`` positions.
        """
        command = command or FlattenAll()
        canceled: list[ClientOrderId] = []
        if command.cancel_orders:
            canceled = self.cancel_all(CancelAllOrders(all_strategies=command.all_strategies))
        strategy_id = None if command.all_strategies else self.id
        positions = self.cache.positions_open(strategy_id=strategy_id)
        done = self._close_all(positions, "GATEWAY_FLATTEN")
        return {
            "canceled": [c.value for c in canceled],
            "closed": done["position_ids"],
            "client_order_ids": done["client_order_ids"],
            "skipped": done["skipped"],
        }

    def _close_all(self, positions: list[Any], tag: str) -> dict[str, list[str]]:
        closed: list[str] = []
        orders: list[str] = []
        skipped: list[str] = []
        for position in positions:
            coid = self._close(position, tag)
            if coid is None:
                skipped.append(position.id.value)
            else:
                closed.append(position.id.value)
                orders.append(coid.value)
        return {"position_ids": closed, "client_order_ids": orders, "skipped": skipped}

    def _close(self, position: Any, tag: str) -> ClientOrderId | None:
        """Send one reduce-only market order closing `position`; its id (None: cannot).

        Nautilus keys a NETTING position by ``{instrument}-{strategy}`` and denies an order
        that names another strategy's position id, and the venue caps (or cancels) a
        reduce-only order by the position of the order's own strategy. So the order is
        built and submitted by the strategy that holds the position, on its id; that
        closes it on NETTING and HEDGING alike. A position whose strategy is gone can
        still be closed on HEDGING (custom position ids are allowed there), not on NETTING.
        """
        if position.is_closed:
            return None
        owner = self._owner(position.strategy_id)
        if owner is None:
            netting_id = f"{position.instrument_id}-{position.strategy_id}"
            if position.id.value == netting_id:
                self.log.warning(f"cannot close {position.id}: its strategy is gone")
                return None
            owner = self
        order = owner.order_factory.market(
            instrument_id=position.instrument_id,
            order_side=Order.closing_side(position.side),
            quantity=position.quantity,
            reduce_only=True,
            tags=[tag],
        )
        owner.submit_order(order, position_id=position.id)
        coid: ClientOrderId = order.client_order_id
        return coid

    def _owner(self, strategy_id: StrategyId) -> Any:
        if strategy_id == self.id:
            return self
        return None if self.find_strategy is None else self.find_strategy(strategy_id)

    def exposure(self, instrument_id: str | None = None) -> dict[str, Any]:
        """What is open at this node: positions (all strategies), net per instrument, orders.

        Read from the node's cache, so a client reports what the node holds after its
        orders settled rather than what it sent.
        """
        iid = None if not instrument_id else InstrumentId.from_str(instrument_id)
        positions = self.cache.positions_open(instrument_id=iid)
        net: dict[str, Decimal] = {}
        for p in positions:
            net[p.instrument_id.value] = net.get(p.instrument_id.value, Decimal(0)) + Decimal(
                str(p.signed_decimal_qty())
            )
        orders = self.cache.orders_open(instrument_id=iid) + self.cache.orders_emulated(
            instrument_id=iid
        )
        seen: set[str] = set()
        open_orders = []
        for o in orders:
            if o.client_order_id.value in seen or o.is_closed:
                continue
            seen.add(o.client_order_id.value)
            open_orders.append(
                {
                    "client_order_id": o.client_order_id.value,
                    "instrument_id": o.instrument_id.value,
                    "strategy_id": o.strategy_id.value,
                    "side": o.side_string(),
                    "order_type": o.type_string(),
                    "status": o.status_string(),
                    "quantity": str(o.quantity),
                    "filled_qty": str(o.filled_qty),
                }
            )
        return {
            "ok": True,
            "positions": [
                {
                    "position_id": p.id.value,
                    "instrument_id": p.instrument_id.value,
                    "strategy_id": p.strategy_id.value,
                    "side": PositionSide(p.side).name,
                    "quantity": str(p.quantity),
                    "signed_qty": str(p.signed_decimal_qty()),
                }
                for p in positions
            ],
            "net": {k: str(v) for k, v in net.items()},
            "open_orders": open_orders,
        }

    # --- any command ----------------------------------------------------------------------

    def execute(self, command: AnyCommand) -> dict[str, Any]:
        """Run any order command and return a JSON-safe result.

        Returns ``{"ok": True, ...}`` with ``client_order_ids`` / ``position_ids`` /
        ``canceled`` / ``closed`` as they apply. Errors propagate as exceptions (see the
        module docstring) so the host can map them to its reply.
        """
        if isinstance(command, SubmitTicket):
            ids = self.submit_ticket(command.ticket)
            return {"ok": True, "client_order_ids": [i.value for i in ids]}
        if isinstance(command, ModifyOrder):
            self.modify(command)
            return {"ok": True, "client_order_ids": [command.client_order_id]}
        if isinstance(command, CancelOrder):
            self.cancel(command)
            return {"ok": True, "client_order_ids": [command.client_order_id]}
        if isinstance(command, CancelAllOrders):
            return {"ok": True, "canceled": [i.value for i in self.cancel_all(command)]}
        if isinstance(command, ClosePosition):
            return {"ok": True, **self.close_position(command)}
        return {"ok": True, **self.flatten_all(command)}

    # --- managed brackets -----------------------------------------------------------------

    def on_order_filled(self, event: OrderFilled) -> None:
        """Submit managed bracket exits once their entry is completely filled."""
        pending = self._pending.get(event.client_order_id)
        order = self.cache.order(event.client_order_id)
        if pending is not None and order is not None and order.is_closed:
            self._submit_exits(order, pending)

    def on_order_canceled(self, event: OrderCanceled) -> None:
        """Protect a partial fill of a managed entry that was then canceled."""
        self._entry_done(event.client_order_id)

    def on_order_expired(self, event: OrderExpired) -> None:
        """Protect a partial fill of a managed entry that then expired."""
        self._entry_done(event.client_order_id)

    def on_order_rejected(self, event: OrderRejected) -> None:
        """Forget the exits of a rejected managed entry."""
        self._pending.pop(event.client_order_id, None)

    def on_order_denied(self, event: OrderDenied) -> None:
        """Forget the exits of a denied managed entry."""
        self._pending.pop(event.client_order_id, None)

    def on_position_closed(self, event: PositionClosed) -> None:
        """Cancel managed exits still working once their position is flat.

        They are not reduce-only, so left alone they could open a new position.
        """
        for entry_id, exit_ids in list(self._managed_exits.items()):
            entry = self.cache.order(entry_id)
            if entry is None or entry.position_id != event.position_id:
                continue
            for exit_id in exit_ids:
                exit_order = self.cache.order(exit_id)
                if exit_order is not None and exit_order.is_open:
                    self.cancel_order(exit_order)
            del self._managed_exits[entry_id]

    def _entry_done(self, client_order_id: ClientOrderId) -> None:
        pending = self._pending.get(client_order_id)
        if pending is None:
            return
        order = self.cache.order(client_order_id)
        if order is not None and order.filled_qty.as_decimal() > 0:
            self._submit_exits(order, pending)
        else:
            del self._pending[client_order_id]

    def _submit_exits(self, entry: Order, pending: _PendingExits) -> None:
        del self._pending[entry.client_order_id]
        filled = entry.filled_qty.as_decimal()
        ticket = pending.ticket.model_copy(update={"quantity": filled})
        _, sl, tp = bracket_legs(ticket, children_reduce_only=False)
        instrument = self.cache.instrument(entry.instrument_id)
        exits = [
            build_single(leg, self.order_factory, instrument=instrument, client_order_id=cid)
            for leg, cid in ((sl, pending.sl_id), (tp, pending.tp_id))
        ]
        contingency = ContingencyType[pending.ticket.contingency_type]
        order_list = link_oco(exits, self.order_factory, contingency)
        self._managed_exits[entry.client_order_id] = (pending.sl_id, pending.tp_id)
        self.submit_order_list(order_list, position_id=entry.position_id)
