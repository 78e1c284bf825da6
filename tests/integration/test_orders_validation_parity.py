"""One validation: a dry run's verdict is the node's, for generated order lines and JSON
tickets (hostile values included), against a real sandbox node host.

``gateway order NODE ... --dry-run`` runs through the real CLI (click, in this process,
so a hundred examples take seconds); the node gets the same ticket over its channel as
raw data and parses and checks it itself. Every input ends as accepted (exit 0, the node
``ok``) or refused as invalid (exit 2 naming a field, the node ``invalid_order`` naming a
field): never a traceback, an ``internal_error`` or a disagreement.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from console.cli.main import cli
from engine.config.store import ConfigStore
from engine.manager import NodeManager
from engine.orders.syntax import OrderSyntaxError, parse_ticket
from engine.orders.tickets import dump_ticket
from engine.workspace import Workspace
from tests.integration.cli import gateway
from tests.integration.market_wait import wait_for_quotes
from tests.integration.sandbox_docs import quiet_sandbox

NODE = "parity-sbx"
IID = "EUR/USD.SIM"
pytestmark = pytest.mark.timeout(150)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = Workspace(Path(tmp_path_factory.mktemp("parity")) / ".gateway").ensure()
    doc = quiet_sandbox(NODE)
    ConfigStore(ws).save(doc, deep=False)
    manager = NodeManager(ws)

    async def start() -> None:
        handle = await manager.launch(NODE)
        meta = await manager.wait_state(NODE, {"running", "failed", "stopped"}, timeout_s=40)
        assert meta.state == "running", meta
        await asyncio.to_thread(wait_for_quotes, handle.run_dir)

    asyncio.run(start())
    try:
        yield ws
    finally:
        asyncio.run(NodeManager(ws).stop(NODE, timeout_s=15))


def dry_run(ws: Workspace, *args: str, stdin: str | None = None) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(
        cli,
        ["order", NODE, *args, "--dry-run", "-o", "json"],
        input=stdin,
        env={"GATEWAY_HOME": str(ws.root), "NO_COLOR": "1"},
        catch_exceptions=True,
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        args,
        result.exception,
    )
    assert result.exit_code in (0, 2), (args, result.exit_code, result.output)
    out = json.loads(result.stdout) if result.stdout.strip().startswith("{") else {}
    if result.exit_code == 2:
        issues = out.get("issues") or []
        assert issues and all(i.get("path") for i in issues), (args, result.output)
    return result.exit_code, out


def node_verdict(ws: Workspace, ticket: Any) -> dict[str, Any]:
    reply: dict[str, Any] = asyncio.run(
        NodeManager(ws).command(NODE, "order", command={"action": "submit", "ticket": ticket})
    )
    assert reply.get("code") != "internal_error", reply
    if reply.get("ok") is not True:
        assert reply.get("code") == "invalid_order", reply
        assert reply.get("issues") and all(i.get("path") for i in reply["issues"]), reply
    return reply


# Far from the boundaries the quote could cross between the dry run and the node
# (minimum notional 1000 USD at ~1.1: quantities 1000 and up are clear of it).
QUANTITIES = [
    "1000",
    "100000",
    "10000000",
    "10000001",
    "100",
    "100001.5",
    "0",
    "-0",
    "-5",
    "NaN",
    "inf",
    "1e400",
    "9" * 400,
    "0." + "1" * 39,
    "١٢٣",
    "\uff11",  # fullwidth one
    "1e5",
]
PRICES = [
    "1.08",
    "1.085",
    "1.0850",
    "2",
    "1.000001",
    "0",
    "-1.08",
    "-0",
    "NaN",
    "-inf",
    "1e400",
    "0." + "1" * 39,
    "١٢٣",
    "17014118346046",
    "17014118346047",
]
EXPIRES = ["2261-12-31T00:00Z", "9999-12-31T23:59Z", "0001-01-01T00:00Z", "2020-01-01T00:00Z"]
INSTRUMENTS = [IID, IID, IID, "FOO/BAR.SIM", "A."]


@st.composite
def lines(draw: st.DrawFn) -> str:
    words = [draw(st.sampled_from(["buy", "sell"])), draw(st.sampled_from(QUANTITIES))]
    words.append(draw(st.sampled_from(INSTRUMENTS)))
    if draw(st.booleans()):
        words += ["limit", draw(st.sampled_from(PRICES))]
        if draw(st.booleans()):
            words += ["gtd", draw(st.sampled_from(EXPIRES))]
    return " ".join(words)


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(line=lines())
def test_a_dry_run_of_an_order_line_agrees_with_the_node(node: Workspace, line: str) -> None:
    code, _ = dry_run(node, line)
    try:
        ticket = parse_ticket(line)
    except OrderSyntaxError:
        assert code == 2
        return
    except ValueError:
        assert code == 2
        return
    reply = node_verdict(node, dump_ticket(ticket))
    event("accepted" if code == 0 else "refused")
    assert (code == 0) == (reply.get("ok") is True), (line, code, reply)


hostile_json = st.one_of(
    st.sampled_from(QUANTITIES + PRICES),
    st.sampled_from([0, -1, float("nan"), float("inf"), 1e300, True, [1], {"a": 1}, None]),
)
json_quantities = st.one_of(st.sampled_from(["100000", 100000, 1000, "2000"]), hostile_json)
json_prices = st.one_of(st.sampled_from(["1.08", "1.085", 1.08, 2]), hostile_json)


@st.composite
def json_tickets(draw: st.DrawFn) -> dict[str, Any]:
    ticket: dict[str, Any] = {
        "type": draw(st.sampled_from(["LIMIT", "MARKET", "limit"])),
        "instrument_id": draw(st.sampled_from(INSTRUMENTS)),
        "side": draw(st.sampled_from(["BUY", "sell"])),
        "quantity": draw(json_quantities),
    }
    if ticket["type"].upper() == "LIMIT" or draw(st.booleans()):
        ticket["price"] = draw(json_prices)
    if draw(st.booleans()):
        ticket["time_in_force"] = "GTD"
        ticket["expire_time"] = draw(st.sampled_from(EXPIRES))
    return ticket


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ticket=json_tickets())
def test_a_dry_run_of_a_json_ticket_agrees_with_the_node(
    node: Workspace, ticket: dict[str, Any]
) -> None:
    code, _ = dry_run(node, "--json", "-", stdin=json.dumps(ticket))
    reply = node_verdict(node, ticket)  # the node parses the raw values itself
    event("accepted" if code == 0 else "refused")
    assert (code == 0) == (reply.get("ok") is True), (ticket, code, reply)
    has_nan = any(isinstance(v, float) and not math.isfinite(v) for v in ticket.values())
    # (Python's json writes NaN; the CLI reads it back as a float NaN and refuses it.)
    assert not (has_nan and code == 0)


def test_the_users_examples_are_refused_by_both_naming_the_field(node: Workspace) -> None:
    examples = {
        "buy 100000 EUR/USD.SIM limit -1.08": "price",
        "buy 100000 EUR/USD.SIM limit 0": "price",
        "buy 100000 EUR/USD.SIM limit 1.000001": "price",
        "buy 100001.5 EUR/USD.SIM": "quantity",
        "buy 100 EUR/USD.SIM": "quantity",
        "buy 100000 FOO/BAR.SIM": "instrument_id",
        "buy 1e400 EUR/USD.SIM": "quantity",
        "buy " + "9" * 400 + " EUR/USD.SIM": "quantity",
        "buy 100000 EUR/USD.SIM limit 0." + "1" * 39: "price",
        "buy 100000 EUR/USD.SIM limit 1.08 gtd 9999-12-31T23:59Z": "expire_time",
    }
    for line, field in examples.items():
        code, out = dry_run(node, line)
        assert code == 2 and field in {i["path"] for i in out["issues"]}, (line, out)
        # Sent for real (no --dry-run), through the real entry point: the same exit 2.
    r = gateway("order", NODE, "buy 100000 EUR/USD.SIM limit 1.000001", workspace=node.root)
    assert r.code == 2 and "price" in r.err and "Traceback" not in r.err, r.err
    # A valid one: the dry run says what it checked against.
    r = gateway(
        "order", NODE, "buy 100000 EUR/USD.SIM limit 1.08", "--dry-run", workspace=node.root
    )
    assert r.code == 0 and f"checked against node {NODE}'s rules for {IID}" in r.out, r.out
    assert "not checked" not in r.err


def test_modify_invalid_input_exits_2_before_or_at_the_node(node: Workspace) -> None:
    for args in (("--price", "-1"), ("--quantity", "0"), ("--price", "NaN")):
        r = gateway("orders", "modify", NODE, "O-NOPE-1", *args, workspace=node.root)
        assert r.code == 2 and "Traceback" not in r.err, (args, r.err)


def test_a_dry_run_without_the_node_says_what_it_could_not_check(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / ".gateway").ensure()
    r = gateway(
        "order", "nowhere", "buy 100000 EUR/USD.SIM limit 1.000001", "--dry-run", workspace=ws.root
    )
    assert r.code == 0, r.err
    assert "not checked: the instrument's rules" in r.err and "nowhere" in r.err
    r = gateway(
        "order", "nowhere", "buy 100000 EUR/USD.SIM limit -1", "--dry-run", workspace=ws.root
    )
    assert r.code == 2 and "price" in r.err


def test_the_node_answers_odd_tickets_as_invalid_naming_the_field(node: Workspace) -> None:
    leg = {"type": "LIMIT", "instrument_id": IID, "side": "BUY", "quantity": "100000"}
    odd = {
        "orders": {"type": "OCO", "orders": []},
        "orders[1].instrument_id": {
            "type": "OTO",
            "orders": [{**leg, "price": "1.08"}, {**leg, "price": "1.07", "instrument_id": "X.Y"}],
        },
        "sl_trigger_price": {
            "type": "BRACKET",
            "instrument_id": IID,
            "side": "BUY",
            "quantity": "100000",
            "sl_trigger_price": "1e400",
            "tp_price": "1.2",
        },
        "orders[0].instrument_id": {
            "type": "OCO",
            "orders": [{**leg, "instrument_id": "NO.PE", "price": "1"}] * 2,
        },
    }
    for field, ticket in odd.items():
        reply = node_verdict(node, ticket)
        assert reply.get("ok") is False, (field, reply)
        assert field in {i["path"].removeprefix("ticket.") for i in reply["issues"]}, reply
