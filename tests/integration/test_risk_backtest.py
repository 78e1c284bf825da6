"""The risk guard in a backtest: a foreign strategy's (EMACross's) orders are checked too,
and a limit allows the orders just inside it and denies those just beyond."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from engine.demo import demo_backtest
from tests.integration.backtest_support import json_events, small_workspace, write_node
from tests.integration.cli import gateway

pytestmark = pytest.mark.timeout(180)


def _run(root: Path, limits: dict[str, Any]) -> tuple[int, int, list[str]]:
    workspace = small_workspace(root)
    doc = copy.deepcopy(demo_backtest())
    doc["risk"] = {"limits": limits}
    write_node(workspace, doc)
    result = gateway("launch", "demo-backtest", "--json", workspace=workspace.root)
    assert result.code == 0, result.err[-2000:]
    events = json_events(result.out)
    filled = sum(1 for e in events if e.type == "OrderFilled")
    denied = [str(e.payload.get("reason")) for e in events if e.type == "OrderDenied"]
    submitted = sum(1 for e in events if e.type == "OrderSubmitted")
    return submitted, filled, denied


def test_position_limit_at_the_trade_size_lets_every_order_through_and_one_below_none(
    tmp_path: Path,
) -> None:
    # EMACross trades 100,000 and is never more than 100,000 long or short.
    submitted, filled, denied = _run(tmp_path / "at", {"max_position_net": "100000"})
    assert submitted > 10 and filled == submitted and denied == []

    submitted, filled, denied = _run(tmp_path / "below", {"max_position_net": "99999"})
    assert submitted == 0 and filled == 0
    assert len(denied) > 10
    assert all("RISK max_position_net" in r and "99999" in r for r in denied)
