"""Each way a backtest can fail ends the run `failed`, with the error as an event and a file."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.demo import demo_backtest
from engine.runs import list_runs
from engine.workspace import Workspace
from tests.integration.backtest_support import json_events, small_workspace, write_node
from tests.integration.cli import gateway

BOOM_MODULE = textwrap.dedent(
    """
    from nautilus_trader.examples.strategies.ema_cross import EMACross, EMACrossConfig

    class BoomConfig(EMACrossConfig, frozen=True):
        pass

    class Boom(EMACross):
        def on_bar(self, bar):
            raise RuntimeError("boom: the strategy failed on purpose")
    """
)


def _strategy_raises(doc: dict[str, Any], tmp: Path) -> dict[str, str]:
    (tmp / "boom_strategy.py").write_text(BOOM_MODULE)
    doc["strategies"][0]["strategy_path"] = "boom_strategy:Boom"
    doc["strategies"][0]["config_path"] = "boom_strategy:BoomConfig"
    return {"PYTHONPATH": str(tmp)}


def _missing_catalog(doc: dict[str, Any], tmp: Path) -> dict[str, str]:
    doc["data"][0]["catalog_path"] = str(tmp / "no-catalog-here")
    return {}


def _instrument_absent(doc: dict[str, Any], tmp: Path) -> dict[str, str]:
    doc["data"][0]["instrument_ids"] = ["GBP/USD.SIM"]
    doc["strategies"][0]["config"]["instrument_id"] = "GBP/USD.SIM"
    doc["strategies"][0]["config"]["bar_type"] = "GBP/USD.SIM-10-SECOND-BID-INTERNAL"
    return {}


def _unresolvable_import(doc: dict[str, Any], tmp: Path) -> dict[str, str]:
    doc["strategies"][0]["strategy_path"] = "no_such_package.strategies:Missing"
    return {}


CASES: dict[str, tuple[Callable[[dict[str, Any], Path], dict[str, str]], str]] = {
    "strategy raises": (_strategy_raises, "boom: the strategy failed on purpose"),
    "missing catalog": (_missing_catalog, "no-catalog-here does not exist"),
    "instrument absent": (_instrument_absent, "instrument GBP/USD.SIM is not in catalog"),
    "unresolvable import": (_unresolvable_import, "no_such_package.strategies:Missing"),
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return small_workspace(tmp_path_factory.mktemp("fail") / ".gateway", ticks=3_000)


@pytest.mark.parametrize("case", list(CASES))
def test_failure_ends_failed_with_the_error(
    case: str, workspace: Workspace, tmp_path: Path
) -> None:
    change, expected = CASES[case]
    doc = demo_backtest()
    doc["node_id"] = "fails-" + case.replace(" ", "-")
    env = change(doc, tmp_path)
    write_node(workspace, doc)

    result = gateway("launch", doc["node_id"], "--json", workspace=workspace.root, env=env)

    assert result.code == 1, result.err
    events = json_events(result.out)
    states = [e.payload["state"] for e in events if e.type == "NodeStateChanged"]
    assert states[-1] == "failed"
    error = next(e for e in events if e.type == "NodeError")
    assert expected in error.payload["message"]
    (run,) = list_runs(workspace, doc["node_id"])
    assert run.meta.state == "failed" and run.meta.exit_code == 1
    saved = run.error()
    assert saved is not None and expected in saved["message"]


def test_a_failed_run_leaves_other_nodes_able_to_run(workspace: Workspace) -> None:
    result = gateway("launch", "demo-backtest", "--json", workspace=workspace.root)
    assert result.code == 0, result.err
    assert list_runs(workspace, "demo-backtest")[-1].meta.state == "completed"
