"""Run a backtest node: preflight checks, a BacktestNode with the gateway actor, results.

The ``BacktestRunConfig`` comes from :func:`engine.config.nautilus_build.backtest_run_config`
unchanged except for logging (to a JSON file in the run directory) and
``raise_exception=True`` (a failure must fail the run, not be logged and skipped).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.config.model import DataSpec, NodeConfig
from engine.config.nautilus_build import backtest_run_config, catalog_path
from engine.config.validate import resolve_import
from engine.host.events import Publish
from engine.runs import LOG_FILE_STEM
from engine.workspace import Workspace


class HostError(Exception):
    """A failure with a clear cause: which field, which value, what was expected."""

    def __init__(self, message: str, *, field: str | None = None, phase: str = "preflight"):
        super().__init__(message)
        self.field = field
        self.phase = phase


@dataclass(frozen=True, slots=True)
class BacktestOutcome:
    """What the run gave: Nautilus's result and the engine (for reports), and if stopped."""

    engine: Any
    result: Any
    run_wall_s: float
    run_cpu_s: float
    stopped: bool


def _data_cls(spec: DataSpec) -> Any:
    from nautilus_trader.model import data as model_data

    return getattr(model_data, spec.data_type.value)


def preflight(node: NodeConfig, workspace: Workspace) -> tuple[int | None, int | None]:
    """Check imports, catalogs and instruments; return the data's time range (ns).

    Raises
    ------
    HostError
        Naming the field, the value and what was expected.
    """
    from nautilus_trader.persistence.catalog import ParquetDataCatalog

    for i, strategy in enumerate(node.strategies):
        for name in ("strategy_path", "config_path"):
            try:
                resolve_import(getattr(strategy, name))
            except ImportError as exc:
                raise HostError(
                    f"strategies[{i}].{name}: {getattr(strategy, name)!r} does not resolve: {exc}",
                    field=f"strategies[{i}].{name}",
                ) from None
    if not node.data:
        raise HostError("data: a backtest needs at least one data section", field="data")
    starts: list[int] = []
    ends: list[int] = []
    for i, spec in enumerate(node.data):
        path = catalog_path(spec, workspace)
        if not path.is_dir():
            raise HostError(
                f"data[{i}].catalog_path: catalog {path} does not exist "
                "(create it: gateway demo init, or gateway data synth)",
                field=f"data[{i}].catalog_path",
            )
        catalog = ParquetDataCatalog(str(path))
        known = sorted(inst.id.value for inst in catalog.instruments())
        for j, iid in enumerate(spec.instrument_ids):
            if iid not in known:
                raise HostError(
                    f"data[{i}].instrument_ids[{j}]: instrument {iid} is not in catalog {path} "
                    f"(it has: {', '.join(known) or 'no instruments'})",
                    field=f"data[{i}].instrument_ids[{j}]",
                )
            keys = spec.bar_types or [iid]
            for key in keys:
                intervals = catalog.get_intervals(_data_cls(spec), key)
                if intervals:
                    starts.append(intervals[0][0])
                    ends.append(intervals[-1][1])
        if not starts:
            raise HostError(
                f"data[{i}]: catalog {path} has no {spec.data_type.value} data for "
                f"{', '.join(spec.instrument_ids)}",
                field=f"data[{i}]",
            )
    start, end = min(starts), max(ends)
    for data in node.data:
        if data.start is not None:
            start = max(start, int(data.start.timestamp() * 1e9))
        if data.end is not None:
            end = min(end, int(data.end.timestamp() * 1e9))
    return start, end


def logging_config(run_dir: Path, level: str) -> Any:
    """Nautilus logging to a JSON file in the run directory only (nothing on stdout).

    The host's log tailer has the file flushed several times a second so lines reach
    clients at once (``engine.host.logtail``); an fsync on each of those flushes would
    only cost disk writes (the host's journal is what must survive a crash).
    """
    from nautilus_trader.config import LoggingConfig

    return LoggingConfig(
        log_level="OFF",
        log_level_file=level,
        log_directory=str(run_dir),
        log_file_name=LOG_FILE_STEM,
        log_file_format="JSON",
        bypass_logging=False,
        fileout_sync_on_flush=False,
    )


def run_backtest(
    node: NodeConfig,
    workspace: Workspace,
    run_dir: Path,
    publish: Publish,
    *,
    on_running: Callable[[], None],
    stop_requested: Callable[[], bool],
) -> BacktestOutcome:
    """Build and run the backtest with the gateway actor; return the outcome."""
    import msgspec
    from nautilus_trader.backtest.node import BacktestNode
    from nautilus_trader.common.component import is_backtest_force_stop

    from engine.host.actor import GatewayActor
    from engine.risk.guard import RiskGuard
    from engine.risk.store import RiskState
    from engine.telemetry.host_hooks import attach_telemetry

    start_ns, end_ns = preflight(node, workspace)
    config = backtest_run_config(node, workspace, logging=logging_config(run_dir, node.log_level))
    config = msgspec.structs.replace(config, raise_exception=True)
    bt_node = BacktestNode(configs=[config])
    try:
        bt_node.build()
    except Exception as exc:
        raise HostError(f"building the backtest failed: {exc}", phase="build") from exc
    engine = bt_node.get_engine(config.id)
    gateway = GatewayActor(
        publish,
        start_ns=start_ns,
        end_ns=end_ns,
        on_running=on_running,
        stop_requested=stop_requested,
    )
    engine.add_actor(gateway)
    # The same pre-trade checks as a live node, from the config's limits (not persisted:
    # a backtest always starts ACTIVE).
    RiskGuard(
        engine.kernel,
        RiskState("ACTIVE", node.risk.limits),
        instrument_notional=dict(node.risk.max_notional_per_order),
        publish=publish,
        hedging_venues=frozenset(v.name for v in node.venues if v.oms_type == "HEDGING"),
    ).install()
    telemetry = attach_telemetry(engine, node, workspace, publish)
    # No extra clock for the engine to advance at every tick (~0.5% of a run each); the
    # metrics actor shares the kernel's clock too (telemetry's install does it).
    gateway.share_kernel_clock(engine)
    started, started_cpu = time.perf_counter(), time.thread_time()
    results = bt_node.run()
    wall, cpu = time.perf_counter() - started, time.thread_time() - started_cpu
    telemetry.finish()
    if not results:
        raise HostError("the backtest gave no result", phase="run")
    return BacktestOutcome(engine, results[0], wall, cpu, is_backtest_force_stop())
