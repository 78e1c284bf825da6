"""Tickets executed by the gateway strategy in a real BacktestEngine (one per process).

The test runs this file as a script in a subprocess: it builds a BacktestEngine with four
FX instruments and a fixed quote path (up 50 pips, down 100, back up 50), adds two
gateway strategies (native and managed brackets) and a driver actor that submits
tickets at set ticks, as a node host would, then prints order states as JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TICKS = 400
# A SELL trailing-stop-limit 10 pips behind the peak with its limit 1 pip below the
# trigger: the market falls through in 0.5-pip steps, so whether it fills on the trigger
# tick depends on the matching engine; it must at least trigger.
TRAILING_STOP_LIMIT_STATES = ("TRIGGERED", "FILLED")


def _mid(i: int) -> float:
    # 1.10000 -> 1.10500 (tick 100) -> 1.09500 (tick 300) -> 1.10000 (tick 400)
    if i <= 100:
        return 1.10000 + 0.00005 * i
    if i <= 300:
        return 1.10500 - 0.00005 * (i - 100)
    return 1.09500 + 0.00005 * (i - 300)


def _child() -> None:
    from datetime import timedelta

    from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
    from nautilus_trader.common.actor import Actor
    from nautilus_trader.config import LoggingConfig
    from nautilus_trader.core.datetime import unix_nanos_to_dt
    from nautilus_trader.model.currencies import USD
    from nautilus_trader.model.data import QuoteTick
    from nautilus_trader.model.enums import AccountType, OmsType
    from nautilus_trader.model.identifiers import ClientOrderId, Venue
    from nautilus_trader.model.objects import Money, Price, Quantity
    from nautilus_trader.test_kit.providers import TestInstrumentProvider

    from engine.orders.commands import CancelOrder, FlattenAll, ModifyOrder
    from engine.orders.strategy import (
        GatewayStrategy,
        GatewayStrategyConfig,
        OrderCommandError,
    )
    from engine.orders.syntax import parse_ticket
    from engine.orders.tickets import load_ticket

    engine = BacktestEngine(
        BacktestEngineConfig(
            logging=LoggingConfig(log_level="ERROR", bypass_logging=True), run_analysis=False
        )
    )
    engine.add_venue(
        Venue("SIM"),
        oms_type=OmsType.NETTING,
        account_type=AccountType.MARGIN,
        base_currency=USD,
        starting_balances=[Money(10_000_000, USD)],
    )
    names = ["EUR/USD", "GBP/USD", "AUD/USD", "NZD/USD"]
    instruments = {n: TestInstrumentProvider.default_fx_ccy(n) for n in names}
    t0 = 1_700_000_000_000_000_000
    step = 1_000_000_000
    ticks = []
    for i in range(TICKS + 1):
        mid = _mid(i)
        for inst in instruments.values():
            ticks.append(
                QuoteTick(
                    instrument_id=inst.id,
                    bid_price=Price(mid - 0.00001, 5),
                    ask_price=Price(mid + 0.00001, 5),
                    bid_size=Quantity.from_int(10_000_000),
                    ask_size=Quantity.from_int(10_000_000),
                    ts_event=t0 + i * step,
                    ts_init=t0 + i * step,
                )
            )
    for inst in instruments.values():
        engine.add_instrument(inst)
    engine.add_data(ticks)

    class Counting(GatewayStrategy):  # type: ignore[misc]
        """Counts the quotes it receives per instrument (its quote subscriptions at work)."""

        def __init__(self, config: GatewayStrategyConfig) -> None:
            super().__init__(config)
            self.quotes: dict[str, int] = {}

        def on_quote_tick(self, tick: QuoteTick) -> None:
            key = tick.instrument_id.value
            self.quotes[key] = self.quotes.get(key, 0) + 1

    native = Counting(GatewayStrategyConfig(order_id_tag="001"))
    # Four instruments loaded, more than its limit: no quotes until a ticket names one.
    limited = Counting(GatewayStrategyConfig(order_id_tag="004", quote_limit=3))
    managed = GatewayStrategy(GatewayStrategyConfig(order_id_tag="002", bracket_mode="managed"))
    refuse = GatewayStrategy(GatewayStrategyConfig(order_id_tag="003", bracket_mode="refuse"))
    for s in (native, managed, refuse, limited):
        engine.add_strategy(s)

    ids: dict[str, list[str]] = {}
    snapshots: dict[str, dict[str, str]] = {}
    errors: dict[str, Any] = {}

    def submit(name: str, strategy: GatewayStrategy, ticket: Any) -> None:
        try:
            ids[name] = [c.value for c in strategy.submit_ticket(ticket)]
        except (OrderCommandError, ValueError) as exc:
            errors[name] = exc.to_dict() if hasattr(exc, "to_dict") else str(exc)

    def status(cid: str) -> str:
        order = native.cache.order(ClientOrderId(cid))
        return "MISSING" if order is None else order.status_string()

    class Driver(Actor):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.n = 0

        def on_start(self) -> None:
            self.subscribe_quote_ticks(instruments["NZD/USD"].id)

        def on_quote_tick(self, tick: QuoteTick) -> None:
            self.n += 1
            if self.n == 5:
                self.at_start(tick)
            if self.n == 150:
                # OTO parent (buy limit 1.09800) not yet filled: the child must wait.
                snapshots["oto_before"] = {c: status(c) for c in ids["oto"]}
                snapshots["bracket_before"] = {c: status(c) for c in ids["bracket_wait"]}
            if self.n == 60:
                try:
                    native.modify(ModifyOrder(client_order_id=ids["modify_me"][0], price="1.09100"))
                    native.cancel(CancelOrder(client_order_id=ids["cancel_me"][0]))
                    native.cancel(CancelOrder(client_order_id="O-NOPE"))
                except OrderCommandError as exc:
                    errors["cancel_unknown"] = exc.to_dict()
            if self.n == TICKS - 6:
                snapshots["before_flatten"] = {
                    name: [status(c) for c in cids] for name, cids in ids.items()
                }
            if self.n == TICKS - 5:
                snapshots["flatten"] = native.flatten_all(FlattenAll())

        def at_start(self, tick: QuoteTick) -> None:
            snapshots["quotes_before_ticket"] = {
                "native": dict(native.quotes),
                "limited": dict(limited.quotes),
            }
            submit("limited", limited, parse_ticket("buy 100000 AUD/USD.SIM limit 1.09000"))
            eur = "EUR/USD.SIM"
            expire = unix_nanos_to_dt(tick.ts_event) + timedelta(seconds=30)
            singles = {
                "market": f"buy 100000 {eur}",
                "limit_rest": f"buy 100000 {eur} limit 1.09000",
                "limit_gtd": f"buy 100000 {eur} limit 1.09000 gtd {expire.isoformat()}",
                "stop_market": f"buy 100000 {eur} stop 1.10300",
                "stop_limit": f"buy 100000 {eur} stop-limit 1.10300 1.10350",
                "market_to_limit": f"buy 100000 {eur} mtl",
                "mit": f"sell 100000 {eur} mit 1.10400",
                "lit": f"sell 100000 {eur} lit 1.10400 1.10390",
                "trailing_stop": f"sell 100000 {eur} trailing-stop offset 0.00100",
                "trailing_stop_ticks": f"sell 100000 {eur} trailing-stop offset 100 ticks",
                "trailing_stop_limit": (
                    f"sell 100000 {eur} trailing-stop-limit offset 0.00100 limit-offset 0.00010"
                ),
                "emulated": f"buy 100000 {eur} limit 1.09000 emulate bid-ask",
                "post_only_iceberg": f"buy 100000 {eur} limit 1.09000 post-only display 10000",
                "modify_me": f"buy 100000 {eur} limit 1.09000",
                "cancel_me": f"buy 100000 {eur} limit 1.09000",
                "bad_trigger": f"buy 100000 {eur} stop 1.09000",
            }
            for name, line in singles.items():
                submit(name, native, parse_ticket(line))
            gbp, aud, nzd = "GBP/USD.SIM", "AUD/USD.SIM", "NZD/USD.SIM"
            submit(
                "bracket", native, parse_ticket(f"buy 100000 {gbp} bracket sl 1.09600 tp 1.10400")
            )
            submit(
                "bracket_wait",
                native,
                parse_ticket(f"buy 100000 {gbp} bracket entry 1.09700 sl 1.09000 tp 1.09900"),
            )
            submit(
                "managed", managed, parse_ticket(f"buy 100000 {aud} bracket sl 1.09600 tp 1.10400")
            )
            submit(
                "refused", refuse, parse_ticket(f"buy 100000 {aud} bracket sl 1.09600 tp 1.10400")
            )
            leg = {"instrument_id": nzd, "quantity": "100000"}
            submit(
                "oco",
                native,
                load_ticket(
                    {
                        "type": "OCO",
                        "orders": [
                            {
                                **leg,
                                "type": "STOP_MARKET",
                                "side": "BUY",
                                "trigger_price": "1.10300",
                            },
                            {**leg, "type": "LIMIT", "side": "BUY", "price": "1.09600"},
                        ],
                    }
                ),
            )
            submit(
                "oto",
                native,
                load_ticket(
                    {
                        "type": "OTO",
                        "orders": [
                            {**leg, "type": "LIMIT", "side": "BUY", "price": "1.09800"},
                            {**leg, "type": "LIMIT", "side": "SELL", "price": "1.09950"},
                        ],
                    }
                ),
            )

    engine.add_actor(Driver())
    engine.run()
    final = {name: [status(c) for c in cids] for name, cids in ids.items()}
    managed_orders = {
        o.client_order_id.value: {
            "status": o.status_string(),
            "reduce_only": o.is_reduce_only,
            "contingency": int(o.contingency_type),
            "tags": o.tags,
        }
        for o in managed.cache.orders(strategy_id=managed.id)
    }
    modified = native.cache.order(ClientOrderId(ids["modify_me"][0]))
    print(
        json.dumps(
            {
                "final": final,
                "snapshots": snapshots,
                "errors": errors,
                "managed_orders": managed_orders,
                "managed_ids": ids.get("managed"),
                "modified_price": str(modified.price),
                "open_positions": len(native.cache.positions_open()),
                "quotes": {"native": native.quotes, "limited": limited.quotes},
                "limited_quoted": sorted(i.value for i in limited.quoted),
            }
        )
    )
    engine.dispose()


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    line = proc.stdout.strip().splitlines()[-1]
    data: dict[str, Any] = json.loads(line)
    return data


def test_every_single_type_reaches_its_expected_state(result: dict[str, Any]) -> None:
    states = {name: s[0] for name, s in result["snapshots"]["before_flatten"].items()}
    assert states["market"] == "FILLED"
    assert states["limit_rest"] == "ACCEPTED"
    assert states["limit_gtd"] == "EXPIRED"
    assert states["stop_market"] == "FILLED"
    assert states["stop_limit"] == "FILLED"
    assert states["market_to_limit"] == "FILLED"
    assert states["mit"] == "FILLED"
    assert states["lit"] == "FILLED"
    assert states["trailing_stop"] == "FILLED"
    assert states["trailing_stop_ticks"] == "FILLED"
    assert states["trailing_stop_limit"] in TRAILING_STOP_LIMIT_STATES
    assert states["emulated"] == "EMULATED"
    assert states["post_only_iceberg"] == "ACCEPTED"
    assert states["cancel_me"] == "CANCELED"


def test_modify_and_cancel_reach_the_venue(result: dict[str, Any]) -> None:
    assert result["modified_price"] == "1.09100"
    assert result["errors"]["cancel_unknown"] == {
        "error": "unknown_order",
        "message": "no order O-NOPE in this node",
        "field": "client_order_id",
        "value": "O-NOPE",
    }


def test_bad_trigger_side_is_refused_before_submission(result: dict[str, Any]) -> None:
    assert "bad_trigger" not in result["final"]
    (issue,) = result["errors"]["bad_trigger"]["issues"]
    assert issue["path"] == "trigger_price"
    assert issue["value"] == "1.09000"
    assert issue["expected"].startswith("above the ask")


def test_bracket_children_wait_for_the_entry_then_one_cancels_the_other(
    result: dict[str, Any],
) -> None:
    # Entry limit 1.09700 is reached only on the way down (after tick 150).
    before = list(result["snapshots"]["bracket_before"].values())
    assert before[0] == "ACCEPTED"
    assert all(s not in ("ACCEPTED", "FILLED") for s in before[1:])
    # Market entry, take-profit at the top fills, stop-loss canceled.
    assert result["final"]["bracket"] == ["FILLED", "CANCELED", "FILLED"]
    assert result["final"]["bracket_wait"] == ["FILLED", "CANCELED", "FILLED"]


def test_managed_bracket_submits_exits_after_the_fill_without_reduce_only(
    result: dict[str, Any],
) -> None:
    entry, sl, tp = result["managed_ids"]
    orders = result["managed_orders"]
    assert [orders[i]["status"] for i in (entry, sl, tp)] == ["FILLED", "CANCELED", "FILLED"]
    assert not orders[sl]["reduce_only"] and not orders[tp]["reduce_only"]
    assert orders[sl]["contingency"] == orders[tp]["contingency"] == 3  # OUO
    assert orders[sl]["tags"] == ["STOP_LOSS"]


def test_refuse_mode_rejects_brackets_with_a_clear_code(result: dict[str, Any]) -> None:
    assert result["errors"]["refused"]["error"] == "bracket_refused"


def test_oco_fill_cancels_the_other_leg(result: dict[str, Any]) -> None:
    assert result["final"]["oco"] == ["FILLED", "CANCELED"]


def test_oto_child_is_held_until_the_parent_fills(result: dict[str, Any]) -> None:
    parent, child = result["snapshots"]["oto_before"].values()
    assert parent == "ACCEPTED"
    assert child not in ("ACCEPTED", "FILLED")
    assert result["final"]["oto"] == ["FILLED", "FILLED"]


def test_flatten_all_leaves_nothing_open(result: dict[str, Any]) -> None:
    assert result["open_positions"] == 0
    assert result["snapshots"]["flatten"]["closed"]
    assert result["final"]["limit_rest"] == ["CANCELED"]


def test_quotes_are_followed_for_loaded_instruments_up_to_the_limit(
    result: dict[str, Any],
) -> None:
    before = result["snapshots"]["quotes_before_ticket"]
    assert set(before["native"]) == {"EUR/USD.SIM", "GBP/USD.SIM", "AUD/USD.SIM", "NZD/USD.SIM"}
    assert before["limited"] == {}  # four loaded, limit three: none subscribed at start


def test_a_ticket_subscribes_its_instruments_quotes_beyond_the_limit(
    result: dict[str, Any],
) -> None:
    assert result["snapshots"]["before_flatten"]["limited"] == ["ACCEPTED"]
    assert result["limited_quoted"] == ["AUD/USD.SIM"]
    assert set(result["quotes"]["limited"]) == {"AUD/USD.SIM"}
    assert result["quotes"]["limited"]["AUD/USD.SIM"] > 300


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    _child()
