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
        out += [
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

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, text=name, help=help_text)
