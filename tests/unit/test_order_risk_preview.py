"""A dry run says when the node's risk guard would deny a valid order, with its reason."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from engine.orders.risk_preview import RISK_CHECKS, preview
from engine.orders.tickets import load_ticket
from engine.orders.validation import InstrumentRules, MarketQuote

IID = "EUR/USD.SIM"
RULES = InstrumentRules(IID, Decimal("0.00001"), Decimal(1), notional_currency="USD")
QUOTE = MarketQuote(Decimal("1.09998"), Decimal("1.10002"))


def ticket(**kw: Any) -> Any:
    return load_ticket(
        {"type": "MARKET", "instrument_id": IID, "side": "BUY", "quantity": "100000", **kw}
    )


def risk(state: str = "ACTIVE", net: str = "0", **limits: Any) -> dict[str, Any]:
    return {
        "ok": True,
        "risk": {"trading_state": state, "limits": limits},
        "usage": {"positions": {IID: net} if net != "0" else {}, "open_orders": 0},
    }


def test_halted_reducing_and_limits_deny_as_the_node_would() -> None:
    halted = preview(ticket(), "n", risk("HALTED"), RULES, QUOTE)
    assert halted.denial == "RISK trading_state: HALTED, no new orders"
    # A reduce-only order passes the state check (the node lets it through to close).
    closing = preview(
        ticket(side="SELL", reduce_only=True), "n", risk("HALTED", "200000"), RULES, QUOTE
    )
    assert closing.denial is None
    reducing = preview(ticket(), "n", risk("REDUCING", "-50000"), RULES, QUOTE)
    assert reducing.denial is not None and "REDUCING" in reducing.denial
    notional = preview(ticket(), "n", risk(max_notional_per_order="100000"), RULES, QUOTE)
    assert notional.denial is not None
    assert "max_notional_per_order: notional 110002 USD" in notional.denial
    inside = preview(
        ticket(quantity="90000"), "n", risk(max_notional_per_order="100000"), RULES, QUOTE
    )
    assert inside.denial is None
    net = preview(ticket(), "n", risk(net="950000", max_position_net="1000000"), RULES, QUOTE)
    assert net.denial is not None and "1050000" in net.denial


def test_what_a_dry_run_cannot_judge_is_named() -> None:
    gone = preview(ticket(), "n", None, RULES, QUOTE, unreachable="not running")
    assert gone.denial is None and gone.not_checked[0].startswith(RISK_CHECKS)
    assert "not running" in gone.not_checked[0]
    rate = preview(ticket(), "n", risk(max_order_rate_per_instrument="1/00:00:01"), RULES, QUOTE)
    assert rate.denial is None and "max_order_rate_per_instrument" in rate.not_checked[0]
    oco = load_ticket(
        {
            "type": "OCO",
            "orders": [
                {"type": "LIMIT", "instrument_id": IID, "side": "SELL", "quantity": "1000",
                 "price": "1.2"},
                {"type": "STOP_MARKET", "instrument_id": IID, "side": "SELL", "quantity": "1000",
                 "trigger_price": "1.0"},
            ],
        }
    )  # fmt: skip
    assert preview(oco, "n", risk("HALTED"), RULES, QUOTE).denial is not None
    listed = preview(oco, "n", risk(), RULES, QUOTE)
    assert listed.denial is None and "each order of a list" in listed.not_checked[0]


@given(
    st.dictionaries(
        st.sampled_from(["ok", "risk", "usage", "message", "x"]),
        st.one_of(
            st.booleans(),
            st.none(),
            st.text(max_size=8),
            st.dictionaries(
                st.sampled_from(["trading_state", "limits", "positions", "open_orders", "gross"]),
                st.one_of(
                    st.text(max_size=8),
                    st.integers(),
                    st.none(),
                    st.dictionaries(
                        st.text(max_size=12),
                        st.one_of(st.text(max_size=8), st.integers()),
                        max_size=3,
                    ),
                ),
                max_size=4,
            ),
        ),
        max_size=4,
    )
)
def test_any_answer_from_the_node_gives_a_verdict_or_a_named_gap(reply: dict[str, Any]) -> None:
    seen = preview(ticket(), "n", reply, RULES, QUOTE)
    assert seen.denial is None or seen.denial.startswith("RISK ")
    assert all(isinstance(s, str) for s in seen.not_checked)
