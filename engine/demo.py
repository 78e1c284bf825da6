"""The demo workspace: an EMA-cross backtest node and a sandbox node on EUR/USD.

Everything runs offline: the backtest reads a synthetic catalog, the sandbox node trades
against our offline feed with Nautilus's sandbox execution.
"""

from __future__ import annotations

from typing import Any

from engine.config.store import ConfigStore
from engine.workspace import Workspace

DEMO_INSTRUMENT = "EUR/USD.SIM"
DEMO_BAR_TYPE = "EUR/USD.SIM-10-SECOND-BID-INTERNAL"
EMA_CROSS = "nautilus_trader.examples.strategies.ema_cross"


# The sandbox's EMACross decides on its own position, not the node's net position, so a
# trader's manual orders on the same instrument do not make it churn (engine/demo_strategies).
OWN_EMA_CROSS = "engine.demo_strategies"


def _ema_cross(
    trade_size: str = "100000", bar_type: str = DEMO_BAR_TYPE, module: str = EMA_CROSS
) -> dict[str, Any]:
    return {
        "strategy_path": f"{module}:EMACross",
        "config_path": f"{EMA_CROSS}:EMACrossConfig",
        "config": {
            "instrument_id": DEMO_INSTRUMENT,
            "bar_type": bar_type,
            "trade_size": trade_size,
            "fast_ema_period": 10,
            "slow_ema_period": 20,
        },
    }


_SIM_VENUE = {
    "name": "SIM",
    "oms_type": "NETTING",
    "account_type": "MARGIN",
    "base_currency": "USD",
    "starting_balances": ["1000000 USD"],
}


def demo_backtest() -> dict[str, Any]:
    return {
        "node_id": "demo-backtest",
        "mode": "backtest",
        "description": "EMA cross (10/20) on synthetic EUR/USD quotes, 10-second bid bars",
        "trader_id": "DEMO-001",
        "strategies": [_ema_cross()],
        "venues": [dict(_SIM_VENUE, starting_balances=["1000000 USD"])],
        "data": [
            {
                "catalog_path": "catalog",
                "data_type": "QuoteTick",
                "instrument_ids": [DEMO_INSTRUMENT],
            }
        ],
        "tags": ["demo"],
    }


def demo_sandbox() -> dict[str, Any]:
    return {
        "node_id": "demo-sandbox",
        "mode": "sandbox",
        "description": "EMA cross on an offline random-walk EUR/USD feed, sandbox execution",
        "trader_id": "DEMO-002",
        # 1-second bars so a user watching sees fills within a minute.
        "strategies": [
            _ema_cross(bar_type="EUR/USD.SIM-1-SECOND-BID-INTERNAL", module=OWN_EMA_CROSS)
        ],
        "venues": [dict(_SIM_VENUE, starting_balances=["1000000 USD"])],
        "data_clients": [
            {
                "name": "SIM",
                "adapter": "offline",
                "options": {
                    "source": "random_walk",
                    "instrument_ids": [DEMO_INSTRUMENT],
                    "seed": 42,
                },
            }
        ],
        "exec_clients": [{"name": "SIM", "adapter": "sandbox"}],
        "restart": {"policy": "on-failure", "max_restarts": 3},
        "tags": ["demo"],
    }


DEMO_NODES = (demo_backtest, demo_sandbox)


def init_demo(workspace: Workspace, *, overwrite: bool = False) -> list[str]:
    """Write the demo node configs (and data); return what was created.

    Existing nodes are left alone unless ``overwrite``: a user's edits are never lost.
    """
    workspace.ensure()
    store = ConfigStore(workspace)
    created = []
    for make in DEMO_NODES:
        doc = make()
        if not overwrite and store.modes(doc["node_id"]):
            continue
        store.save(doc, deep=False)
        created.append(f"node {doc['node_id']} ({doc['mode']})")
    from engine.data import write_demo_catalog

    if (written := write_demo_catalog(workspace, overwrite=overwrite)) is not None:
        created.append(f"catalog {written.instrument_id} ({written.n_ticks} quote ticks)")
    return created
