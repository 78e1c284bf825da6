"""Order events from a node's stream fold into the status the orders pane and CLI show."""

from __future__ import annotations

from typing import Any

from engine.events.envelope import Envelope
from engine.orders.status import OrderStatusTable, apply_event, fold_orders

_seq = iter(range(1, 1_000_000))


def ev(kind: str, coid: str = "O-1", **payload: Any) -> Envelope:
    return Envelope(
        seq=next(_seq),
        ts_ns=0,
        node_id="n",
        run_id="r",
        kind="order",
        type=kind,
        payload={"client_order_id": coid, "instrument_id": "EUR/USD.SIM", **payload},
    )


def init(coid: str = "O-1", qty: str = "100000", **options: Any) -> Envelope:
    return ev(
        "OrderInitialized",
        coid,
        order_side="BUY",
        order_type="LIMIT" if "price" in options else "MARKET",
        quantity=qty,
        time_in_force="GTC",
        strategy_id="GatewayStrategy-000",
        options=options,
        tags=["manual"],
    )


def test_limit_order_lifecycle_to_canceled() -> None:
    rows = fold_orders(
        [
            init(price="1.0850"),
            ev("OrderSubmitted"),
            ev("OrderAccepted", venue_order_id="V-1"),
            ev("OrderCanceled"),
        ]
    )
    (row,) = rows
    assert (row.status, row.last_event, row.venue_order_id) == ("CANCELED", "OrderCanceled", "V-1")
    assert (row.side, row.order_type, row.quantity, row.price) == (
        "BUY",
        "LIMIT",
        "100000",
        "1.0850",
    )
    assert row.tags == ("manual",) and not row.is_open


def test_partial_then_full_fill_with_average_price() -> None:
    table = OrderStatusTable()
    table.apply([init(qty="300"), ev("OrderSubmitted"), ev("OrderAccepted")])
    table.apply([ev("OrderFilled", last_qty="100", last_px="1.0")])
    row = table.get("O-1")
    assert row is not None and (row.status, row.filled_qty) == ("PARTIALLY_FILLED", "100")
    assert row.is_open
    changed = table.apply([ev("OrderFilled", last_qty="200", last_px="1.3")])
    row = table.get("O-1")
    assert changed == {"O-1"}
    assert row is not None and (row.status, row.filled_qty, row.avg_px) == ("FILLED", "300", "1.2")


def test_rejected_modify_restores_the_previous_status_and_update_changes_price() -> None:
    events = [init(price="1.0"), ev("OrderAccepted"), ev("OrderPendingUpdate")]
    assert fold_orders(events)[0].status == "PENDING_UPDATE"
    rejected = fold_orders([*events, ev("OrderModifyRejected", reason="too late")])[0]
    assert (rejected.status, rejected.reason) == ("ACCEPTED", "too late")
    updated = fold_orders([*events, ev("OrderUpdated", price="1.1", quantity="5")])[0]
    assert (updated.status, updated.price, updated.quantity) == ("ACCEPTED", "1.1", "5")


def test_triggered_and_emulated_orders_stay_open() -> None:
    rows = fold_orders(
        [
            init("A", trigger_price="1.2"),
            ev("OrderAccepted", "A"),
            ev("OrderTriggered", "A"),
            init("B", trigger_price="1.3"),
            ev("OrderEmulated", "B"),
        ]
    )
    assert [(r.client_order_id, r.status, r.is_open) for r in rows] == [
        ("A", "TRIGGERED", True),
        ("B", "EMULATED", True),
    ]
    assert rows[0].trigger_price == "1.2"


def test_denied_order_keeps_its_reason_and_open_filter_drops_it() -> None:
    events = [init("A"), ev("OrderDenied", "A", reason="max notional"), init("B")]
    rows = fold_orders(events)
    assert (rows[0].status, rows[0].reason) == ("DENIED", "max notional")
    assert [r.client_order_id for r in fold_orders(events, open_only=True)] == ["B"]


def test_other_kinds_are_ignored_and_closed_rows_are_bounded() -> None:
    other = Envelope(1, 0, "n", "r", "position", "PositionOpened", {"client_order_id": "X"})
    assert apply_event(None, other) is None
    table = OrderStatusTable(max_closed=2)
    for i in range(5):
        table.apply([init(f"C{i}"), ev("OrderCanceled", f"C{i}")])
    table.apply([init("W")])
    assert [r.client_order_id for r in table.rows()] == ["C3", "C4", "W"]
    assert table.apply([other]) == set()


def test_row_to_dict_is_json_safe() -> None:
    import json

    data = fold_orders([init(price="1.0"), ev("OrderAccepted")])[0].to_dict()
    assert json.loads(json.dumps(data))["status"] == "ACCEPTED"
    assert data["is_open"] is True and "previous_status" not in data


def test_an_order_restored_after_a_restart_is_a_whole_row_and_folds_on() -> None:
    """A restarted host journals the orders its cache restored: every front end lists them."""
    from nautilus_trader.test_kit.stubs.execution import TestExecStubs

    from engine.orders.status import ORDER_RESTORED, restored_order_payload

    order = TestExecStubs.limit_order()
    restored = restored_order_payload(order)
    restored.update(status="ACCEPTED", venue_order_id="SIM-7")
    coid = restored["client_order_id"]
    fill = {"client_order_id": coid, "last_qty": "40", "last_px": "55.00000"}
    rows = fold_orders(
        [
            Envelope(1, 1, "n", "r2", "order", ORDER_RESTORED, restored),
            Envelope(2, 2, "n", "r2", "order", "OrderFilled", fill),
        ]
    )
    (row,) = rows
    assert (row.client_order_id, row.order_type, row.side, row.price) == (
        coid,
        "LIMIT",
        "BUY",
        "55.00000",
    )
    assert (row.status, row.filled_qty, row.quantity, row.venue_order_id) == (
        "PARTIALLY_FILLED",
        "40",
        "100",
        "SIM-7",
    )
    assert row.is_open
