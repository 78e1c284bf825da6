"""How a modify/cancel answer is decided and how an outcome is told (engine.orders.outcome).

The waiting itself runs against real node hosts in tests/integration/test_orders_flatten.py
and test_orders_sandbox.py; here the pure parts: which event answers which command, that
an outcome is JSON-safe and printable whatever the node sent, and the CLI's --timeout.
"""

from __future__ import annotations

import json
from typing import Any

import click
import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.cli.orders import _Seconds
from engine.events.envelope import Envelope
from engine.orders.outcome import Outcome, _decide, _in_scope, _net_text
from engine.orders.session import Answer
from engine.orders.status import OrderStatusTable


class _Seen:
    """What an OrderSession has seen of one order: its folded row and its answers."""

    def __init__(self) -> None:
        self.table = OrderStatusTable()
        self.answers: dict[str, list[Answer]] = {}
        self.seq = 0

    def event(self, kind: str, coid: str = "O-1", **payload: Any) -> None:
        self.seq += 1
        self.table.apply(
            [
                Envelope(
                    seq=self.seq,
                    ts_ns=0,
                    node_id="n",
                    run_id="r",
                    kind="order",
                    type=kind,
                    payload={"client_order_id": coid, **payload},
                )
            ]
        )
        reason = payload.get("reason")
        self.answers.setdefault(coid, []).append(Answer(self.seq, kind, reason))

    def answers_after(self, coid: str, seq: int) -> list[Answer]:
        return [a for a in self.answers.get(coid, ()) if a.seq > seq]


def decide(seen: _Seen, action: str, base: int = 0) -> dict[str, Any] | None:
    return _decide(seen, action, "O-1", base)  # type: ignore[arg-type]


def test_a_modify_is_done_on_updated_and_failed_on_a_reject_with_its_reason() -> None:
    seen = _Seen()
    seen.event("OrderInitialized", order_side="BUY", order_type="LIMIT", quantity="10")
    seen.event("OrderAccepted")
    base = seen.seq
    assert decide(seen, "modify", base) is None
    seen.event("OrderPendingUpdate")
    assert decide(seen, "modify", base) is None
    seen.event("OrderModifyRejected", reason="price -1.00000 invalid (not positive)")
    got = decide(seen, "modify", base)
    assert got is not None and got["result"] == "rejected"
    assert got["reason"] == "price -1.00000 invalid (not positive)"
    # An answer to an earlier command does not answer a later one.
    assert decide(seen, "modify", seen.seq) is None
    base = seen.seq
    seen.event("OrderUpdated", price="1.05")
    assert decide(seen, "modify", base) == {
        "client_order_id": "O-1",
        "result": "done",
        "event": "OrderUpdated",
        "reason": None,
    }


def test_a_cancel_that_loses_the_race_to_a_fill_is_not_done() -> None:
    seen = _Seen()
    seen.event("OrderInitialized", order_side="BUY", order_type="LIMIT", quantity="10")
    seen.event("OrderAccepted")
    seen.event("OrderFilled", last_qty="4", last_px="1")
    assert decide(seen, "cancel") is None  # a partial fill: still working
    seen.event("OrderFilled", last_qty="6", last_px="1")
    got = decide(seen, "cancel")
    assert got is not None and got["result"] == "filled"


def test_a_cancel_is_done_on_canceled_and_failed_on_cancel_rejected() -> None:
    seen = _Seen()
    seen.event("OrderCancelRejected", reason="ClientOrderId('O-1') not found")
    assert decide(seen, "cancel")["result"] == "rejected"  # type: ignore[index]
    seen2 = _Seen()
    seen2.event("OrderCanceled")
    assert decide(seen2, "cancel")["result"] == "done"  # type: ignore[index]


def test_scope_of_one_position_keeps_its_strategys_orders_in_its_instrument() -> None:
    exposure = {
        "positions": [
            {"position_id": "A", "strategy_id": "S1", "instrument_id": "X.V"},
            {"position_id": "B", "strategy_id": "S2", "instrument_id": "X.V"},
        ],
        "open_orders": [
            {"client_order_id": "1", "strategy_id": "S1", "instrument_id": "X.V"},
            {"client_order_id": "2", "strategy_id": "S2", "instrument_id": "X.V"},
            {"client_order_id": "3", "strategy_id": "S1", "instrument_id": "Y.V"},
        ],
    }
    positions, orders = _in_scope(exposure, "A")
    assert [p["position_id"] for p in positions] == ["A"]
    assert [o["client_order_id"] for o in orders] == ["1"]
    positions, orders = _in_scope(exposure, None)
    assert len(positions) == 2 and len(orders) == 3


_hostile = st.one_of(
    st.text(max_size=200),
    st.sampled_from(["NaN", "inf", "-inf", "1e400", "-0", "١٢٣", "9" * 400, "0." + "1" * 39]),
)
_json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | _hostile,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_hostile, inner, max_size=3),
    max_leaves=10,
)


@given(
    summary=_hostile,
    reply=st.dictionaries(_hostile, _json_value, max_size=5),
    left=st.lists(st.dictionaries(_hostile, _json_value, max_size=5), max_size=3),
    net=st.dictionaries(_hostile, _hostile, max_size=3),
)
def test_an_outcome_is_json_safe_and_printable_whatever_the_node_sent(
    summary: str,
    reply: dict[str, Any],
    left: list[dict[str, Any]],
    net: dict[str, str],
) -> None:
    outcome = Outcome(
        "n1",
        "flatten_all",
        False,
        summary,
        code="not_flat",
        reply=reply,
        positions_left=tuple(left),
        orders_left=tuple(left),
        stale_orders=tuple(left),
        answers=tuple(left) * 2,
        net=net,
    )
    data = json.loads(json.dumps(outcome.to_dict()))
    assert data["ok"] is False and data["summary"] == summary and outcome.exit_code == 1
    lines = outcome.lines()
    assert lines[0] == f"n1: {summary}"
    assert len(lines) >= 1 + 3 * len(left)


@given(st.one_of(_hostile, st.decimals(allow_nan=True).map(str)))
def test_net_text_never_raises(value: str) -> None:
    text = _net_text(value)
    assert isinstance(text, str)


@given(_hostile)
def test_timeout_is_finite_plain_seconds_or_an_error_naming_the_value(text: str) -> None:
    seconds = _Seconds(0.1, 3600)
    try:
        got = seconds.convert(text, None, None)
    except click.BadParameter as exc:
        assert "expected seconds from 0.1 to 3600" in str(exc)
        return
    assert 0.1 <= got <= 3600 and text.strip().isascii()


@pytest.mark.parametrize("text", ["nan", "inf", "1e400", "-0", "0", "١٢٣", "", "3600.5"])
def test_hostile_timeouts_are_refused(text: str) -> None:
    with pytest.raises(click.BadParameter):
        _Seconds(0.1, 3600).convert(text, None, None)


@given(st.one_of(_hostile, st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=300)))
def test_ids_reaching_the_node_are_printable_ascii_or_refused_naming_the_field(text: str) -> None:
    from engine.orders.commands import load_command
    from engine.orders.issues import OrderValidationError

    for action, key in (("cancel", "client_order_id"), ("close_position", "position_id")):
        try:
            command = load_command({"action": action, key: text})
        except OrderValidationError as exc:
            assert [i.path for i in exc.issues] == [key]
            continue
        value = getattr(command, key)
        assert value.isascii() and value.isprintable() and " " not in value
        assert 0 < len(value) <= 200
