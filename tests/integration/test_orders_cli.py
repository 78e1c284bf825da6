"""`gateway order` / `gateway orders` error paths, through the real entry point.

None of these needs a running node: bad input is caught before anything is sent, and
the exit code tells a script what went wrong (2: fix the input, 1: the node).
"""

from __future__ import annotations

import json

from engine.workspace import Workspace
from tests.integration.cli import gateway


def test_bad_syntax_names_the_word_and_exits_2(workspace: Workspace) -> None:
    r = gateway("order", "n1", "buy 100000 EUR/USD.SIM limit 1.08x5 gtc", workspace=workspace.root)
    assert r.code == 2
    assert "word 5" in r.err and "'1.08x5'" in r.err and "limit price" in r.err

    r = gateway("order", "n1", "buy 100000 EURUSD limit 1", "-o", "json", workspace=workspace.root)
    assert r.code == 2
    out = json.loads(r.out)
    issue = out["issues"][0]
    assert (issue["path"], issue["value"]) == ("instrument_id", "EURUSD")
    assert "(word 3)" in issue["expected"]


def test_invalid_json_ticket_names_every_field_and_exits_2(workspace: Workspace) -> None:
    ticket = {"type": "limit", "side": "BUY", "instrument_id": "EUR/USD.SIM", "quantity": "1"}
    r = gateway("order", "n1", "--json", "-", stdin=json.dumps(ticket), workspace=workspace.root)
    assert r.code == 2
    assert "price: got None, expected a value (this field is required)" in r.err

    bad = {**ticket, "price": "1.1", "quantity": "-5", "time_in_force": "GTD"}
    path = workspace.root / "ticket.json"
    path.write_text(json.dumps(bad))
    r = gateway("order", "n1", "--json", str(path), "-o", "json", workspace=workspace.root)
    assert r.code == 2
    paths = {i["path"] for i in json.loads(r.out)["issues"]}
    assert {"quantity", "expire_time"} <= paths

    r = gateway("order", "n1", "--json", "-", stdin="{not json", workspace=workspace.root)
    assert r.code == 2 and "a JSON object" in r.err


def test_dry_run_prints_the_nautilus_orders_without_a_node(workspace: Workspace) -> None:
    line = "buy 100000 EUR/USD.SIM bracket entry 1.0850 sl 1.0800 tp 1.0900"
    r = gateway("order", "n1", line, "--dry-run", "-o", "json", workspace=workspace.root)
    assert r.code == 0, r.err
    out = json.loads(r.out)
    assert out["ticket"]["type"] == "BRACKET"
    kinds = [(o["type"], o["side"], o.get("price"), o.get("trigger_price")) for o in out["orders"]]
    assert kinds == [
        ("LIMIT", "BUY", "1.0850", None),
        ("STOP_MARKET", "SELL", None, "1.0800"),
        ("LIMIT", "SELL", "1.0900", None),
    ]
    r = gateway("order", "n1", "sell 5 X.Y stop 10 day", "--dry-run", workspace=workspace.root)
    assert r.code == 0 and "StopMarketOrder(SELL 5 X.Y STOP_MARKET" in r.out


def test_order_to_a_node_that_is_not_running_exits_1(workspace: Workspace) -> None:
    r = gateway("order", "n1", "buy 1 X.Y", workspace=workspace.root)
    assert r.code == 1 and "not running" in r.err


def test_irreversible_commands_refuse_without_a_terminal_or_yes(workspace: Workspace) -> None:
    for args in (
        ("cancel", "n1", "O-1"),
        ("cancel-all", "n1"),
        ("close", "n1", "--instrument", "X.Y"),
        ("flatten", "n1"),
    ):
        r = gateway("orders", *args, stdin="", workspace=workspace.root)
        assert r.code == 2 and "--yes" in r.err, args
    # With --yes they go on to the node, which is not running.
    r = gateway("orders", "flatten", "n1", "--yes", workspace=workspace.root)
    assert r.code == 1 and "not running" in r.err


def test_modify_and_close_check_their_arguments(workspace: Workspace) -> None:
    r = gateway("orders", "modify", "n1", "O-1", workspace=workspace.root)
    assert r.code == 2 and "--price" in r.err
    r = gateway("orders", "modify", "n1", "O-1", "--price", "abc", workspace=workspace.root)
    assert r.code == 2 and "price: got 'abc'" in r.err
    r = gateway("orders", "close", "n1", "--yes", workspace=workspace.root)
    assert r.code == 2 and "exactly one of --position" in r.err


def test_list_of_an_unknown_node_exits_2(workspace: Workspace) -> None:
    r = gateway("orders", "list", "nope", workspace=workspace.root)
    assert r.code == 2 and "nope" in r.err


def test_flatten_needs_a_node_or_all_and_timeouts_are_checked(workspace: Workspace) -> None:
    for args in ((), ("n1", "--all")):
        r = gateway("orders", "flatten", *args, "--yes", workspace=workspace.root)
        assert r.code == 2 and "NODE or --all" in r.err, args
    for bad in ("nan", "inf", "1e400", "-0", "0", "-1", "١٢٣", "", "9" * 400):
        r = gateway(
            "orders",
            "close",
            "n1",
            "--instrument",
            "X.Y",
            "--timeout",
            bad,
            "--yes",
            workspace=workspace.root,
        )
        assert r.code == 2 and "--timeout" in r.err and "expected seconds" in r.err, (bad, r.err)
    # No node running: the kill switch has nothing to flatten, and says so.
    r = gateway("orders", "flatten", "--all", "--yes", workspace=workspace.root)
    assert r.code == 0 and "nothing to flatten" in r.out, r.err
    r = gateway("orders", "modify", "n1", "O-1", "--price", "1", "--yes", workspace=workspace.root)
    assert r.code == 1 and "not running" in r.err  # --yes: its notional confirmed, if it grows
    r = gateway("orders", "modify", "n1", "O-1", "--price", "1", workspace=workspace.root)
    assert r.code == 1 and "not running" in r.err, r.err
