"""Command palette: every console action, node actions once per node."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

from widgets.node_list import NODE_ACTIONS

if TYPE_CHECKING:
    from console.app import GatewayApp


class GatewayCommands(Provider):
    """Node actions (per node), pane switching, theme cycling, keys help."""

    def _commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        from console.app import GatewayApp
        from console.screens.main import PANES

        app = self.app
        assert isinstance(app, GatewayApp)
        gateway: GatewayApp = app
        out: list[tuple[str, str, Callable[[], object]]] = [
            (
                "New node from a template",
                "Create a node",
                partial(gateway.node_action, "create", None),
            ),
        ]
        for row in gateway.node_rows:
            for action, _key, desc, tip in NODE_ACTIONS:
                if action == "create":
                    continue
                out.append(
                    (
                        f"{desc} {row.node_id} ({row.mode})",
                        tip,
                        partial(gateway.node_action, action, row),
                    )
                )
        for pane, label in PANES:
            out.append(
                (
                    f"Show {label}",
                    f"Show the {label.lower()} pane",
                    partial(gateway.show_pane, pane),
                )
            )
        for row in gateway.node_rows:
            if row.mode in {"sandbox", "live"} and row.state.startswith("running"):
                out += [
                    (
                        f"Cancel all orders on {row.node_id}",
                        "Cancel every working order of the node (asks first)",
                        partial(
                            gateway.orders.confirm_send,
                            f"Cancel every working order on {row.node_id}?",
                            row.node_id,
                            {"action": "cancel_all"},
                            "cancel all",
                        ),
                    ),
                    (
                        f"Flatten {row.node_id}",
                        "Cancel every order and close every position at market (asks first)",
                        partial(gateway.orders.flatten, row.node_id),
                    ),
                ]
        out += [
            (
                "Buy ticket",
                "Open a buy ticket for the selected node (or type: buy 100000 EUR/USD.SIM …)",
                partial(gateway.action_order, "BUY"),
            ),
            (
                "Sell ticket",
                "Open a sell ticket for the selected node (or type: sell 100000 …)",
                partial(gateway.action_order, "SELL"),
            ),
            (
                "Adapters",
                "Venue adapter profiles and their credentials",
                gateway.action_adapters,
            ),
            ("Next theme", "Cycle the console themes (remembered)", gateway.action_cycle_theme),
            ("Keys", "Show the keys of the focused pane", gateway.action_show_keys),
            (
                "Filter events by text",
                "Open the event log's text filter",
                partial(gateway.event_log_action, "search"),
            ),
            (
                "Clear event filters",
                "Show every event again",
                partial(gateway.event_log_action, "clear_filter"),
            ),
            ("Quit", "Quit the console (asks about live nodes)", gateway.action_quit),
        ]
        return out

    def _order_line_hit(self, line: str) -> Hit:
        """A hit that opens a ticket pre-filled from the typed order line (when it parses)."""
        from console.app import GatewayApp
        from engine.orders.syntax import parse_ticket

        app = self.app
        assert isinstance(app, GatewayApp)
        try:
            parse_ticket(line)
        except Exception as exc:  # shown as the hit's help: what to fix
            help_text = f"not complete yet: {exc}"
        else:
            help_text = "Open the ticket pre-filled (check it, enter sends)"
        return Hit(
            1.0,
            f"Order ticket: {line}",
            partial(app.order_from_line, line),
            text=f"Order ticket: {line}",
            help=help_text,
        )

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        line = query.strip()
        if line.split(" ", 1)[0].lower() in {"buy", "sell"} and " " in line:
            yield self._order_line_hit(line)
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, text=name, help=help_text)
