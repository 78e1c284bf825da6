"""Order entry and order actions of the console: tickets, modify, cancel, close, flatten.

Which node an action is for comes from the focused pane (the selected node, order or
position). A ticket goes to the node's host from an async worker via
``Services.order_command`` and a refusal is shown naming its fields; modify, cancel,
close and flatten go through ``Services.order_action`` (``engine.orders.outcome``), which
waits for the venue's answer or until flat, and the notification says what is done and
what remains.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from console.screens.confirm import ConfirmModal
from console.screens.modify_order import ModifyOrderModal
from engine.orders.defaults import DEFAULT_CONFIRM_ABOVE
from widgets.data import NodeRow, OrderRow, PositionRow
from widgets.keyed_table import KeyedTable
from widgets.node_list import NodeList

if TYPE_CHECKING:
    from console.app import GatewayApp
    from engine.orders.outcome import Outcome

TRADING_MODES = frozenset({"sandbox", "live"})
MARKET_TIMEOUT_S = 1.0  # the node's rules and quote for a ticket; past it, open without


def refusal_text(reply: dict[str, Any]) -> str | None:
    """Describe a node's refusal (``{"ok": false, "code", "message", "issues"}``), or None."""
    if reply.get("ok") is not False and "error" not in reply and "code" not in reply:
        return None
    code = reply.get("code") or reply.get("error") or "refused"
    lines = [f"refused ({code}): {reply.get('message') or ''}".rstrip(": ")]
    for issue in reply.get("issues") or ():
        if isinstance(issue, dict):
            lines.append(
                f"{issue.get('path') or 'ticket'}: got {issue.get('value')!r}, "
                f"expected {issue.get('expected') or issue.get('message')}"
            )
    if reply.get("field"):
        lines.append(f"{reply['field']}: got {reply.get('value')!r}")
    return "\n".join(lines)


