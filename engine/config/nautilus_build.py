"""Turn a validated :class:`NodeConfig` into NautilusTrader's own config objects.

The same functions serve validation (so what validates also launches) and the node host.
Nautilus is imported inside functions: the CLI and console import this module cheaply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.config.clients import BuildContext, BuiltClient, ClientUnavailable, builder_for
from engine.config.issues import ConfigInvalid
from engine.config.model import DataSpec, Mode, NodeConfig, RiskSpec, StrategySpec
from engine.workspace import Workspace

if TYPE_CHECKING:
    from nautilus_trader.cache.config import CacheConfig
    from nautilus_trader.config import (
        BacktestRunConfig,
        ImportableStrategyConfig,
        LoggingConfig,
        TradingNodeConfig,
    )


def catalog_path(spec: DataSpec, workspace: Workspace) -> Path:
    """The data spec's catalog directory; relative paths are inside the workspace."""
    path = Path(spec.catalog_path).expanduser()
    return path if path.is_absolute() else workspace.root / path


def importable_strategy(spec: StrategySpec) -> ImportableStrategyConfig:
    from nautilus_trader.config import ImportableStrategyConfig

    return ImportableStrategyConfig(
        strategy_path=spec.strategy_path, config_path=spec.config_path, config=dict(spec.config)
    )


def risk_kwargs(risk: RiskSpec) -> dict[str, Any]:
    # Nautilus takes notionals as ints in its config annotation but accepts Decimals.
    return {
        "bypass": risk.bypass,
        "max_order_submit_rate": risk.max_order_submit_rate,
        "max_order_modify_rate": risk.max_order_modify_rate,
        "max_notional_per_order": {k: str(v) for k, v in risk.max_notional_per_order.items()},
    }


def backtest_run_config(
    node: NodeConfig,
    workspace: Workspace,
    *,
    logging: LoggingConfig | None = None,
    run_analysis: bool = True,
) -> BacktestRunConfig:
    """Build the ``BacktestRunConfig`` for a backtest node."""
    from nautilus_trader.config import (
        BacktestDataConfig,
        BacktestEngineConfig,
        BacktestRunConfig,
        BacktestVenueConfig,
        RiskEngineConfig,
    )

    if node.mode is not Mode.BACKTEST:
        raise ValueError(f"node {node.node_id} is a {node.mode.value} node, not a backtest")
    engine = BacktestEngineConfig(
        trader_id=node.trader_id,
        strategies=[importable_strategy(s) for s in node.strategies],
        risk_engine=RiskEngineConfig(**risk_kwargs(node.risk)),
        logging=logging,
        run_analysis=run_analysis,
    )
    venues = [
        BacktestVenueConfig(
            name=v.name,
            oms_type=v.oms_type,
            account_type=v.account_type,
            base_currency=v.base_currency,
            starting_balances=list(v.starting_balances),
            default_leverage=float(v.default_leverage),
        )
        for v in node.venues
    ]
    data = [
        BacktestDataConfig(
            catalog_path=str(catalog_path(d, workspace)),
            data_cls=_data_cls_path(d),
            instrument_ids=list(d.instrument_ids),
            bar_types=list(d.bar_types) if d.bar_types else None,
            start_time=d.start.isoformat() if d.start else None,
            end_time=d.end.isoformat() if d.end else None,
        )
        for d in node.data
    ]
    return BacktestRunConfig(engine=engine, venues=venues, data=data, dispose_on_completion=False)


def _data_cls_path(spec: DataSpec) -> str:
    return f"nautilus_trader.model.data:{spec.data_type.value}"


@dataclass(frozen=True, slots=True)
class TradingNodeParts:
    """Everything needed to build a ``TradingNode``: its config and the client factories."""

    config: TradingNodeConfig
    data_factories: dict[str, type] = field(default_factory=dict)
    exec_factories: dict[str, type] = field(default_factory=dict)


def trading_node_parts(
    node: NodeConfig,
    workspace: Workspace,
    *,
    secrets: Mapping[str, Mapping[str, str]] | None = None,
    logging: LoggingConfig | None = None,
    cache: CacheConfig | None = None,
) -> TradingNodeParts:
    """Build the ``TradingNodeConfig`` and factories for a sandbox or live node.

    ``secrets`` maps a profile name to its fields; ``None`` while validating. ``cache``:
    the node host passes its Redis-backed cache (``engine.state.target.cache_config``);
    validation builds without one (it needs no Redis).
    """
    from nautilus_trader.config import LiveRiskEngineConfig, TradingNodeConfig

    if node.mode is Mode.BACKTEST:
        raise ValueError(f"node {node.node_id} is a backtest node, not a trading node")

    def build(role: str, index: int, spec: Any) -> BuiltClient:
        profile_secrets = None
        if secrets is not None and spec.profile:
            profile_secrets = secrets.get(spec.profile, {})
        ctx = BuildContext(workspace=workspace, secrets=profile_secrets)
        try:
            return builder_for(role, spec.adapter)(spec, node, ctx)  # type: ignore[arg-type]
        except ClientUnavailable as exc:
            exc.field = f"{role}_clients[{index}].{exc.field}"
            raise
        except ConfigInvalid:
            raise  # issues that already name their fields (e.g. offline feed options)
        except (ValueError, TypeError) as exc:  # bad adapter options
            raise ClientUnavailable(str(exc), f"{role}_clients[{index}].options") from exc

    data = {c.name: build("data", i, c) for i, c in enumerate(node.data_clients)}
    execs = {c.name: build("exec", i, c) for i, c in enumerate(node.exec_clients)}
    config = TradingNodeConfig(
        trader_id=node.trader_id,
        strategies=[importable_strategy(s) for s in node.strategies],
        data_clients={k: v.config for k, v in data.items()},
        exec_clients={k: v.config for k, v in execs.items()},
        risk_engine=LiveRiskEngineConfig(**risk_kwargs(node.risk)),
        logging=logging,
        cache=cache,
    )
    return TradingNodeParts(
        config=config,
        data_factories={k: v.factory for k, v in data.items()},
        exec_factories={k: v.factory for k, v in execs.items()},
    )
