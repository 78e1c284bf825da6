"""Property tests: store round-trips, and validation that never crashes."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.config.model import NodeConfig
from engine.config.store import ConfigStore
from engine.config.validate import validate_node
from engine.demo import demo_backtest, demo_sandbox
from engine.workspace import Workspace

SETTINGS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

slugs = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
venue_names = st.from_regex(r"[A-Z][A-Z0-9_]{0,8}", fullmatch=True)
amounts = st.integers(min_value=1, max_value=10**9).map(str)
currencies = st.sampled_from(["USD", "EUR", "USDT", "BTC", "JPY"])
text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)


@st.composite
def backtest_configs(draw: st.DrawFn) -> dict[str, Any]:
    venues = draw(st.lists(venue_names, min_size=1, max_size=3, unique=True))
    doc = demo_backtest()
    doc.update(
        node_id=draw(slugs),
        description=draw(text).strip(),
        trader_id=draw(st.from_regex(r"[A-Z]{1,6}-[0-9]{3}", fullmatch=True)),
        venues=[
            {
                "name": name,
                "oms_type": draw(st.sampled_from(["NETTING", "HEDGING"])),
                "account_type": draw(st.sampled_from(["CASH", "MARGIN"])),
                "base_currency": draw(st.none() | currencies),
                "starting_balances": [f"{draw(amounts)} {draw(currencies)}"],
            }
            for name in venues
        ],
        data=[
            {
                "catalog_path": "catalog",
                "data_type": draw(st.sampled_from(["QuoteTick", "TradeTick"])),
                "instrument_ids": [f"EUR/USD.{venues[0]}"],
            }
        ],
        risk={
            "bypass": draw(st.booleans()),
            "max_notional_per_order": draw(
                st.dictionaries(st.just(f"EUR/USD.{venues[0]}"), amounts, max_size=1)
            ),
        },
        log_level=draw(st.sampled_from(["DEBUG", "INFO", "WARNING", "ERROR"])),
        restart={
            "policy": draw(st.sampled_from(["never", "on-failure"])),
            "max_restarts": draw(st.integers(0, 100)),
        },
        tags=draw(st.lists(st.from_regex(r"[a-z]{1,10}", fullmatch=True), max_size=3)),
    )
    doc["strategies"][0]["config"]["instrument_id"] = f"EUR/USD.{venues[0]}"
    doc["strategies"][0]["config"]["bar_type"] = f"EUR/USD.{venues[0]}-10-SECOND-BID-INTERNAL"
    doc["strategies"][0]["config"]["trade_size"] = draw(amounts)
    return doc


def _catalog_with(workspace: Workspace, instrument_id: str) -> None:
    # Deep validation wants the backtest's instrument in its catalog (as launch does).
    from nautilus_trader.persistence.catalog import ParquetDataCatalog

    from engine.data.synth import provider_instrument

    catalog = ParquetDataCatalog(str(workspace.catalog_dir))
    catalog.write_data([provider_instrument(instrument_id)])


@SETTINGS
@given(doc=backtest_configs())
def test_valid_configs_round_trip_through_the_store_unchanged(
    tmp_path_factory: Any, doc: dict[str, Any]
) -> None:
    workspace = Workspace(tmp_path_factory.mktemp("ws")).ensure()
    _catalog_with(workspace, doc["data"][0]["instrument_ids"][0])
    store = ConfigStore(workspace)
    report = store.save(doc)
    assert report.ok, [i.render() for i in report.issues]
    original = NodeConfig.model_validate(doc)
    assert store.get(original.node_id) == original
    # Saving what was loaded writes the same bytes: nothing drifts across round trips.
    path = store.path_for(original.node_id, original.mode)
    first = path.read_bytes()
    store.save(store.get(original.node_id))
    assert path.read_bytes() == first


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated_configs(draw: st.DrawFn) -> dict[str, Any]:
    doc = copy.deepcopy(draw(st.sampled_from([demo_backtest(), demo_sandbox()])))
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(doc)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent: Any = doc
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(JSON_VALUES)
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(text)] = draw(JSON_VALUES)
    return doc


@SETTINGS
@given(doc=mutated_configs())
def test_random_mutations_never_crash_validation(tmp_path: Path, doc: dict[str, Any]) -> None:
    report = validate_node(doc, Workspace(tmp_path), deep=True)
    if not report.ok:
        assert report.errors
    for issue in report.issues:
        assert isinstance(issue.path, str) and issue.message
        json.dumps(issue.to_dict())  # structured data, always serialisable
