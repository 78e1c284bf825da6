"""Pick a template to create a node from."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from console.services import Template


class TemplatePicker(ModalScreen[Template | None]):
    """A list of templates; Enter picks one."""

    BINDINGS = [
        Binding(
            "escape",
            "cancel",
            "Cancel",
            tooltip="Close without creating a node",
            id="templates.cancel",
        ),
    ]

    def __init__(self, templates: list[Template]) -> None:
        super().__init__()
        self.templates = templates

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("New node from a template", classes="dialog-title")
            yield OptionList(
                *[
                    Option(f"{t.name}\n  {t.description}", id=str(i))
                    for i, t in enumerate(self.templates)
                ],
                id="template-list",
            )
            yield Static("Enter: edit a copy · Esc: cancel", classes="dialog-hint")

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.templates[int(event.option.id or 0)])

    def action_cancel(self) -> None:
        self.dismiss(None)
