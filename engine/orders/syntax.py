"""One-line order syntax, for the command palette and ``gateway order NODE '...'``.

Grammar (words are case-insensitive, separated by spaces)::

    SIDE QTY INSTRUMENT [KIND] [OPTION ...]

    SIDE        buy | sell
    QTY         a decimal number, e.g. 100000 or 0.25
    INSTRUMENT  a Nautilus instrument id, e.g. EUR/USD.SIM, BTCUSDT-PERP.BINANCE
    KIND        market                                  (the default)
                limit PRICE
                stop TRIGGER                            STOP_MARKET
                stop-limit TRIGGER PRICE                STOP_LIMIT
                mtl                                     MARKET_TO_LIMIT
                mit TRIGGER                             MARKET_IF_TOUCHED
                lit TRIGGER PRICE                       LIMIT_IF_TOUCHED
                trailing-stop offset N [UNIT]           TRAILING_STOP_MARKET
                trailing-stop-limit offset N [UNIT] limit-offset M
                                                        TRAILING_STOP_LIMIT
                bracket [entry PRICE|entry market] sl TRIGGER tp PRICE
                                                        entry LIMIT (or MARKET), stop-loss
                                                        STOP_MARKET, take-profit LIMIT
    UNIT        price (default) | ticks | bps
    OPTION      gtc | ioc | fok | day | at-the-open | at-the-close
                gtd DATETIME          ISO 8601, e.g. 2026-12-01T00:00Z (no zone = UTC)
                post-only | reduce-only | quote-qty
                display QTY           display (iceberg) quantity
                trigger PRICE         trigger price of a trailing stop
                activation PRICE      activation price of a trailing stop
                price PRICE           limit price of a trailing-stop-limit
                trigger-type TYPE     default | bid-ask | last-price | double-last |
                                      double-bid-ask | last-or-bid-ask | mid-point |
                                      mark-price | index-price
                emulate TYPE          emulate the order locally, triggered by TYPE
                tag=TEXT              add a tag (repeatable)

Examples::

    buy 100000 EUR/USD.SIM limit 1.0850 gtc
    sell 1 BTCUSDT-PERP.BINANCE stop 42000 ioc reduce-only
    buy 100000 EUR/USD.SIM trailing-stop offset 20 ticks
    buy 1 X.Y bracket entry 1.08 sl 1.07 tp 1.09
    sell 50000 EUR/USD.SIM limit 1.0900 gtd 2026-12-01T00:00Z tag=manual

OCO and OTO lists have no one-line form: send them as JSON tickets.
:func:`format_ticket` writes a ticket in this syntax; ``parse_ticket(format_ticket(t))
== t`` for every ticket it accepts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from engine.orders.issues import OrderIssue, OrderValidationError, shown
from engine.orders.numbers import check_instrument_id, parse_number
from engine.orders.tickets import TIME_IN_FORCE, TRIGGER_TYPES, AnyTicket, load_ticket

_KINDS = {
    "market": "MARKET",
    "limit": "LIMIT",
    "stop": "STOP_MARKET",
    "stop-limit": "STOP_LIMIT",
    "mtl": "MARKET_TO_LIMIT",
    "mit": "MARKET_IF_TOUCHED",
    "lit": "LIMIT_IF_TOUCHED",
    "trailing-stop": "TRAILING_STOP_MARKET",
    "trailing-stop-limit": "TRAILING_STOP_LIMIT",
    "bracket": "BRACKET",
}
_WORD_FOR_KIND = {v: k for k, v in _KINDS.items()}
_TIF_WORDS = {name.lower().replace("_", "-"): name for name in TIME_IN_FORCE if name != "GTD"}
_TRIGGER_WORDS = {name.lower().replace("_", "-"): name for name in TRIGGER_TYPES}
_UNITS = {"price": "PRICE", "ticks": "TICKS", "bps": "BASIS_POINTS"}
_WORD_FOR_UNIT = {v: k for k, v in _UNITS.items()}
_FLAGS = {"post-only": "post_only", "reduce-only": "reduce_only", "quote-qty": "quote_quantity"}
_VALUE_OPTIONS = {
    "display": "display_qty",
    "trigger": "trigger_price",
    "activation": "activation_price",
    "price": "price",
}


@dataclass(frozen=True, slots=True)
class OrderSyntaxError(ValueError):
    """A one-line order that does not follow the grammar.

    Attributes
    ----------
    token : str
        The offending word (``""`` when the line ended too early).
    position : int
        Its 1-based word number.
    expected : str
        What the grammar expected there.
    """

    token: str
    position: int
    expected: str
    field: str = ""

    def __str__(self) -> str:
        got = f"{shown(self.token)!r}" if self.token else "end of line"
        return f"word {self.position}: got {got}, expected {self.expected}"

    @property
    def issue(self) -> OrderIssue:
        """The error as an :class:`OrderIssue`: path the ticket field when the word is one
        (``quantity``, ``price`` …), else ``word N``."""
        if self.field:
            return OrderIssue(
                self.field, self.token or None, f"{self.expected} (word {self.position})"
            )
        return OrderIssue(f"word {self.position}", self.token or None, self.expected)


class _Words:
    def __init__(self, text: str) -> None:
        self.words = text.split()
        self.i = 0

    def peek(self) -> str | None:
        return self.words[self.i].lower() if self.i < len(self.words) else None

    def take(self, expected: str) -> str:
        if self.i >= len(self.words):
            raise OrderSyntaxError("", self.i + 1, expected)
        word = self.words[self.i]
        self.i += 1
        return word

    def fail(self, expected: str, back: int = 1, field: str = "") -> OrderSyntaxError:
        at = self.i - back
        word = self.words[at] if at < len(self.words) else ""
        return OrderSyntaxError(word, at + 1, expected, field)

    def number(self, what: str, field: str) -> Decimal:
        word = self.take(what)
        try:
            return parse_number(word)
        except ValueError as exc:
            raise self.fail(f"{what}: {exc}", field=field) from None

    def keyword(self, word: str) -> None:
        got = self.take(f"'{word}'")
        if got.lower() != word:
            raise self.fail(f"'{word}'")


def parse_ticket(text: str) -> AnyTicket:
    """Parse one line of order syntax into a ticket.

    Raises
    ------
    OrderSyntaxError
        When the line breaks the grammar: names the word, its number and what was
        expected there.
    OrderValidationError
        When the words parse but the ticket they make is structurally invalid.
    """
    w = _Words(text)
    side = w.take("buy or sell").lower()
    if side not in ("buy", "sell"):
        raise w.fail("buy or sell")
    data: dict[str, Any] = {"side": side.upper(), "quantity": w.number("a quantity", "quantity")}
    data["instrument_id"] = _instrument(w)

    kind_word = w.peek()
    kind = "MARKET"
    if kind_word in _KINDS:
        w.take("")
        kind = _KINDS[kind_word]
        _kind_args(w, kind, data)
    data["type"] = kind
    tags: list[str] = []
    while (word := w.peek()) is not None:
        w.take("")
        _option(w, word, kind, data, tags)
    if tags:
        data["entry_tags" if kind == "BRACKET" else "tags"] = tags
    try:
        return load_ticket(data)
    except OrderValidationError as exc:
        raise OrderValidationError(exc.issues) from None


def _instrument(w: _Words) -> str:
    word = w.take("an instrument id such as EUR/USD.SIM")
    try:
        return check_instrument_id(word)
    except ValueError as exc:
        raise w.fail(str(exc), field="instrument_id") from None


def _kind_args(w: _Words, kind: str, data: dict[str, Any]) -> None:
    if kind == "LIMIT":
        data["price"] = w.number("a limit price", "price")
    elif kind in ("STOP_MARKET", "MARKET_IF_TOUCHED"):
        data["trigger_price"] = w.number("a trigger price", "trigger_price")
    elif kind in ("STOP_LIMIT", "LIMIT_IF_TOUCHED"):
        data["trigger_price"] = w.number("a trigger price", "trigger_price")
        data["price"] = w.number("a limit price (after the trigger price)", "price")
    elif kind in ("TRAILING_STOP_MARKET", "TRAILING_STOP_LIMIT"):
        w.keyword("offset")
        data["trailing_offset"] = w.number("a trailing offset", "trailing_offset")
        if w.peek() in _UNITS:
            data["trailing_offset_type"] = _UNITS[w.take("").lower()]
        if kind == "TRAILING_STOP_LIMIT":
            w.keyword("limit-offset")
            data["limit_offset"] = w.number("a limit offset", "limit_offset")
    elif kind == "BRACKET":
        if w.peek() == "entry":
            w.take("")
            if w.peek() == "market":
                w.take("")
            else:
                data["entry_type"] = "LIMIT"
                data["entry_price"] = w.number("an entry price or 'market'", "entry_price")
        w.keyword("sl")
        data["sl_trigger_price"] = w.number("a stop-loss trigger price", "sl_trigger_price")
        w.keyword("tp")
        data["tp_price"] = w.number("a take-profit price", "tp_price")


def _option(w: _Words, word: str, kind: str, data: dict[str, Any], tags: list[str]) -> None:
    if word in _TIF_WORDS:
        data["time_in_force"] = _TIF_WORDS[word]
    elif word == "gtd":
        data["time_in_force"] = "GTD"
        raw = w.take("an expiry time such as 2026-12-01T00:00Z")
        try:
            when = datetime.fromisoformat(raw)
        except ValueError:
            raise w.fail(
                "an ISO 8601 expiry time such as 2026-12-01T00:00Z", field="expire_time"
            ) from None
        data["expire_time"] = when if when.tzinfo else when.replace(tzinfo=UTC)
    elif word in _FLAGS:
        name = _FLAGS[word]
        if kind == "BRACKET" and name == "post_only":
            name = "entry_post_only"
        data[name] = True
    elif word in _VALUE_OPTIONS:
        data[_VALUE_OPTIONS[word]] = w.number(f"a value after '{word}'", _VALUE_OPTIONS[word])
    elif word in ("trigger-type", "emulate"):
        name = w.take("a trigger type").lower()
        if name not in _TRIGGER_WORDS:
            raise w.fail("a trigger type: " + ", ".join(_TRIGGER_WORDS))
        field = "trigger_type" if word == "trigger-type" else "emulation_trigger"
        if kind == "BRACKET" and field == "trigger_type":
            field = "entry_trigger_type"
        data[field] = _TRIGGER_WORDS[name]
    elif word.startswith("tag=") and len(word) > 4:
        tags.append(w.words[w.i - 1][4:])
    else:
        raise w.fail(
            "an option: gtc, ioc, fok, day, at-the-open, at-the-close, gtd TIME, post-only, "
            "reduce-only, quote-qty, display QTY, trigger PRICE, activation PRICE, "
            "price PRICE, trigger-type TYPE, emulate TYPE or tag=TEXT"
        )


def format_ticket(ticket: AnyTicket) -> str:
    """Write `ticket` in the one-line syntax.

    Raises
    ------
    ValueError
        When the ticket uses something the syntax cannot say (OCO/OTO lists, bracket
        legs other than LIMIT/STOP_MARKET/LIMIT, …); send it as JSON instead.
    """
    if ticket.type in ("OCO", "OTO"):
        raise ValueError(f"{ticket.type} lists have no one-line form; send the ticket as JSON")
    t: Any = ticket
    words = [t.side.lower(), _num(t.quantity), t.instrument_id]
    kind = t.type
    if kind != "MARKET":
        words.append(_WORD_FOR_KIND[kind])
    if kind == "LIMIT":
        words.append(_num(t.price))
    elif kind in ("STOP_MARKET", "MARKET_IF_TOUCHED"):
        words.append(_num(t.trigger_price))
    elif kind in ("STOP_LIMIT", "LIMIT_IF_TOUCHED"):
        words += [_num(t.trigger_price), _num(t.price)]
    elif kind in ("TRAILING_STOP_MARKET", "TRAILING_STOP_LIMIT"):
        words += ["offset", _num(t.trailing_offset)]
        if t.trailing_offset_type != "PRICE":
            words.append(_WORD_FOR_UNIT[t.trailing_offset_type])
        if kind == "TRAILING_STOP_LIMIT":
            words += ["limit-offset", _num(t.limit_offset)]
    elif kind == "BRACKET":
        if (t.entry_type, t.sl_type, t.tp_type) not in (
            ("MARKET", "STOP_MARKET", "LIMIT"),
            ("LIMIT", "STOP_MARKET", "LIMIT"),
        ):
            raise ValueError("this bracket's leg types have no one-line form; send it as JSON")
        if t.entry_price is not None:
            words += ["entry", _num(t.entry_price)]
        words += ["sl", _num(t.sl_trigger_price), "tp", _num(t.tp_price)]
    if t.time_in_force != "GTC":
        if t.time_in_force == "GTD":
            words.append("gtd")
        else:
            words.append(t.time_in_force.lower().replace("_", "-"))
    if getattr(t, "expire_time", None) is not None:
        stamp = t.expire_time.astimezone(UTC).isoformat().replace("+00:00", "Z")
        words.append(stamp)
    for field, flag in (
        ("post_only", "post-only"),
        ("entry_post_only", "post-only"),
        ("reduce_only", "reduce-only"),
        ("quote_quantity", "quote-qty"),
    ):
        if getattr(t, field, False):
            words.append(flag)
    for word, field in _VALUE_OPTIONS.items():
        if kind in ("LIMIT", "STOP_LIMIT", "LIMIT_IF_TOUCHED") and field in (
            "price",
            "trigger_price",
        ):
            continue
        if kind in ("STOP_MARKET", "MARKET_IF_TOUCHED") and field == "trigger_price":
            continue
        value = getattr(t, field, None)
        if value is not None:
            words += [word, _num(value)]
    trigger_type = getattr(t, "trigger_type", getattr(t, "entry_trigger_type", "DEFAULT"))
    if trigger_type != "DEFAULT":
        words += ["trigger-type", trigger_type.lower().replace("_", "-")]
    if getattr(t, "emulation_trigger", "NO_TRIGGER") != "NO_TRIGGER":
        words += ["emulate", t.emulation_trigger.lower().replace("_", "-")]
    tags = t.tags if kind != "BRACKET" else () if t.entry_tags == ("ENTRY",) else t.entry_tags
    words += [f"tag={tag}" for tag in tags]
    line = " ".join(words)
    if parse_ticket(line) != ticket:
        raise ValueError(
            "this ticket uses fields the one-line syntax cannot express; send it as JSON"
        )
    return line


def _num(value: Decimal) -> str:
    return format(value, "f")
