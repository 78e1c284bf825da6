"""Kill -9 a trading sandbox node's host, again and again, and check each recovery.

Shared by ``tests/integration/test_recovery_kill.py`` (a few kills in ``make test``) and
``bench/bench_recovery.py`` (20 kills, the kill -9 to running figure). A real node host, a
real supervisor restarting it, a real strategy trading (``churn_strategy``) between kills.
"""

from __future__ import annotations

import asyncio
import copy
import os
import random
import signal
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.config.store import ConfigStore
from engine.demo import demo_sandbox
from engine.host.paths import pid_file
from engine.journal import JournalReader
from engine.principal import Principal
from engine.recovery import service
from engine.recovery.venue_store import load_book
from engine.recovery.views import RECONCILIATION, STATE_BASELINE
from engine.runs import read_json, read_meta, run_path
from engine.workspace import Workspace
from tests.integration.churn_strategy import churning

IID = "EUR/USD.SIM"


def churn_node(node_id: str, *, restarts: int = 100) -> dict[str, Any]:
    """A sandbox node whose strategy trades all the time, restarted at once on failure."""
    doc = copy.deepcopy(demo_sandbox())
    doc.update(
        node_id=node_id, trader_id="CHURN-001", strategies=[churning("01", instrument_id=IID)]
    )
    doc["restart"] = {"policy": "on-failure", "max_restarts": restarts, "backoff_seconds": 0}
    doc["data_clients"][0]["options"].update(rate=20, volatility_bp=0.2, start_prices={IID: 1.1})
    doc["risk"] = {"max_order_submit_rate": "1000/00:00:01"}
    doc["alerts"] = []
    return doc


def save_node(ws: Workspace, doc: dict[str, Any]) -> None:
    ConfigStore(ws).save(doc, deep=False)


@dataclass
class KillRound:
    """One kill -9 and what the restarted run found."""

    killed_run: str
    new_run: str
    restart_s: float  # kill -9 to the new run ``running`` with its state restored
    venue_orders_at_kill: list[str]
    venue_positions_at_kill: dict[str, str]
    killed_last_seq: int
    killed_seq_base: int
    baseline: dict[str, Any]
    reconciliation: dict[str, Any]
    accepted: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)


def _events(run_dir: Path, types: set[str]) -> dict[str, dict[str, Any]]:
    reader = JournalReader(run_dir)
    try:
        return {e.type: e.payload for e in reader.read() if e.type in types}
    finally:
        reader.close()


def wait_new_run(ws: Workspace, node_id: str, old_run: str, limit_s: float = 60) -> str:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        data = read_json(pid_file(ws, node_id)) or {}
        run_id = data.get("run_id")
        if run_id not in (None, old_run):
            meta = read_meta(run_path(ws, node_id, run_id))
            if meta is not None and meta.state == "running":
                return str(run_id)
            if meta is not None and meta.state == "failed":
                raise AssertionError(f"run {run_id} failed: {meta.error}")
        time.sleep(0.02)
    raise AssertionError(f"{node_id} not running again within {limit_s}s of the kill")


def kill_once(
    ws: Workspace, node_id: str, rng: random.Random, trade_s: tuple[float, float]
) -> KillRound:
    """Let the strategy trade a random while, kill -9 the host, wait for the next run."""
    time.sleep(rng.uniform(*trade_s))
    host = read_json(pid_file(ws, node_id))
    assert host is not None, "no host to kill"
    os.kill(int(host["pid"]), signal.SIGKILL)
    killed_at = time.monotonic()
    killed = str(host["run_id"])
    # The venue's memory as the kill left it (no writer now: its host is dead).
    book = load_book(ws, node_id, "SIM").to_dict()  # the stored book, its log replayed
    new_run = wait_new_run(ws, node_id, killed)
    restart_s = time.monotonic() - killed_at
    killed_dir = run_path(ws, node_id, killed)
    reader = JournalReader(killed_dir)
    last_seq = reader.last_seq()
    reader.close()
    killed_meta = read_meta(killed_dir)
    found = _events(run_path(ws, node_id, new_run), {STATE_BASELINE, RECONCILIATION})
    return KillRound(
        killed_run=killed,
        new_run=new_run,
        restart_s=restart_s,
        venue_orders_at_kill=[o["client_order_id"] for o in book["orders"]],
        venue_positions_at_kill={
            p["instrument_id"]: p["net"] for p in book["positions"] if float(p["net"]) != 0
        },
        killed_last_seq=last_seq,
        killed_seq_base=int((killed_meta.extra if killed_meta else {}).get("seq_base", 0)),
        baseline=found.get(STATE_BASELINE, {}),
        reconciliation=found.get(RECONCILIATION, {}),
    )


def settle(ws: Workspace, node_id: str, round_: KillRound) -> KillRound:
    """When the restarted node is HALTED on a difference, accept the venue's view (what the
    runbook tells a user), and say whether all three agree afterwards."""
    if round_.reconciliation.get("agree"):
        return round_
    outcome = asyncio.run(service.accept_venue(ws, node_id, Principal.local("kill-test")))
    round_.accepted = outcome.to_dict()
    return round_


def check(round_: KillRound) -> list[str]:
    """What is wrong with one recovery (empty: every order and position there exactly once,
    the journal's sequence continued)."""
    bad: list[str] = []
    rec, base = round_.reconciliation, round_.baseline
    if not rec:
        return [f"{round_.new_run}: no Reconciliation event"]
    venue_rows = [r for r in rec["orders"] if r["venue"] != "-"]
    venue_now = sorted(r["key"] for r in venue_rows)
    if venue_now != sorted(round_.venue_orders_at_kill):
        bad.append(
            f"venue orders at kill {sorted(round_.venue_orders_at_kill)} != restored {venue_now}"
        )
    if len(set(venue_now)) != len(venue_now):
        bad.append(f"an order twice at the venue: {venue_now}")
    restored = {r["key"]: r["venue"] for r in rec["positions"] if r["venue"] != "flat"}
    at_kill = {
        iid: f"{'long' if Decimal(net) > 0 else 'short'} {abs(Decimal(net)).normalize():f}"
        for iid, net in round_.venue_positions_at_kill.items()
    }
    if restored != at_kill:
        bad.append(f"venue positions at kill {at_kill}, restored {restored}")
    if any("duplicated" in r.get("note", "") for r in rec["orders"]):
        bad.append(f"duplicated orders in the cache: {rec['orders']}")
    final = rec if round_.accepted is None else round_.accepted
    if not final.get("agree"):
        bad.append(f"journal, cache and venue still differ: {final.get('summary')}")
    if round_.accepted is not None:
        cache_working = sorted(r["key"] for r in round_.accepted["orders"] if r["cache"] != "-")
        venue_working = sorted(r["key"] for r in round_.accepted["orders"] if r["venue"] != "-")
        if cache_working != venue_working:
            bad.append(f"after accepting: cache {cache_working} != venue {venue_working}")
    if base.get("previous_run_id") != round_.killed_run:
        bad.append(f"baseline names run {base.get('previous_run_id')}, killed {round_.killed_run}")
    if base.get("previous_last_seq") != round_.killed_last_seq:
        bad.append(
            f"journal seq: killed run ended at {round_.killed_last_seq}, "
            f"baseline says {base.get('previous_last_seq')}"
        )
    if base.get("seq_base") != round_.killed_seq_base + round_.killed_last_seq:
        bad.append(
            f"node seq base {base.get('seq_base')} != "
            f"{round_.killed_seq_base} + {round_.killed_last_seq}"
        )
    return bad
