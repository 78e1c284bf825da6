"""Fixtures for console tests: a demo workspace, a frozen clock, a fixed event stream."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from console.app import GatewayApp
from console.services import WorkspaceServices
from console.settings import load_settings
from engine.config.store import ConfigStore
from engine.demo import DEMO_NODES
from engine.events.envelope import Envelope
from engine.workspace import Workspace
from themes.loader import load_themes

T0_NS = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z
FROZEN_NOW = T0_NS / 1e9 + 3723.0  # one hour, two minutes, three seconds later


def sample_envelopes() -> list[Envelope]:
    """A fixed stream: a sandbox node starting, orders, a fill, a position, risk, metrics."""

    def env(seq: int, kind: str, type_: str, payload: dict[str, object]) -> Envelope:
        return Envelope(
            seq, T0_NS + seq * 250_000_000, "demo-sandbox", "run-1", kind, type_, payload
        )

    order = {
        "client_order_id": "O-0001",
        "instrument_id": "EUR/USD.SIM",
        "order_side": "BUY",
        "order_type": "MARKET",
        "quantity": "100000",
    }
    out = [
        env(
            1,
            "node",
            "NodeStateChanged",
            {"state": "starting", "previous": "created", "mode": "sandbox"},
        ),
        env(
            2,
            "node",
            "NodeStateChanged",
            {"state": "running", "previous": "starting", "mode": "sandbox"},
        ),
        env(
            3, "log", "LogLine", {"level": "INFO", "component": "TradingNode", "message": "RUNNING"}
        ),
        env(4, "order", "OrderInitialized", order),
        env(5, "order", "OrderSubmitted", {"client_order_id": "O-0001"}),
        env(6, "order", "OrderAccepted", {"client_order_id": "O-0001"}),
        env(
            7,
            "order",
            "OrderFilled",
            {"client_order_id": "O-0001", "last_qty": "100000", "last_px": "1.10012"},
        ),
        env(
            8,
            "position",
            "PositionOpened",
            {
                "position_id": "EUR/USD.SIM-EMACross-000",
                "instrument_id": "EUR/USD.SIM",
                "side": "LONG",
                "quantity": "100000",
                "avg_px_open": "1.10012",
                "unrealized_pnl": "12.00 USD",
                "realized_pnl": "-2.00 USD",
            },
        ),
        env(
            9,
            "order",
            "OrderInitialized",
            {
                **order,
                "client_order_id": "O-0002",
                "order_side": "SELL",
                "order_type": "LIMIT",
                "options": {"price": "1.10500"},  # where Nautilus's OrderInitialized has it
            },
        ),
        env(10, "order", "OrderAccepted", {"client_order_id": "O-0002"}),
        env(
            11,
            "order",
            "OrderDenied",
            {
                "client_order_id": "O-0003",
                "instrument_id": "EUR/USD.SIM",
                "reason": "max_notional_per_order",
            },
        ),
        env(12, "risk", "TradingStateChanged", {"state": "REDUCING"}),
        env(
            13,
            "log",
            "LogLine",
            {"level": "WARNING", "component": "RiskEngine", "message": "trading state REDUCING"},
        ),
        env(
            14,
            "log",
            "LogLine",
            {"level": "ERROR", "component": "ExecEngine", "message": "order O-0003 denied"},
        ),
        env(
            15,
            "alert",
            "AlertRaised",
            {
                "alert_id": "demo-sandbox:drawdown:drawdown.USD.pct",
                "rule": "drawdown",
                "node_id": "demo-sandbox",
                "metric": "drawdown.USD.pct",
                "op": ">",
                "threshold": 1.5,
                "value": 2.1,
                "severity": "warning",
                "message": "drawdown raised on demo-sandbox: drawdown.USD.pct = 2.1 (> 1.5)",
                "raised_ts_ns": T0_NS + 15 * 250_000_000,
                "ts_ns": T0_NS + 15 * 250_000_000,
            },
        ),
    ]
    for i, equity in enumerate((1_000_000, 1_000_040, 999_980, 1_000_120, 1_000_010)):
        out.append(env(16 + i, "metric", "MetricsSample", metrics_sample(i, float(equity))))
    return out


def metrics_sample(i: int, equity: float) -> dict[str, object]:
    """A ``MetricsSample`` payload shaped as engine/telemetry/sampler.py documents it."""
    pnl = equity - 1_000_000
    return {
        "schema": 1,
        "seq": i,
        "reason": "interval",
        "mode": "live",
        "pnl": {
            "total": {"USD": {"realized": -2.0, "unrealized": pnl + 2.0, "total": pnl}},
            "by_strategy": {"EMACross-000": {"USD": {"total": pnl}}},
        },
        "accounts": {"SIM": {"account_id": "SIM-001", "equity": {"USD": equity}}},
        "drawdown": {"USD": {"equity": equity, "peak": 1_000_120.0, "abs": 0.0, "pct": 0.011}},
        "orders": {"total": 3, "open": 1},
        "positions": {"open": 1, "closed": 0},
        "latency_ms": {
            "submit_to_accept": {"p50": 1.2 + i / 10, "p99": 4.0 + i, "max": 9.0, "count": 2},
            "submit_to_fill": {"p50": 2.0, "p99": 6.0, "max": 9.0, "count": 1},
        },
        "process": {"pid": 4242, "cpu_percent": 12.5, "rss_bytes": (180 + i * 4) * 1_048_576},
        "loop": {"lag_ms": 0.4, "lag_max_ms": 1.1},
        "feed": {"data_count": 1000 + i, "data_rate": 50.0, "data_idle_s": 0.1},
    }


@pytest.fixture
def workspace(tmp_path: Path, tiny_catalog: Path) -> Workspace:
    # The demo nodes and a tiny catalog with their instrument (a backtest form validates
    # only with it), not init_demo's 30,000 ticks: the UI tests need configs, not data.
    ws = Workspace(tmp_path / ".gateway").ensure()
    shutil.copytree(tiny_catalog, ws.catalog_dir, dirs_exist_ok=True)
    store = ConfigStore(ws)
    for make in DEMO_NODES:
        store.save(make(), deep=False)
    return ws


AppFactory = Callable[..., GatewayApp]


@pytest.fixture
def make_app(workspace: Workspace) -> AppFactory:
    """Build a console on the demo workspace with a frozen clock."""

    def make(theme: str | None = None, events: bool = False) -> GatewayApp:
        settings = load_settings(workspace.settings_path)
        if theme is not None:
            settings = type(settings)(settings.settings.model_copy(update={"theme": theme}))
        app = GatewayApp(
            WorkspaceServices(workspace),
            settings=settings,
            settings_path=workspace.settings_path,
            themes=load_themes(workspace.root / "themes"),
            clock=lambda: FROZEN_NOW,
        )
        if events:
            app.preload = sample_envelopes()  # type: ignore[attr-defined]
        return app

    return make
