"""The quiet sandbox node most order tests run: the demo sandbox config with no strategy
(only what the test sends trades), no restart policy, and an offline feed walking EUR/USD
around 1.1 by 0.5 bp steps, 20 quotes a second."""

from __future__ import annotations

import copy
from typing import Any

from engine.demo import demo_sandbox

IID = "EUR/USD.SIM"


def quiet_sandbox(node_id: str, **fields: Any) -> dict[str, Any]:
    """The config document; ``fields`` replace top-level ones (``trader_id``, ``risk`` …)."""
    doc = copy.deepcopy(demo_sandbox())
    doc.update(node_id=node_id, strategies=[], **fields)
    doc.pop("restart", None)
    doc["data_clients"][0]["options"].update(rate=20, volatility_bp=0.5, start_prices={IID: 1.1})
    return doc
