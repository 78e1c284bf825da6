"""The keyboard order ticket: every NautilusTrader order type, checked as you type.

Two ways in, one ticket out: the one-line syntax at the top (``buy 100000 EUR/USD.SIM
limit 1.0850 gtc``) fills the form as soon as it parses, and the form below shows only
the fields the chosen order type takes. Checking is pure and cheap (pydantic models and
:func:`engine.orders.validation.validate_ticket` on plain data), so it runs on the loop;
nothing here imports NautilusTrader. Enter submits, escape cancels; above a notional
threshold a confirmation comes first: the notional and the rule are the core's
(``engine.orders.notional``, ``engine.services.orders``), which checks the submit again
and refuses it unless the screen's ``confirmed`` goes with it. The screen dismisses with
the ticket as JSON-safe data (:func:`engine.orders.tickets.dump_ticket`), or ``None``;
:func:`submit_command` wraps it for ``NodeManager.command(node, "order", command=...)``.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Any, ClassVar, Literal

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Checkbox, Input, Label, Select, Static

from console.screens.confirm import ConfirmModal
from console.screens.ordered_input import OrderedInput
from engine.orders.issues import OrderIssue, OrderValidationError, shown
from engine.orders.notional import notional
from engine.orders.syntax import OrderSyntaxError, parse_ticket
from engine.orders.tickets import (
    _FORM_ORDER,
    TICKET_TYPES,
    AnyTicket,
    dump_ticket,
    fields_for,
    load_ticket,
)
from engine.orders.validation import InstrumentRules, MarketQuote, validate_ticket
from engine.services.notional import assess_notional, money

# OCO and OTO hold a list of legs: no flat form (nor one-line syntax); they go as JSON.
FORM_TYPES: tuple[str, ...] = tuple(t for t in TICKET_TYPES if t not in ("OCO", "OTO"))
DEFAULT_TYPE = "LIMIT"
_LABELS = {
    "instrument_id": "instrument",
    "quantity": "quantity",
    "price": "limit price",
    "trigger_price": "trigger price",
    "limit_offset": "limit offset",
    "trailing_offset": "trailing offset",
    "trailing_offset_type": "offset unit",
    "activation_price": "activation price",
    "time_in_force": "time in force",
    "expire_time": "expires (GTD)",
    "display_qty": "display qty",
    "quote_quantity": "quote quantity",
    "emulation_trigger": "emulate",
    "sl_trigger_price": "stop-loss trigger",
    "tp_price": "take-profit price",
    "tp_trigger_price": "take-profit trigger",
}
_PLACEHOLDERS = {
    "expire_time": "2026-12-01T00:00Z (no zone = UTC)",
    "tags": "comma,separated",
    "entry_tags": "comma,separated",
    "sl_tags": "comma,separated",
    "tp_tags": "comma,separated",
}


def submit_command(ticket: dict[str, Any] | AnyTicket) -> dict[str, Any]:
    """Return the node command that submits `ticket` (what the screen dismissed with).

    Send it with ``NodeManager.command(node_id, "order", command=...)`` or
    ``OrderSession.send(...)``; it is checked by :func:`engine.orders.commands.load_command`
    first, so a malformed ticket raises ``OrderValidationError`` here, not in the node.
    """
    from engine.orders.commands import load_command

    data = ticket if isinstance(ticket, dict) else dump_ticket(ticket)
    command = load_command({"action": "submit", "ticket": data})
    out: dict[str, Any] = command.model_dump(mode="json", exclude_none=True)
    return out


# --- what each field is --------------------------------------------------------------------


FieldKind = Literal["text", "choice", "flag", "tags", "time"]


def _unwrap(annotation: Any) -> Any:
    # Peel PEP 695 aliases, Annotated[...] and `X | None` down to the core type.
    while True:
        if isinstance(annotation, typing.TypeAliasType):
            annotation = annotation.__value__
        elif typing.get_origin(annotation) is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif typing.get_origin(annotation) in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


@cache
def field_spec(name: str) -> tuple[FieldKind, tuple[str, ...], Any]:
    """Return a ticket field's widget kind, its choices and its default (from the models)."""
    for order_type in FORM_TYPES:
        model = TICKET_TYPES[order_type]
        info = model.model_fields.get(name)
        if info is None:
            continue
        core = _unwrap(info.annotation)
        default = None if info.is_required() else info.default
        if typing.get_origin(core) is Literal:
            return "choice", tuple(str(a) for a in typing.get_args(core)), default
        if core is bool:
            return "flag", (), default
        if name.endswith("tags"):
            return "tags", (), default
        if name == "expire_time":
            return "time", (), default
        return "text", (), default
    raise KeyError(name)


