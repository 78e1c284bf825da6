"""A small modal that changes a working order's quantity, price and/or trigger price."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

FIELDS = (("quantity", "Quantity"), ("price", "Price"), ("trigger_price", "Trigger price"))


class ModifyOrderModal(ModalScreen[dict[str, Any] | None]):
    """Dismiss with a ``modify`` command for `client_order_id` (only changed fields), or None.

    Parameters
    ----------
    client_order_id : str
        The order to modify.
    current : dict
        The order's current ``quantity``, ``price`` and ``trigger_price`` (``None``: none).
    """

    DEFAULT_CSS = """
    ModifyOrderModal { align: center middle; }
    ModifyOrderModal > Vertical { width: 60; max-width: 100%; height: auto; padding: 0 1;
        border: thick $primary; background: $surface; }
    ModifyOrderModal .modify-row { height: auto; }
    ModifyOrderModal .modify-label { width: 16; padding: 1 0 0 0; color: $text-muted; }
    ModifyOrderModal Input { width: 1fr; }
    ModifyOrderModal #modify-error { height: auto; color: $text-error; }
    ModifyOrderModal #modify-help { height: 1; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", tooltip="Close without sending", id="modify.cancel"),
        Binding("ctrl+s", "submit", "Send", tooltip="Send the modification", id="modify.submit"),
    ]

    def __init__(self, client_order_id: str, current: dict[str, str | None]) -> None:
        super().__init__()
        self.client_order_id = client_order_id
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Modify {self.client_order_id}", id="modify-title")
            for name, label in FIELDS:
                value = self.current.get(name)
                with Horizontal(classes="modify-row"):
                    yield Static(label, classes="modify-label")
                    yield Input(
                        value or "",
                        placeholder="none (empty: unchanged)" if value is None else "",
                        id=f"modify-{name}",
                    )
            yield Static("", id="modify-error")
            yield Static("enter: send · escape: cancel", id="modify-help")

    def command(self) -> dict[str, Any]:
        """The modify command for the fields the user changed."""
        out: dict[str, Any] = {"action": "modify", "client_order_id": self.client_order_id}
        for name, _label in FIELDS:
            text = self.query_one(f"#modify-{name}", Input).value.strip()
            if text and text != (self.current.get(name) or ""):
                out[name] = text
        return out

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    def action_submit(self) -> None:
        from engine.orders.commands import load_command
        from engine.orders.issues import OrderValidationError

        command = self.command()
        error = self.query_one("#modify-error", Static)
        if len(command) == 2:
            error.update("✗ change at least one of quantity, price, trigger price")
            return
        try:
            load_command(command)
        except OrderValidationError as exc:
            error.update("✗ " + "; ".join(str(i) for i in exc.issues))
            return
        self.dismiss(command)

    def action_cancel(self) -> None:
        self.dismiss(None)
