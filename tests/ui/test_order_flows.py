"""Pilot tests of order entry and order actions from the console, and the adapters screen.

The node host is stood in for at the console's one door to it (``order_command``): what
these tests check is which command the console sends for which keys, and what it shows
for the node's answer. Sending to a real sandbox host is covered by the orders CLI's
integration tests (the same NodeManager.command path).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from textual.widgets import Input, Select

from console.app import GatewayApp
from console.screens.adapters import AdaptersScreen
from console.screens.confirm import ConfirmModal
from console.screens.main import MainScreen
from console.screens.modify_order import ModifyOrderModal
from console.screens.order_ticket import OrderTicketScreen
from console.services import WorkspaceServices
from console.settings import load_settings
from engine.audit.log import AuditLog
from engine.manager import NodeManager
from engine.orders.commands import load_command
from engine.orders.outcome import Outcome
from engine.orders.syntax import parse_ticket
from engine.orders.tickets import dump_ticket
from engine.principal import Principal
from engine.risk.service import KillOutcome, RiskOutcome
from engine.services.orders import OrderService
from engine.workspace import Workspace
from tests.ui.conftest import FROZEN_NOW, sample_envelopes
from tests.ui.helpers import wait_for
from themes.loader import load_themes
from widgets.node_list import NodeList
from widgets.orders_table import OrdersTable
from widgets.positions_table import PositionsTable


class RecordingServices(WorkspaceServices):
    """Workspace services whose order commands are recorded and answered by ``reply``.

    A submit goes through the core's notional guard first, as ``WorkspaceServices`` sends
    it (``OrderService.guard_submit`` with the rules and quote the ticket showed); only
    the node behind it is stood in for."""

    def __init__(self, workspace: Workspace, reply: dict[str, Any] | None = None) -> None:
        super().__init__(workspace)
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.confirmations: list[bool | Decimal | None] = []
        self.reply = reply or {"ok": True}
        self.outcome: Outcome | None = None
        self.confirms: list[bool | None] = []  # each order action's confirm_notional
        self.refuse_unconfirmed = False  # answer a modify as above the notional threshold

    async def order_command(
        self,
        node_id: str,
        command: dict[str, Any],
        *,
        confirm_notional: bool | Decimal | None = None,
        market: tuple[Any, Any] | None = None,
    ) -> dict[str, Any]:
        load_command(command)  # what a host would accept
        service = OrderService(NodeManager(self.workspace))
        who = Principal.local("console")
        await service.guard_submit(who, node_id, command, confirm_notional, market=market)
        self.confirmations.append(confirm_notional)
        self.sent.append((node_id, command))
        return self.reply

    async def market(self, node_id: str, instrument_id: str) -> dict[str, Any]:
        # As a sandbox host answers for EUR/USD.SIM.
        return {
            "ok": True,
            "instrument": {
                "instrument_id": instrument_id,
                "price_increment": "0.00001",
                "size_increment": "1000",
                "min_quantity": "1000",
                "multiplier": "1",
                "notional_currency": "USD",
            },
            "quote": {"bid": "1.10002", "ask": "1.10004"},
        }

    async def order_action(
        self, node_id: str, command: dict[str, Any], *, confirm_notional: bool | None = None
    ) -> Outcome:
        load_command(command)
        self.sent.append((node_id, command))
        self.confirms.append(confirm_notional)
        if self.refuse_unconfirmed and confirm_notional is None:  # as the node answers
            message = "its notional 550,000.00 USD is above the confirmation threshold 50,000"
            reply = {"ok": False, "code": "unconfirmed", "message": message}
            return Outcome(node_id, "modify", False, message, code="unconfirmed", reply=reply)
        return self.outcome or Outcome(node_id, str(command["action"]), True, "done")

    async def kill_switch(self) -> list[KillOutcome]:
        self.sent.append(("*", {"action": "flatten_all"}))
        halted = RiskOutcome("demo-sandbox", True, risk={"trading_state": "HALTED"})
        flat = Outcome("demo-sandbox", "flatten_all", True, "flat: closed X")
        return [KillOutcome("demo-sandbox", halted, flat)]


def make(workspace: Workspace, reply: dict[str, Any] | None = None) -> GatewayApp:
    return GatewayApp(
        RecordingServices(workspace, reply),
        settings=load_settings(workspace.settings_path),
        settings_path=workspace.settings_path,
        themes=load_themes(workspace.root / "themes"),
        clock=lambda: FROZEN_NOW,
    )


def sent(app: GatewayApp) -> list[tuple[str, dict[str, Any]]]:
    assert isinstance(app.services, RecordingServices)
    return app.services.sent


def notes(app: GatewayApp) -> str:
    return "\n".join(str(n.message) for n in app._notifications)


async def started(app: GatewayApp, pilot: Any, node: str = "demo-sandbox") -> None:
    """The demo sandbox node running (from its events), selected in the node list."""
    await wait_for(pilot, lambda: app.nodes_loaded > 0)
    app.ingest(sample_envelopes())
    await pilot.pause()
    node_list = app.main.query_one(NodeList)
    keys = [r.node_id for r in node_list.rows_data]
    node_list.move_cursor(row=keys.index(node))
    await pilot.pause()


async def buy_ticket(app: GatewayApp, pilot: Any) -> OrderTicketScreen:
    """The demo sandbox node started and selected, its buy ticket opened with ``b``."""
    await started(app, pilot)
    await pilot.press("b")
    await wait_for(pilot, lambda: isinstance(app.screen, OrderTicketScreen))
    ticket = app.screen
    assert isinstance(ticket, OrderTicketScreen)
    return ticket


async def test_buy_key_opens_a_ticket_for_the_selected_node_and_sends_it(
    workspace: Workspace,
) -> None:
    app = make(workspace)
    async with app.run_test(size=(120, 44)) as pilot:
        ticket = await buy_ticket(app, pilot)
        # The instrument is the node config's first strategy's.
        assert (ticket.node_id, ticket.instrument_id, ticket.side) == (
            "demo-sandbox",
            "EUR/USD.SIM",
            "BUY",
        )
        assert ticket.confirm_above is not None
        await pilot.press(*"100000", "tab", *"1.08450", "enter")
        await wait_for(pilot, lambda: bool(sent(app)))
    node, command = sent(app)[0]
    assert node == "demo-sandbox" and command["action"] == "submit"
    assert load_command(command).ticket == parse_ticket(  # type: ignore[union-attr]
        "buy 100000 EUR/USD.SIM limit 1.08450"
    )


async def test_an_order_above_the_workspace_threshold_asks_then_the_core_takes_the_confirmation(
    workspace: Workspace,
) -> None:
    workspace.settings_path.write_text(json.dumps({"orders": {"confirm_notional_above": "50000"}}))
    app = make(workspace)
    async with app.run_test(size=(120, 44)) as pilot:
        ticket = await buy_ticket(app, pilot)
        assert ticket.confirm_above == Decimal(50_000)  # the engine's reading of settings.json
        await pilot.press(*"100000", "tab", *"1.08450", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal))
        question = app.screen.question
        assert "has a notional of 108,450.00 USD, above 50,000." in question
        await pilot.press("y")
        await wait_for(pilot, lambda: bool(sent(app)))
    services = app.services
    assert isinstance(services, RecordingServices)
    assert services.confirmations == [Decimal("108450.00000")]  # what the modal showed


async def test_the_core_refuses_an_unconfirmed_console_submit_and_says_so(
    workspace: Workspace,
) -> None:
    workspace.settings_path.write_text(json.dumps({"orders": {"confirm_notional_above": "50000"}}))
    app = make(workspace)
    async with app.run_test(size=(120, 44)) as pilot:
        await started(app, pilot)
        # A ticket that skipped the modal (or one the modal confirmed for less): the core,
        # not the screen, is what refuses it.
        ticket = dump_ticket(parse_ticket("buy 100000 EUR/USD.SIM limit 1.08450"))
        market = await app.orders.market("demo-sandbox", "EUR/USD.SIM")
        app.orders.submit("demo-sandbox", ticket, Decimal(100_000), market)
        await wait_for(pilot, lambda: "order not sent" in notes(app))
        assert "108,450.00 USD is above the confirmation threshold 50,000" in notes(app)
        assert "confirmed only up to 100,000.00" in notes(app)
    assert sent(app) == []
    entry = list(AuditLog.of(workspace).entries())[-1]
    assert (entry.action, entry.result["ok"], entry.result["code"]) == (
        "orders.submit",
        False,
        "unconfirmed",
    )


async def test_a_refusal_names_the_fields_and_a_backtest_node_takes_no_orders(
    workspace: Workspace,
) -> None:
    reply = {
        "ok": False,
        "code": "invalid_ticket",
        "message": "the ticket breaks the instrument's rules",
        "issues": [{"path": "price", "value": "1.084501", "expected": "a multiple of 0.00001"}],
    }
    app = make(workspace, reply)
    async with app.run_test(size=(120, 44)) as pilot:
        await started(app, pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, OrderTicketScreen))
        await pilot.press(*"100000", "tab", *"1.08450", "enter")
        await wait_for(pilot, lambda: "invalid_ticket" in notes(app))
        assert "price: got '1.084501', expected a multiple of 0.00001" in notes(app)

        app.main.query_one(NodeList).move_cursor(row=0)  # demo-backtest
        await pilot.press("b")
        await wait_for(pilot, lambda: "backtest node" in notes(app))
        assert isinstance(app.screen, MainScreen)

        # The focused pane's selection decides: the metrics row of the sandbox node.
        await pilot.press("5")
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, OrderTicketScreen))
        assert getattr(app.screen, "node_id", None) == "demo-sandbox"


async def test_palette_order_line_opens_the_ticket_filled(workspace: Workspace) -> None:
    app = make(workspace)
    async with app.run_test(size=(120, 44)) as pilot:
        await started(app, pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"sell 20000 EUR/USD.SIM limit 1.09 gtc")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, OrderTicketScreen))
        ticket = app.screen
        assert isinstance(ticket, OrderTicketScreen)
        await wait_for(pilot, lambda: ticket.query_one("#f-price", Input).value == "1.09")
        assert ticket.query_one("#f-quantity", Input).value == "20000"


async def test_order_and_position_actions_send_their_commands_after_confirmation(
    workspace: Workspace,
) -> None:
    app = make(workspace)
    async with app.run_test(size=(120, 44)) as pilot:
        await started(app, pilot)
        await pilot.press("3")
        orders = app.main.query_one(OrdersTable)
        ids = [r.client_order_id for r in orders.rows_data]
        orders.move_cursor(row=ids.index("O-0002"))  # the working limit order
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, ModifyOrderModal))
        price = app.screen.query_one("#modify-price", Input)
        assert price.value == "1.10500"
        price.value = "1.10400"
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(sent(app)) == 1)
        assert sent(app)[-1][1] == {
            "action": "modify",
            "client_order_id": "O-0002",
            "price": "1.10400",
        }

        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("n")  # kept: nothing sent
        await pilot.pause()
        assert len(sent(app)) == 1
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("y")
        await wait_for(pilot, lambda: len(sent(app)) == 2)
        assert sent(app)[-1][1] == {"action": "cancel", "client_order_id": "O-0002"}

        await pilot.press("C")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("y")
        await wait_for(pilot, lambda: len(sent(app)) == 3)
        assert sent(app)[-1][1]["action"] == "cancel_all"

        await pilot.press("4")
        assert app.main.query_one(PositionsTable).row_at_cursor() is not None
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("y")
        await wait_for(pilot, lambda: len(sent(app)) == 4)
        assert sent(app)[-1][1] == {
            "action": "close_position",
            "position_id": "EUR/USD.SIM-EMACross-000",
        }
        await pilot.press("F")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("y")
        await wait_for(pilot, lambda: len(sent(app)) == 5)
        assert sent(app)[-1] == ("demo-sandbox", {"action": "flatten_all"})


async def test_outcomes_are_shown_and_the_kill_switch_asks_once(workspace: Workspace) -> None:
    app = make(workspace)
    assert isinstance(app.services, RecordingServices)
    app.services.outcome = Outcome(
        "demo-sandbox",
        "close_position",
        False,
        "NOT flat after 30.0 s: 1 position(s) still open (net EUR/USD.SIM LONG 500000)",
        code="not_flat",
        positions_left=(
            {
                "position_id": "EUR/USD.SIM-EMACross-000",
                "side": "LONG",
                "quantity": "500000",
                "strategy_id": "EMACross-000",
            },
        ),
    )
    async with app.run_test(size=(120, 44)) as pilot:
        await started(app, pilot)
        await pilot.press("4", "x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("y")
        await wait_for(pilot, lambda: "NOT flat" in notes(app))
        assert "still open: EUR/USD.SIM-EMACross-000 LONG 500000" in notes(app)
        errors = [n for n in app._notifications if n.severity == "error"]
        assert errors and "NOT flat" in str(errors[-1].message)

        await pilot.press("ctrl+k")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("n")  # kept: nothing sent
        await pilot.pause()
        assert ("*", {"action": "flatten_all"}) not in sent(app)
        await pilot.press("ctrl+k")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press("y")
        await wait_for(pilot, lambda: "flat: closed X" in notes(app))
        assert sent(app)[-1] == ("*", {"action": "flatten_all"})


async def test_adapters_screen_opens_from_its_key(workspace: Workspace) -> None:
    app = make(workspace)
    async with app.run_test(size=(120, 44)) as pilot:
        await wait_for(pilot, lambda: app.nodes_loaded > 0)
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, AdaptersScreen))


class MarketServices(RecordingServices):
    """Recording services whose node answers ``market`` as a sandbox host does."""


async def test_the_ticket_is_checked_against_the_nodes_rules_and_quote(
    workspace: Workspace,
) -> None:
    app = make(workspace)
    app.services = MarketServices(workspace)
    async with app.run_test(size=(120, 44)) as pilot:
        ticket = await buy_ticket(app, pilot)
        title = str(ticket.query_one("#ticket-title").render())
        assert "bid 1.10002 / ask 1.10004" in title
        ticket.set_field("quantity", "100500")  # not a multiple of the size increment
        ticket.set_field("price", "1.084505")  # nor of the price increment
        await wait_for(pilot, lambda: "0.00001" in ticket.field_error("price"))
        assert "1000" in ticket.field_error("quantity")

        ticket.query_one("#ticket-type", Select).value = "MARKET"
        ticket.set_field("quantity", "100000")
        status = ticket.query_one("#ticket-status")
        await wait_for(pilot, lambda: "notional 110,004.00" in str(status.render()))


async def test_a_modify_raising_the_notional_asks_and_resends_it_confirmed(
    workspace: Workspace,
) -> None:
    """The node refuses a modify above the threshold (unconfirmed): the console asks as its
    ticket does; "no" sends nothing more, "yes" sends it again confirmed."""
    app = make(workspace)
    async with app.run_test(size=(120, 44)) as pilot:
        await started(app, pilot)
        app.services.refuse_unconfirmed = True
        await pilot.press("3")
        orders = app.main.query_one(OrdersTable)
        ids = [r.client_order_id for r in orders.rows_data]
        for answer, sends in (("n", 1), ("y", 3)):
            orders.move_cursor(row=ids.index("O-0002"))
            await pilot.press("m")
            await wait_for(pilot, lambda: isinstance(app.screen, ModifyOrderModal))
            app.screen.query_one("#modify-quantity", Input).value = "500000"
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal))
            assert "550,000.00 USD is above the confirmation threshold" in str(app.screen.question)
            await pilot.press(answer)
            await wait_for(pilot, lambda n=sends: len(sent(app)) == n)
            await pilot.pause(0.2)
        assert app.services.confirms == [None, None, True]
        assert sent(app)[-1][1]["quantity"] == "500000"