@cache
def form_fields() -> tuple[str, ...]:
    """Every field any form type takes, in form order (types share rows by name)."""
    seen: dict[str, None] = {}
    for order_type in FORM_TYPES:
        seen.update(dict.fromkeys(fields_for(order_type)))
    rank = {name: i for i, name in enumerate(_FORM_ORDER)}
    return tuple(sorted(seen, key=lambda n: rank.get(n, len(rank))))


class FlagBox(Checkbox, inherit_bindings=False):
    """A checkbox toggled by space only, so enter submits the ticket from it too."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_button", "Toggle", show=False, tooltip="Toggle", id="ticket.flag")
    ]


class TicketRow(Horizontal):
    """One field: its label, its widget and its error line."""

    def __init__(self, name: str) -> None:
        super().__init__(classes="ticket-row", id=f"row-{name}")
        self.field_name = name

    def compose(self) -> ComposeResult:
        name = self.field_name
        kind, choices, default = field_spec(name)
        yield Label(_LABELS.get(name, name.replace("_", " ")), classes="ticket-label")
        with Vertical(classes="ticket-cell"):
            wid = f"f-{name}"
            if kind == "choice":
                yield Select(
                    [(c, c) for c in choices],
                    value=default if default in choices else choices[0],
                    allow_blank=False,
                    compact=True,
                    id=wid,
                    classes="ticket-input",
                )
            elif kind == "flag":
                yield FlagBox("", bool(default), compact=True, id=wid, classes="ticket-input")
            else:
                yield OrderedInput(
                    _text_of(default),
                    placeholder=_PLACEHOLDERS.get(name, ""),
                    compact=True,
                    id=wid,
                    classes="ticket-input",
                    select_on_focus=False,
                )
            yield Static("", classes="ticket-error", id=f"err-{name}", markup=False)


def _text_of(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


class OrderTicketScreen(ModalScreen[dict[str, Any] | None]):
    """A buy or sell ticket for one node and instrument; dismisses with the ticket or None.

    Parameters
    ----------
    side : str
        ``BUY`` or ``SELL`` (any case): preset, changeable in the form.
    node_id : str
        The node the ticket goes to (shown; the caller sends it).
    instrument_id : str
        The preset instrument.
    order_type : str
        The preset order type.
    rules : InstrumentRules, optional
        Increments and limits to check against (plain data, no Nautilus).
    quote : MarketQuote, optional
        The current bid/ask: trigger sides, post-only prices, market notional.
    confirm_above : Decimal, optional
        Ask before submitting a ticket whose notional exceeds this (or cannot be valued):
        the workspace's ``orders.confirm_notional_above``. Once asked, ``confirmed`` holds
        what was confirmed (``True``, or the notional shown) for the core's check.
    clock : callable, optional
        Returns "now" (UTC) for GTD expiry checks.
    """

    DEFAULT_CSS = """
    OrderTicketScreen .ticket-dialog { width: 84; max-width: 100%; height: 100%; max-height: 46;
        padding: 0 1; border: thick $primary; background: $surface; }
    OrderTicketScreen .ticket-dialog.-buy { border: thick $success; }
    OrderTicketScreen .ticket-dialog.-sell { border: thick $error; }
    OrderTicketScreen #ticket-title { height: 1; text-style: bold; }
    OrderTicketScreen #ticket-syntax { margin: 0; }
    OrderTicketScreen #ticket-syntax-error { display: none; height: auto; color: $text-error; }
    OrderTicketScreen #ticket-syntax-error.-shown { display: block; }
    OrderTicketScreen #ticket-type-row { height: 1; }
    OrderTicketScreen #ticket-fields { height: 1fr; }
    OrderTicketScreen .ticket-row { height: auto; }
    OrderTicketScreen .ticket-label { width: 20; color: $text-muted; }
    OrderTicketScreen .ticket-row:focus-within .ticket-label { color: $text; text-style: bold; }
    OrderTicketScreen .ticket-row.-error .ticket-label { color: $text-error; text-style: bold; }
    OrderTicketScreen .ticket-cell { width: 1fr; height: auto; }
    /* Auto width measures the bare button (3 cells) but it renders 5: fixed, no ellipsis. */
    OrderTicketScreen FlagBox { width: 5; }
    OrderTicketScreen .ticket-error { display: none; height: auto; color: $text-error; }
    OrderTicketScreen .ticket-row.-error .ticket-error { display: block; }
    OrderTicketScreen #ticket-issues { height: auto; max-height: 4; color: $text-error; }
    OrderTicketScreen #ticket-status { height: 1; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "enter", "submit", "Submit", tooltip="Check and submit the ticket", id="ticket.submit"
        ),
        Binding(
            "ctrl+s",
            "submit",
            "Submit",
            show=False,
            tooltip="Submit from any field (enter opens a dropdown)",
            id="ticket.submit-anywhere",
        ),
        Binding("escape", "cancel", "Cancel", tooltip="Close without sending", id="ticket.cancel"),
        # Priority: focus moves as the key is read, so the keys typed after a tab in one
        # burst (a paste, a fast typist over SSH) land in the next field, not this one.
        Binding(
            "tab",
            "app.focus_next",
            "Next field",
            show=False,
            priority=True,
            tooltip="Next field",
            id="ticket.next",
        ),
        Binding(
            "shift+tab",
            "app.focus_previous",
            "Previous field",
            show=False,
            priority=True,
            tooltip="Previous field",
            id="ticket.previous",
        ),
        Binding(
            "ctrl+l",
            "focus_syntax",
            "Order line",
            tooltip="Type the order as one line (fills the form)",
            id="ticket.syntax",
        ),
    ]

    DEBOUNCE_S = 0.05

    def __init__(
        self,
        side: str,
        *,
        node_id: str,
        instrument_id: str,
        order_type: str = DEFAULT_TYPE,
        rules: InstrumentRules | None = None,
        quote: MarketQuote | None = None,
        confirm_above: Decimal | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__()
        self.side = side.upper()
        self.node_id = node_id
        self.instrument_id = instrument_id
        self.order_type = order_type.upper()
        self.rules = rules
        self.quote = quote
        self.confirm_above = confirm_above
        self.confirmed: bool | Decimal | None = None
        self.clock = clock or (lambda: datetime.now(UTC))
        self.issues: list[OrderIssue] = []
        self.ticket: AnyTicket | None = None
        self.show_all = False  # after a submit attempt every issue shows, touched or not
        self.touched: set[str] = set()
        self._filling = False
        self._errors_shown: dict[str, str] = {}
        self._debounce: Timer | None = None

    # -- layout -------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Vertical(classes="ticket-dialog"):
            yield Static("", id="ticket-title", markup=False)
            yield OrderedInput(
                placeholder="order line, e.g. buy 100000 EUR/USD.SIM limit 1.0850 gtc",
                compact=True,
                id="ticket-syntax",
                select_on_focus=False,
            )
            yield Static("", id="ticket-syntax-error", markup=False)
            with Horizontal(id="ticket-type-row"):
                yield Label("order type", classes="ticket-label")
                yield Select(
                    [(t, t) for t in FORM_TYPES],
                    value=self.order_type,
                    allow_blank=False,
                    compact=True,
                    id="ticket-type",
                )
            with VerticalScroll(id="ticket-fields"):
                for name in form_fields():
                    yield TicketRow(name)
            yield Static("", id="ticket-issues", markup=False)
            yield Static("", id="ticket-status", markup=False)

    def on_mount(self) -> None:
        self._widget("instrument_id").value = self.instrument_id
        self._widget("side").value = self.side
        self._apply_type(self.order_type)
        self._show_title()
        self.query_one("#f-quantity", Input).focus()

    def _show_title(self) -> None:
        side = str(self._widget("side").value)
        dialog = self.query_one(".ticket-dialog")
        dialog.set_class(side == "BUY", "-buy")
        dialog.set_class(side == "SELL", "-sell")
        title = f"{side} {self.order_type} · {self.node_id}"
        if self.quote is not None:  # as the node had it when the ticket opened
            title += f" · bid {self.quote.bid} / ask {self.quote.ask}"
        if self.rules is None:  # say so: the increments and limits are checked only there
            title += " · no rules from the node: it checks them on submit"
        self.query_one("#ticket-title", Static).update(title)

    def _widget(self, name: str) -> Input | Select[str] | Checkbox:
        return self.query_one(f"#f-{name}")  # type: ignore[return-value]

    def _apply_type(self, order_type: str) -> None:
        self.order_type = order_type
        shown = set(fields_for(order_type))
        for row in self.query(TicketRow):
            row.display = row.field_name in shown
        self._show_title()
        self._check()

    # -- reading and filling ------------------------------------------------------
    def visible_fields(self) -> tuple[str, ...]:
        """The fields the chosen order type shows, in form order."""
        return tuple(r.field_name for r in self.query(TicketRow) if r.display)

    def form_data(self) -> dict[str, Any]:
        """The ticket data the form holds now (empty fields left out)."""
        data: dict[str, Any] = {"type": self.order_type}
        for name in self.visible_fields():
            kind, _, _ = field_spec(name)
            widget = self._widget(name)
            if isinstance(widget, Checkbox):
                data[name] = widget.value
                continue
            if isinstance(widget, Select):
                data[name] = widget.value
                continue
            text = widget.value.strip()
            if not text:
                continue
            if kind == "tags":
                data[name] = [t.strip() for t in text.split(",") if t.strip()]
            elif kind == "time":
                data[name] = _parse_time(text)
            else:
                data[name] = text
        return data

    def set_field(self, name: str, value: Any) -> None:
        """Set one field (by ticket field name) from a value or text."""
        widget = self._widget(name)
        if isinstance(widget, Checkbox):
            widget.value = bool(value)
        elif isinstance(widget, Select):
            widget.value = str(value)
        else:
            widget.value = _text_of(value)

    def field_error(self, name: str) -> str:
        """The error shown under a field ("" when none)."""
        row = self.query_one(f"#row-{name}", TicketRow)
        if not row.has_class("-error"):
            return ""
        return str(self.query_one(f"#err-{name}", Static).render())

    def fill(self, ticket: AnyTicket) -> None:
        """Show `ticket` in the form: its type, its values, every other field at default."""
        self._filling = True
        try:
            data = dump_ticket(ticket)
            self.query_one("#ticket-type", Select).value = ticket.type
            for name in form_fields():
                _, _, default = field_spec(name)
                self.set_field(name, data.get(name, default))
            self._apply_type(ticket.type)
        finally:
            self._filling = False
        self.touched.update(self.visible_fields())
        self._check()

    # -- events -------------------------------------------------------------------
    @on(Select.Changed, "#ticket-type")
    def _type_changed(self, event: Select.Changed) -> None:
        if not self._filling and event.value != self.order_type:
            self._apply_type(str(event.value))

    @on(Input.Changed, ".ticket-input")
    @on(Select.Changed, ".ticket-input")
    @on(Checkbox.Changed, ".ticket-input")
    def _field_changed(self, event: Input.Changed | Select.Changed | Checkbox.Changed) -> None:
        if self._filling:
            return
        widget_id = event.control.id or ""
        self.touched.add(widget_id.removeprefix("f-"))
        if widget_id == "f-side":
            self._show_title()
        self._check_soon()

    @on(Input.Changed, "#ticket-syntax")
    def _syntax_changed(self, event: Input.Changed) -> None:
        self._parse_line(event.value, quiet_when_short=True)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "ticket-syntax" and not self._parse_line(event.value):
            return
        self.action_submit()

    def _parse_line(self, text: str, *, quiet_when_short: bool = False) -> bool:
        error = self.query_one("#ticket-syntax-error", Static)
        error.set_class(bool(text.strip()), "-shown")
        if not text.strip():
            error.update("")
            return False
        try:
            ticket = parse_ticket(text)
        except OrderSyntaxError as exc:
            # While typing, the line is usually just not finished: say so only at its end.
            ended = exc.token == ""
            error.update("" if ended and quiet_when_short else f"✗ {exc}")
            return False
        except OrderValidationError as exc:
            error.update("✗ " + "; ".join(str(i) for i in exc.issues))
            return False
        error.update("")
        self.fill(ticket)
        return True

    # -- checking -----------------------------------------------------------------
    def _check_soon(self) -> None:
        # One check per burst: filling the form from a line changes every field at once.
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(self.DEBOUNCE_S, self._check)

    def _check(self) -> None:
        """Build and validate the ticket (pure, no I/O) and place the issues."""
        self.ticket = None
        try:
            ticket = load_ticket(self.form_data())
        except OrderValidationError as exc:
            issues = list(exc.issues)
        else:
            issues = validate_ticket(
                ticket, instrument=self.rules, quote=self.quote, now=self.clock()
            )
            if not issues:
                self.ticket = ticket
        self.place_issues(issues)

    def place_issues(self, issues: list[OrderIssue]) -> None:
        """Show each issue under its field (touched ones until a submit); the rest on top."""
        self.issues = issues
        by_field: dict[str, list[OrderIssue]] = {}
        general: list[OrderIssue] = []
        visible = set(self.visible_fields())
        for issue in issues:
            name = issue.path.split(".")[0].split("[")[0]
            if name in visible:
                by_field.setdefault(name, []).append(issue)
            elif self.show_all:
                general.append(issue)
        for row in self.query(TicketRow):
            name = row.field_name
            shown = by_field.get(name, []) if (self.show_all or name in self.touched) else []
            text = "✗ " + "; ".join(f"{_shown(i.value)}: {i.message}" for i in shown)
            text = text if shown else ""
            if self._errors_shown.get(name, "") != text:  # touch only rows that changed
                self._errors_shown[name] = text
                row.set_class(bool(shown), "-error")
                self.query_one(f"#err-{name}", Static).update(text)
        self.query_one("#ticket-issues", Static).update("\n".join(f"✗ {i}" for i in general))
        self._show_status()

    def _show_status(self) -> None:
        if self.ticket is not None:
            value = notional(self.ticket, self.rules, self.quote)
            state = "ready" + (f" · notional {money(value)}" if value is not None else "")
        else:
            state = f"{len(self.issues)} problem(s)"
        hint = "enter submit · esc cancel · tab next · ctrl+l order line"
        self.query_one("#ticket-status", Static).update(f"{state} · {hint}")

    # -- actions ------------------------------------------------------------------
    def action_focus_syntax(self) -> None:
        self.query_one("#ticket-syntax", Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_submit(self) -> None:
        self.show_all = True
        self._check()
        ticket = self.ticket
        if ticket is None:
            first = next((r for r in self.query(TicketRow) if r.has_class("-error")), None)
            if first is not None:
                self.query_one("#ticket-fields", VerticalScroll).scroll_to_widget(
                    first, animate=False
                )
            return
        check = assess_notional(ticket, self.rules, self.quote, self.confirm_above)
        if check.needs_confirmation:
            order = (
                f"{ticket.type} {getattr(ticket, 'side', '')} {ticket_quantity(ticket)} "
                f"{getattr(ticket, 'instrument_id', '')} on {self.node_id}"
            )
            if check.notional is None:
                question = (
                    f"{order}: its notional is unknown ({check.why_unknown}), so "
                    f"it may be above {self.confirm_above:,}. Send it?"
                )
            else:
                question = (
                    f"{order} has a notional of {check.shown}, above {self.confirm_above:,}. "
                    "Send it?"
                )

            def answered(yes: bool | None) -> None:
                if yes:
                    self.confirmed = True if check.notional is None else check.notional
                    self.dismiss(dump_ticket(ticket))

            self.app.push_screen(ConfirmModal(question, "Send", "Back"), answered)
            return
        self.dismiss(dump_ticket(ticket))


def ticket_quantity(ticket: AnyTicket) -> str:
    """Return the ticket's quantity as text ("" for lists)."""
    return str(getattr(ticket, "quantity", ""))


def _parse_time(text: str) -> Any:
    # The syntax's rule: ISO 8601, no zone means UTC; anything else goes to pydantic as is.
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return text
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _shown(value: Any) -> str:
    return "missing" if value is None else repr(str(shown(value)))
