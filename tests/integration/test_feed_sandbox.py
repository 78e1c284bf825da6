"""A sandbox TradingNode on the offline feed trades end to end with no network.

Each node runs in its own process (one Nautilus kernel per process), through
``python -m engine.feed.trial``, which builds it as a node host does and prints JSON.
"""

from __future__ import annotations

import copy
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from engine.demo import demo_sandbox
from engine.feed.trial import quote_key
from engine.workspace import Workspace


def run_trial(doc: dict[str, Any], workspace: Workspace, *args: str) -> dict[str, Any]:
    path = workspace.root / "node.json"
    path.write_text(json.dumps(doc))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "engine.feed.trial",
            str(path),
            "--workspace",
            str(workspace.root),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return summary


def test_demo_sandbox_ema_cross_fills_orders(workspace: Workspace) -> None:
    doc = copy.deepcopy(demo_sandbox())
    # One-second bars so the test sees bars close; the feed answers EMACross's bar request
    # with seeded history, so the indicators are warm from the first live bar.
    doc["strategies"][0]["config"]["bar_type"] = "EUR/USD.SIM-1-SECOND-BID-INTERNAL"
    doc["data_clients"][0]["options"]["rate"] = 20

    summary = run_trial(doc, workspace, "--seconds", "4")

    assert summary["fills"] >= 1, summary
    assert summary["positions"] >= 1
    fill = summary["fill_detail"][0]
    assert (fill["instrument_id"], fill["qty"]) == ("EUR/USD.SIM", "100000")
    assert summary["counts"]["quotes"] > 0 and summary["counts"]["trades"] > 0
    assert summary["counts"]["bars"] >= 1
    # The walk keeps its configured rate (20 quotes/s), give or take a start-up tick.
    assert 0.6 * 20 * summary["run_s"] <= summary["counts"]["quotes"] <= 20 * summary["run_s"] + 25


def write_catalog(path: Path, count: int) -> str:
    """Write ``count`` EUR/USD.SIM quotes (a seeded walk) into an empty catalog at ``path``
    (the workspace fixture's few quotes removed) and return their digest."""
    import shutil

    shutil.rmtree(path, ignore_errors=True)
    import numpy as np
    from nautilus_trader.model.data import QuoteTick
    from nautilus_trader.model.identifiers import Venue
    from nautilus_trader.model.objects import Price, Quantity
    from nautilus_trader.persistence.catalog import ParquetDataCatalog
    from nautilus_trader.test_kit.providers import TestInstrumentProvider

    instrument = TestInstrumentProvider.default_fx_ccy("EUR/USD", Venue("SIM"))
    rng = np.random.default_rng(7)
    bids = 110_000 + np.cumsum(rng.integers(-3, 4, count))
    size = Quantity.from_int(1_000_000)
    t0 = 1_704_067_200_000_000_000  # 2024-01-01
    quotes = [
        QuoteTick(
            instrument.id,
            Price(b / 100_000, 5),
            Price((b + 2) / 100_000, 5),
            size,
            size,
            t0 + i * 100_000_000,
            t0 + i * 100_000_000,
        )
        for i, b in enumerate(bids)
    ]
    catalog = ParquetDataCatalog(str(path))
    catalog.write_data([instrument])
    catalog.write_data(quotes)
    return hashlib.sha256("".join(quote_key(q) for q in quotes).encode()).hexdigest()


def test_replay_at_max_speed_delivers_every_quote_in_order(workspace: Workspace) -> None:
    count = 3_000
    digest = write_catalog(workspace.root / "catalog", count)
    doc = copy.deepcopy(demo_sandbox())
    doc["data_clients"][0]["options"] = {
        "source": "replay",
        "instrument_ids": ["EUR/USD.SIM"],
        "speed": "max",
    }

    summary = run_trial(doc, workspace, "--seconds", "20", "--until-replayed")

    assert summary["replay_finished"], summary
    assert summary["published"] == count
    assert summary["counts"]["quotes"] == count
    assert summary["quote_digest"] == digest  # same quotes, same order


def test_replay_keeps_the_chosen_speed(workspace: Workspace) -> None:
    # 600 quotes 100 ms apart: one minute of market, three seconds at 20x.
    digest = write_catalog(workspace.root / "catalog", 600)
    doc = copy.deepcopy(demo_sandbox())
    doc["data_clients"][0]["options"] = {
        "source": "replay",
        "instrument_ids": ["EUR/USD.SIM"],
        "speed": 20,
    }

    summary = run_trial(doc, workspace, "--seconds", "20", "--until-replayed")

    assert summary["replay_finished"] and summary["quote_digest"] == digest
    assert 2.5 <= summary["run_s"] <= 6.0, summary["run_s"]
