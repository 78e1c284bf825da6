"""A small modal that changes a working order's quantity, price and/or trigger price.

Each field is checked as it is typed, with the engine's rules for a modify command
(:func:`engine.orders.commands.load_command` reads the numbers,
:func:`engine.orders.validation.check_modify_values` refuses what is wrong on its face);
a problem shows under its field and nothing is sent until every field is right.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from console.screens.ordered_input import OrderedInput

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
    ModifyOrderModal .modify-field-error { height: auto; color: $text-error; display: none; }
    ModifyOrderModal .modify-field-error.-shown { display: block; }
    ModifyOrderModal #modify-help { height: 1; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", tooltip="Close without sending", id="modify.cancel"),
        Binding("ctrl+s", "submit", "Send", tooltip="Send the modification", id="modify.submit"),
        # Priority: focus moves as the key is read, so keys typed after a tab in one burst
        # land in the next field (see OrderTicketScreen).
        Binding(
            "tab",
            "app.focus_next",
            "Next field",
            show=False,
            priority=True,
            tooltip="Next field",
            id="modify.next",
        ),
        Binding(
            "shift+tab",
            "app.focus_previous",
            "Previous field",
            show=False,
            priority=True,
            tooltip="Previous field",
            id="modify.previous",
        ),
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
                    yield OrderedInput(
                        value or "",
                        placeholder="none (empty: unchanged)" if value is None else "",
                        id=f"modify-{name}",
                    )
                yield Static(
                    "", id=f"modify-error-{name}", classes="modify-field-error", markup=False
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

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self.check()

    def check(self) -> list[Any]:
        """Check the fields; show each problem under its field; return the issues."""
        from engine.orders.commands import ModifyOrder, load_command
        from engine.orders.issues import OrderValidationError
        from engine.orders.validation import check_modify_values

        command = self.command()
        try:
            parsed = load_command(command)
        except OrderValidationError as exc:
            issues = list(exc.issues)
        else:
            assert isinstance(parsed, ModifyOrder)
            issues = [
                i
                for i in check_modify_values(
                    None,
                    quantity=parsed.quantity,
                    price=parsed.price,
                    trigger_price=parsed.trigger_price,
                )
                if i.path  # "change at least one" is said on submit only
            ]
        for name, _label in FIELDS:
            mine = [i for i in issues if i.path == name]
            text = "✗ " + "; ".join(f"{_shown(i.value)}: {i.message}" for i in mine)
            error = self.query_one(f"#modify-error-{name}", Static)
            error.update(text if mine else "")
            error.set_class(bool(mine), "-shown")
        general = [i for i in issues if i.path not in dict(FIELDS)]
        self.query_one("#modify-error", Static).update("\n".join(f"✗ {i}" for i in general))
        return issues

    def field_error(self, name: str) -> str:
        """The message under field `name` ("" when none)."""
        error = self.query_one(f"#modify-error-{name}", Static)
        return str(error.render()) if error.has_class("-shown") else ""

    def action_submit(self) -> None:
        command = self.command()
        if self.check():
            return
        if len(command) == 2:
            self.query_one("#modify-error", Static).update(
                "✗ change at least one of quantity, price, trigger price"
            )
            return
        self.dismiss(command)

    def action_cancel(self) -> None:
        self.dismiss(None)


def _shown(value: Any) -> str:
    from engine.orders.issues import shown

    return "missing" if value is None else repr(str(shown(value)))