class OrderDesk:
    """The console's order actions, bound to one app."""

    def __init__(self, app: GatewayApp) -> None:
        self.app = app

    # -- which node ------------------------------------------------------------------
    def focused_node_id(self) -> str | None:
        """The node of the focused pane's selected row (any pane), else the node list's."""
        main = self.app.main
        pane = main.focused_pane() if main.is_mounted else None
        known = {r.node_id for r in self.app.node_rows}
        if pane is not None:
            tables = [pane] if isinstance(pane, KeyedTable) else list(pane.query(KeyedTable))
            row = tables[0].row_at_cursor() if tables else None
            node_id = getattr(row, "node_id", None)
            if node_id in known:
                return str(node_id)
        lists = list(main.query(NodeList))
        selected = lists[0].selected if lists else None
        return selected.node_id if selected is not None else None

    def trading_node(self, node_id: str | None) -> NodeRow | None:
        """The running sandbox/live row of `node_id`; else notify why not and return None."""
        if node_id is None:
            self.app.notify(
                "no node selected: pick a running sandbox or live node", severity="warning"
            )
            return None
        rows = [r for r in self.app.node_rows if r.node_id == node_id]
        row = next((r for r in rows if r.state.startswith("running")), rows[0] if rows else None)
        if row is None:
            self.app.notify(f"{node_id}: no such node", severity="warning")
            return None
        if row.mode not in TRADING_MODES:
            self.app.notify(
                f"{node_id} is a {row.mode} node: orders go to running sandbox or live nodes",
                severity="warning",
            )
            return None
        if not row.state.startswith("running"):
            self.app.notify(
                f"{node_id} is {row.state}: launch it (l) before sending orders",
                severity="warning",
            )
            return None
        return row

    def confirm_above(self) -> Decimal | None:
        """The workspace's threshold, read as the core reads it when the order is sent."""
        from engine.orders.order_settings import confirm_threshold

        return confirm_threshold(self.app.services.workspace)

    # -- tickets ---------------------------------------------------------------------
    def open_ticket(self, side: str, line: str | None = None) -> None:
        """Open a ``side`` ticket for the focused node (pre-filled from an order ``line``)."""
        row = self.trading_node(self.focused_node_id())
        if row is not None:
            self.app.run_worker(
                lambda: self._instrument_then_open(row, side, line),
                thread=True,
                group="ticket",
                exit_on_error=False,
            )

    def _instrument_then_open(self, row: NodeRow, side: str, line: str | None) -> None:
        instrument = self.instrument_of(row)
        self.app.call_from_thread(
            self.app.run_worker,
            self._market_then_open(row.node_id, side, instrument, line),
            group="ticket",
            exit_on_error=False,
        )

    async def _market_then_open(
        self, node_id: str, side: str, instrument: str, line: str | None
    ) -> None:
        rules, quote = await self.market(node_id, instrument)
        above = await asyncio.to_thread(self.confirm_above)
        self._push_ticket(node_id, side, instrument, line, rules, quote, above)

    async def market(self, node_id: str, instrument: str) -> tuple[Any, Any]:
        """The instrument's rules and quote from the node, or (None, None) if it cannot say
        in time: the ticket then checks what it can and the node checks the rest."""
        from engine.orders.validation import InstrumentRules, MarketQuote

        if not instrument:
            return None, None
        try:
            reply = await asyncio.wait_for(
                self.app.services.market(node_id, instrument), MARKET_TIMEOUT_S
            )
            rules = InstrumentRules.from_dict(reply["instrument"]) if reply.get("ok") else None
            quote = reply.get("quote") if rules is not None else None
            return rules, None if not quote else MarketQuote.from_dict(quote)
        except Exception:  # not running any more, slow, an older host: open it anyway
            return None, None

    def instrument_of(self, row: NodeRow) -> str:
        """The node config's first strategy's instrument, else the last one in its events."""
        try:
            doc = self.app.services.load_doc(row.node_id, row.mode)
        except (OSError, ValueError):
            doc = {}
        for strategy in doc.get("strategies") or ():
            config = strategy.get("config") if isinstance(strategy, dict) else None
            if isinstance(config, dict) and config.get("instrument_id"):
                return str(config["instrument_id"])
        return self.app.feed_state.instruments.get(row.node_id, "")

    def _push_ticket(
        self,
        node_id: str,
        side: str,
        instrument: str,
        line: str | None,
        rules: Any = None,
        quote: Any = None,
        confirm_above: Decimal | None = DEFAULT_CONFIRM_ABOVE,
    ) -> None:
        from textual.widgets import Input

        from console.screens.order_ticket import OrderTicketScreen

        screen = OrderTicketScreen(
            side,
            node_id=node_id,
            instrument_id=instrument,
            rules=rules,
            quote=quote,
            confirm_above=confirm_above,
        )

        def done(ticket: dict[str, Any] | None) -> None:
            if ticket is not None:  # the core checks it again, with what the ticket showed
                self.submit(node_id, ticket, screen.confirmed, (rules, quote))

        self.app.push_screen(screen, done)
        if line:
            self.app.call_after_refresh(
                lambda: setattr(screen.query_one("#ticket-syntax", Input), "value", line)
            )

    def submit(
        self,
        node_id: str,
        ticket: dict[str, Any],
        confirmed: bool | Decimal | None = None,
        market: tuple[Any, Any] | None = None,
    ) -> None:
        """Send a ticket; ``confirmed`` and ``market`` go to the core's notional check."""
        from console.screens.order_ticket import submit_command
        from engine.orders.issues import OrderValidationError

        try:
            command = submit_command(ticket)
        except OrderValidationError as exc:
            issues = "\n".join(str(i) for i in exc.issues)
            self.app.notify(f"ticket not sent:\n{issues}", severity="error", timeout=12)
            return
        self.send(node_id, command, "order", confirmed=confirmed, market=market)

    # -- actions on orders and positions ---------------------------------------------
    def order_action(self, action: str, row: OrderRow | None) -> None:
        """Run an orders-pane action: modify, cancel, cancel_all, flatten."""
        node = self.trading_node(row.node_id if row is not None else self.focused_node_id())
        if node is None:
            return
        if action in {"modify", "cancel"}:
            if row is None:
                self.app.notify("no order selected", severity="warning")
                return
            if row.closed:
                self.app.notify(
                    f"{row.client_order_id} is {row.status}: not working", severity="warning"
                )
                return
        if action == "modify" and row is not None:
            current = {
                "quantity": row.quantity or None,
                "price": row.price if row.price not in ("", "-") else None,
                "trigger_price": row.trigger_price,
            }

            def modified(command: dict[str, Any] | None) -> None:
                if command is not None:
                    self.act(node.node_id, command, f"modify {row.client_order_id}")

            self.app.push_screen(ModifyOrderModal(row.client_order_id, current), modified)
        elif action == "cancel" and row is not None:
            self.confirm_send(
                f"Cancel order {row.client_order_id} on {node.node_id}?",
                node.node_id,
                {"action": "cancel", "client_order_id": row.client_order_id},
                f"cancel {row.client_order_id}",
            )
        elif action == "cancel_all":
            self.confirm_send(
                f"Cancel every working order on {node.node_id}?",
                node.node_id,
                {"action": "cancel_all"},
                "cancel all",
            )
        elif action == "flatten":
            self.flatten(node.node_id)

    def position_action(self, action: str, row: PositionRow | None) -> None:
        """Run a positions-pane action: close_position, flatten."""
        node = self.trading_node(row.node_id if row is not None else self.focused_node_id())
        if node is None:
            return
        if action == "flatten":
            self.flatten(node.node_id)
            return
        if row is None:
            self.app.notify("no position selected", severity="warning")
            return
        if row.side.upper() == "FLAT":
            self.app.notify(f"{row.position_id} is closed already", severity="warning")
            return
        self.confirm_send(
            f"Close position {row.position_id} ({row.side} {row.quantity}) on "
            f"{node.node_id} at market?",
            node.node_id,
            {"action": "close_position", "position_id": row.position_id},
            f"close {row.position_id}",
        )

    def flatten(self, node_id: str) -> None:
        self.confirm_send(
            f"Cancel every order and close every position on {node_id} at market?",
            node_id,
            {"action": "flatten_all"},
            "flatten",
        )

    def confirm_send(self, question: str, node_id: str, command: dict[str, Any], what: str) -> None:
        """Ask first (these cannot be undone), then carry it out and show the outcome."""

        def answered(yes: bool | None) -> None:
            if yes:
                self.act(node_id, command, what)

        self.app.push_screen(ConfirmModal(question, "Send", "Keep"), answered)

    def kill_switch(self) -> None:
        """Ask once; then every running sandbox/live node: REDUCING, flat, HALTED."""

        def answered(yes: bool | None) -> None:
            if yes:
                self.app.notify("kill switch: flattening every running node…", timeout=5)
                self.app.run_worker(self._kill_switch(), group="orders", exit_on_error=False)

        self.app.push_screen(
            ConfirmModal(
                "KILL SWITCH: cancel every order, close every position of every strategy "
                "at market and HALT trading on EVERY running sandbox/live node?",
                "Flatten and halt",
                "Keep",
            ),
            answered,
        )

    async def _kill_switch(self) -> None:
        try:
            outcomes = await self.app.services.kill_switch()
        except Exception as exc:
            self.app.notify(f"kill switch failed: {exc}", severity="error", timeout=15)
            return
        if not outcomes:
            self.app.notify("kill switch: no running sandbox or live node", severity="warning")
        for outcome in outcomes:
            text = "kill switch — " + "\n".join(outcome.lines()[:7])
            if outcome.ok:
                self.app.notify(text, severity="warning", timeout=10)
            else:
                self.app.notify(text, severity="error", timeout=30)

    # -- outcomes ----------------------------------------------------------------------
    def act(self, node_id: str, command: dict[str, Any], what: str) -> None:
        """Carry out a modify/cancel/close/flatten from a worker; show its verified outcome."""
        if command.get("action") in {"close_position", "flatten_all"}:
            self.app.notify(f"{node_id}: {what}: working until flat…", timeout=4)
        self.app.run_worker(self._act(node_id, command, what), group="orders", exit_on_error=False)

    async def _act(
        self, node_id: str, command: dict[str, Any], what: str, confirm: bool | None = None
    ) -> None:
        try:
            outcome = await self.app.services.order_action(
                node_id, command, confirm_notional=confirm
            )
        except Exception as exc:  # not running, channel closed: say so, keep the console
            self.app.notify(f"{node_id}: {what} failed: {exc}", severity="error", timeout=12)
            return
        if outcome.code == "unconfirmed" and confirm is None:
            # A modify raising the notional above the threshold: ask, as a ticket does.
            message = str(outcome.reply.get("message") or outcome.summary)

            def answered(yes: bool | None) -> None:
                if yes:
                    self.app.run_worker(
                        self._act(node_id, command, what, True),
                        group="orders",
                        exit_on_error=False,
                    )
                else:
                    self.app.notify(f"{node_id}: {what} not sent", timeout=4)

            self.app.push_screen(ConfirmModal(message, "Send", "Keep"), answered)
            return
        self._show(outcome, what)

    def _show(self, outcome: Outcome, what: str) -> None:
        lines = outcome.lines()
        shown = lines[:6] + ([f"  … and {len(lines) - 6} more"] if len(lines) > 6 else [])
        text = f"{what} — " + "\n".join(shown)
        if outcome.ok:
            self.app.notify(text, timeout=6)
        else:
            self.app.notify(text, severity="error", timeout=20)

    # -- sending ---------------------------------------------------------------------
    def send(
        self,
        node_id: str,
        command: dict[str, Any],
        what: str,
        *,
        confirmed: bool | Decimal | None = None,
        market: tuple[Any, Any] | None = None,
    ) -> None:
        """Send `command` from a worker; say what the node answered."""
        self.app.run_worker(
            self._send(node_id, command, what, confirmed, market),
            group="orders",
            exit_on_error=False,
        )

    async def _send(
        self,
        node_id: str,
        command: dict[str, Any],
        what: str,
        confirmed: bool | Decimal | None = None,
        market: tuple[Any, Any] | None = None,
    ) -> None:
        from engine.services.errors import ServiceError

        try:
            reply = await self.app.services.order_command(
                node_id, command, confirm_notional=confirmed, market=market
            )
        except ServiceError as exc:  # the core's refusal (unconfirmed, not running): its words
            self.app.notify(
                f"{node_id}: {what} not sent: {exc.message}", severity="error", timeout=12
            )
            return
        except Exception as exc:  # not running, channel closed: say so, keep the console
            self.app.notify(f"{node_id}: {what} not sent: {exc}", severity="error", timeout=10)
            return
        refused = refusal_text(reply)
        if refused is not None:
            self.app.notify(f"{node_id}: {what} {refused}", severity="error", timeout=12)
        else:
            self.app.notify(f"{node_id}: {what} sent", timeout=3)
