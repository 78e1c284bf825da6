"""Every validation rule of node configs, and the shape of the error it gives."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from engine.config.issues import ConfigIssue
from engine.config.validate import validate_node
from engine.demo import demo_backtest, demo_sandbox
from engine.workspace import Workspace


def issues_by_path(
    doc: dict[str, Any], workspace: Workspace, deep: bool = True
) -> dict[str, ConfigIssue]:
    report = validate_node(doc, workspace, deep=deep)
    return {i.path: i for i in report.errors}


def edit(doc: dict[str, Any], path: list[str | int], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    target: Any = doc
    for part in path[:-1]:
        if isinstance(part, str) and part not in target:
            target[part] = {}
        target = target[part]
    if value is DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


DELETE = object()


def test_demo_backtest_is_valid_all_the_way_down(workspace: Workspace) -> None:
    report = validate_node(demo_backtest(), workspace, deep=True)
    assert report.ok, [i.render() for i in report.issues]


@pytest.mark.parametrize(
    ("path", "value", "expected_path", "words"),
    [
        (["node_id"], "Bad Id", "node_id", "slug"),
        (["node_id"], "../../etc", "node_id", "slug"),
        (["node_id"], DELETE, "node_id", "required"),
        (["mode"], "paper", "mode", "backtest"),
        (["trader_id"], "TRADER", "trader_id", "NAME-TAG"),
        (["log_level"], "LOUD", "log_level", "DEBUG"),
        (["unknown_field"], 1, "unknown_field", "unknown field"),
        (["venues", 0, "name"], "sim", "venues[0].name", "upper-case"),
        (["venues", 0, "oms_type"], "FIFO", "venues[0].oms_type", "NETTING"),
        (
            ["venues", 0, "starting_balances", 0],
            "lots USD",
            "venues[0].starting_balances[0]",
            "amount and a currency",
        ),
        (["venues", 0, "default_leverage"], 0, "venues[0].default_leverage", "greater than 0"),
        (
            ["strategies", 0, "strategy_path"],
            "not a path",
            "strategies[0].strategy_path",
            "import path",
        ),
        (["data", 0, "instrument_ids"], [], "data[0].instrument_ids", "at least 1"),
        (["data", 0, "data_type"], "Candles", "data[0].data_type", "QuoteTick"),
        (["risk", "max_order_submit_rate"], "fast", "risk.max_order_submit_rate", "N/HH:MM:SS"),
        (
            ["risk", "max_notional_per_order"],
            {"EUR/USD.SIM": -1},
            "risk.max_notional_per_order.EUR/USD.SIM",
            "greater than 0",
        ),
        (["restart", "policy"], "always", "restart.policy", "on-failure"),
        (["restart", "max_restarts"], -1, "restart.max_restarts", "greater than or equal"),
        (["tags"], [""], "tags[0]", "at least 1"),
        (["schema_version"], 7, "schema_version", "1"),
    ],
)
def test_structural_rule(
    workspace: Workspace, path: list[Any], value: Any, expected_path: str, words: str
) -> None:
    found = issues_by_path(edit(demo_backtest(), path, value), workspace, deep=False)
    assert expected_path in found, found
    issue = found[expected_path]
    assert words.lower() in issue.message.lower()
    if value is not DELETE and not isinstance(value, dict | list):
        assert issue.value == value


def test_data_range_and_bar_types(workspace: Workspace) -> None:
    doc = edit(demo_backtest(), ["data", 0, "start"], "2024-01-02T00:00:00Z")
    doc = edit(doc, ["data", 0, "end"], "2024-01-01T00:00:00Z")
    assert "start must be before end" in issues_by_path(doc, workspace)["data[0]"].message
    doc = edit(demo_backtest(), ["data", 0, "data_type"], "Bar")
    assert "bar_types is required" in issues_by_path(doc, workspace)["data[0]"].message


def test_every_problem_is_reported_at_once(workspace: Workspace) -> None:
    doc = edit(demo_backtest(), ["node_id"], "BAD")
    doc = edit(doc, ["venues", 0, "name"], "bad")
    doc = edit(doc, ["log_level"], "LOUD")
    assert {"node_id", "venues[0].name", "log_level"} <= set(issues_by_path(doc, workspace))


class TestModeRules:
    def test_backtest_needs_venue_data_strategy_and_balances(self, workspace: Workspace) -> None:
        doc = demo_backtest() | {"venues": [], "data": [], "strategies": []}
        found = issues_by_path(doc, workspace)
        assert {"venues", "data", "strategies"} <= set(found)
        doc = edit(demo_backtest(), ["venues", 0, "starting_balances"], [])
        assert (
            "starting balances"
            in issues_by_path(doc, workspace)["venues[0].starting_balances"].message
        )

    def test_backtest_forbids_clients(self, workspace: Workspace) -> None:
        doc = demo_backtest() | {"exec_clients": [{"name": "SIM", "adapter": "sandbox"}]}
        assert "not used in backtest" in issues_by_path(doc, workspace)["exec_clients"].message

    def test_sandbox_needs_clients_and_forbids_data(self, workspace: Workspace) -> None:
        doc = demo_sandbox() | {
            "data_clients": [],
            "exec_clients": [],
            "data": demo_backtest()["data"],
        }
        assert {"data", "data_clients", "exec_clients"} <= set(issues_by_path(doc, workspace))

    def test_sandbox_exec_must_be_sandbox_adapter_on_a_known_venue(
        self, workspace: Workspace
    ) -> None:
        doc = edit(demo_sandbox(), ["exec_clients", 0], {"name": "OTHER", "adapter": "offline"})
        found = issues_by_path(doc, workspace)
        assert "sandbox" in found["exec_clients[0].adapter"].message
        assert "no venue" in found["exec_clients[0].name"].message

    def test_live_rules(self, workspace: Workspace) -> None:
        doc = demo_sandbox() | {
            "mode": "live",
            "exec_clients": [{"name": "BINANCE", "adapter": "binance"}],
        }
        found = issues_by_path(doc, workspace)
        assert "venue adapter" in found["data_clients[0].adapter"].message
        assert "profile" in found["exec_clients[0].profile"].message
        assert "balances from the venue" in found["venues[0].starting_balances"].message

    def test_duplicate_names(self, workspace: Workspace) -> None:
        doc = demo_backtest()
        doc["venues"] = [doc["venues"][0], doc["venues"][0]]
        assert "duplicate" in issues_by_path(doc, workspace)["venues[1].name"].message

    def test_secrets_are_refused_in_client_options(self, workspace: Workspace) -> None:
        doc = edit(demo_sandbox(), ["exec_clients", 0, "options"], {"api_secret": "s3cr3t"})
        issue = issues_by_path(doc, workspace, deep=False)["exec_clients[0]"]
        assert "secrets are not allowed" in issue.message


class TestNautilusRules:
    def test_strategy_path_that_does_not_resolve(self, workspace: Workspace) -> None:
        doc = edit(demo_backtest(), ["strategies", 0, "strategy_path"], "nowhere.mod:Strategy")
        issue = issues_by_path(doc, workspace)["strategies[0].strategy_path"]
        assert "cannot import module 'nowhere.mod'" in issue.message
        assert issue.value == "nowhere.mod:Strategy"

    def test_attribute_missing_and_wrong_class(self, workspace: Workspace) -> None:
        doc = edit(demo_backtest(), ["strategies", 0, "strategy_path"], "decimal:Nope")
        assert (
            "no attribute 'Nope'"
            in issues_by_path(doc, workspace)["strategies[0].strategy_path"].message
        )
        doc = edit(demo_backtest(), ["strategies", 0, "config_path"], "decimal:Decimal")
        assert (
            "subclass of StrategyConfig"
            in issues_by_path(doc, workspace)["strategies[0].config_path"].message
        )

    def test_strategy_config_errors_all_at_once(self, workspace: Workspace) -> None:
        doc = edit(
            demo_backtest(),
            ["strategies", 0, "config"],
            {
                "bar_type": "EUR/USD.SIM-10-SECOND-BID-INTERNAL",
                "trade_size": "-5",
                "fast_ema_period": "ten",
                "colour": "red",
            },
        )
        found = issues_by_path(doc, workspace)
        base = "strategies[0].config"
        assert "required" in found[f"{base}.instrument_id"].message
        assert "positive" in found[f"{base}.trade_size"].message
        assert found[f"{base}.trade_size"].value == "-5"
        assert "int" in found[f"{base}.fast_ema_period"].message
        assert "unknown field" in found[f"{base}.colour"].message
        assert "trade_size" in found[f"{base}.colour"].message  # lists the allowed fields

    def test_strategy_config_bad_identifier(self, workspace: Workspace) -> None:
        doc = edit(demo_backtest(), ["strategies", 0, "config", "bar_type"], "not-a-bar")
        assert "strategies[0].config.bar_type" in issues_by_path(doc, workspace)

    def test_instrument_ids_parse_and_match_a_venue(self, workspace: Workspace) -> None:
        doc = edit(demo_backtest(), ["data", 0, "instrument_ids"], ["EURUSD", "BTCUSDT.BINANCE"])
        found = issues_by_path(doc, workspace)
        assert "SYMBOL.VENUE" in found["data[0].instrument_ids[0]"].message
        assert "BINANCE is not among venues" in found["data[0].instrument_ids[1]"].message

    def test_bar_types_and_notional_keys_parse(self, workspace: Workspace) -> None:
        doc = edit(demo_backtest(), ["data", 0, "data_type"], "Bar")
        doc = edit(doc, ["data", 0, "bar_types"], ["EUR/USD.SIM-10-PARSEC-BID"])
        doc = edit(doc, ["risk", "max_notional_per_order"], {"EURUSD": 5})
        found = issues_by_path(doc, workspace)
        assert "BarType" in found["data[0].bar_types[0]"].message
        assert "instrument id" in found["risk.max_notional_per_order.EURUSD"].message

    def test_missing_catalog_is_refused(self, workspace: Workspace) -> None:
        # A backtest with no data cannot launch: validation refuses what launch would.
        doc = edit(demo_backtest(), ["data", 0, "catalog_path"], "no-such-catalog")
        report = validate_node(doc, workspace)
        assert not report.ok
        (error,) = report.errors
        assert error.path == "data[0].catalog_path"
        assert "does not exist" in error.message

    def test_catalog_path_that_is_not_a_catalog_is_refused(
        self, workspace: Workspace, tmp_path: Path
    ) -> None:
        a_file = tmp_path / "file"
        a_file.write_text("x")
        for path, words in (("/etc", "not a data catalog"), (str(a_file), "is a file")):
            report = validate_node(
                edit(demo_backtest(), ["data", 0, "catalog_path"], path), workspace
            )
            assert [(e.path, words in e.message) for e in report.errors] == [
                ("data[0].catalog_path", True)
            ], path

    def test_instrument_missing_from_the_catalog_is_refused(self, workspace: Workspace) -> None:
        doc = edit(demo_backtest(), ["data", 0, "instrument_ids"], ["GBP/USD.SIM"])
        found = issues_by_path(doc, workspace)
        assert "not in catalog" in found["data[0].instrument_ids[0]"].message

    @pytest.mark.parametrize(
        ("value", "words"),
        [
            ("NaN", "positive"),
            ("inf", "positive"),
            ("-inf", "positive"),
            ("1e400", "largest quantity"),
            ("9" * 400, "largest quantity"),
            ("0." + "1" * 39, "16 decimal places"),
            ("-0", "positive"),
            ("0", "positive"),
        ],
    )
    def test_sizes_nautilus_cannot_represent_are_refused(
        self, workspace: Workspace, value: str, words: str
    ) -> None:
        doc = edit(demo_backtest(), ["strategies", 0, "config", "trade_size"], value)
        found = issues_by_path(doc, workspace)
        assert words in found["strategies[0].config.trade_size"].message

    def test_a_non_size_number_must_be_finite(self, workspace: Workspace) -> None:
        doc = edit(demo_backtest(), ["strategies", 0, "config", "fast_ema_period"], float("inf"))
        assert "strategies[0].config.fast_ema_period" in issues_by_path(doc, workspace)

    def test_balance_beyond_money_range_is_refused(self, workspace: Workspace) -> None:
        doc = edit(demo_backtest(), ["venues", 0, "starting_balances"], ["1" + "0" * 400 + " USD"])
        assert "venues[0].starting_balances[0]" in issues_by_path(doc, workspace)

    def test_valid_config_builds_real_nautilus_objects(self, workspace: Workspace) -> None:
        from nautilus_trader.config import BacktestRunConfig

        from engine.config.model import NodeConfig
        from engine.config.nautilus_build import backtest_run_config

        run = backtest_run_config(NodeConfig.model_validate(demo_backtest()), workspace)
        assert isinstance(run, BacktestRunConfig)
        assert run.venues[0].name == "SIM"
        assert run.data[0].catalog_path == str(workspace.catalog_dir)
        assert run.engine is not None and run.engine.trader_id.value == "DEMO-001"


def test_issue_shape_is_structured(workspace: Workspace) -> None:
    doc = edit(demo_backtest(), ["venues", 0, "name"], "sim")
    issue = issues_by_path(doc, workspace)["venues[0].name"]
    assert issue.to_dict() == {
        "path": "venues[0].name",
        "message": issue.message,
        "value": "sim",
        "severity": "error",
    }
    assert issue.render().startswith("venues[0].name: expected")


def test_non_object_document(workspace: Workspace) -> None:
    report = validate_node([1, 2], workspace)  # type: ignore[arg-type]
    assert not report.ok and report.issues[0].message == "expected a JSON object"


class TestLiveClients:
    """Live nodes name adapter profiles; validation builds the real Nautilus client configs."""

    @staticmethod
    def live_doc(profile: str) -> dict[str, Any]:
        return {
            "node_id": "live-bn",
            "mode": "live",
            "trader_id": "LIVE-001",
            "venues": [{"name": "BINANCE", "account_type": "CASH"}],
            "data_clients": [{"name": "BINANCE", "adapter": "binance", "profile": profile}],
            "exec_clients": [{"name": "BINANCE", "adapter": "binance", "profile": profile}],
        }

    def test_missing_profile_is_named(self, workspace: Workspace) -> None:
        found = issues_by_path(self.live_doc("bn-test"), workspace)
        assert "no adapter profile named 'bn-test'" in found["data_clients[0].profile"].message

    def test_profile_of_another_exchange(self, workspace: Workspace) -> None:
        from engine.adapters.model import parse_profile
        from engine.adapters.store import ProfileStore

        store = ProfileStore(workspace)
        store.create(
            parse_profile({"name": "bn-test", "kind": "binance_spot", "environment": "testnet"})
        )
        assert validate_node(self.live_doc("bn-test"), workspace).ok
        store.create(
            parse_profile({"name": "by-test", "kind": "bybit_linear", "environment": "testnet"})
        )
        doc = self.live_doc("bn-test")
        doc["exec_clients"][0]["profile"] = "by-test"
        issue = issues_by_path(doc, workspace)["exec_clients[0].profile"]
        assert "is a bybit profile; expected a binance one" in issue.message


@pytest.mark.parametrize(
    "value", ["NaN", "sNaN", "-nan", "Infinity", "-inf", "0", "-0", "-5", float("nan")]
)
def test_a_size_that_is_no_positive_number_is_an_issue_not_a_crash(
    value: Any, workspace: Workspace
) -> None:
    # trade_size "NaN" used to raise decimal.InvalidOperation in the deep check (the node
    # form's F5 died of it); every non-finite or non-positive size is an issue on its field.
    doc = edit(demo_sandbox(), ["strategies", 0, "config", "trade_size"], value)
    found = issues_by_path(doc, workspace)
    issue = found["strategies[0].config.trade_size"]
    if isinstance(value, str):
        assert "positive" in issue.message
