"""Build the offline feed's Nautilus client config from a node's ``data_clients`` entry.

Registered in :data:`engine.config.clients.BUILDERS` as the ``offline`` data adapter.
Options are validated here, so ``validate_node(deep=True)`` reports a bad option with its
full path (``data_clients[0].options.rate``) before a node is ever launched.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from engine.config.clients import BuildContext, BuiltClient
from engine.config.issues import ConfigIssue, join_path
from engine.config.model import ClientSpec, NodeConfig
from engine.feed.options import (
    FeedOptions,
    FeedOptionsInvalid,
    RandomWalkOptions,
    ReplayOptions,
    parse_options,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def options_path(spec: ClientSpec, node: NodeConfig) -> str:
    """The path of ``spec.options`` in the node config, e.g. ``data_clients[0].options``."""
    for i, client in enumerate(node.data_clients):
        if client is spec or client.name == spec.name:
            return f"data_clients[{i}].options"
    return "options"


def build_offline_data(spec: ClientSpec, node: NodeConfig, ctx: BuildContext) -> BuiltClient:
    """Return the offline data client config and factory for ``spec``.

    Raises
    ------
    FeedOptionsInvalid
        A ``ValueError`` whose ``issues`` name each bad field, e.g.
        ``data_clients[0].options.instrument_ids[1]``.
    """
    from nautilus_trader.config import RoutingConfig

    from engine.feed.client import OfflineDataClientFactory
    from engine.feed.config import OfflineDataClientConfig

    base = options_path(spec, node)
    options = parse_options(spec.options, base)
    _check_instruments(options, base)
    venues = frozenset(i.rsplit(".", 1)[1] for i in options.instrument_ids)
    common = {
        "source": options.source,
        "instrument_ids": tuple(options.instrument_ids),
        "trades": options.trades,
        "routing": RoutingConfig(venues=venues),
    }
    if isinstance(options, RandomWalkOptions):
        config = OfflineDataClientConfig(
            **common,
            seed=options.seed,
            rate=None if options.rate == "max" else float(options.rate),
            volatility_bp=options.volatility_bp,
            spread_ticks=options.spread_ticks,
            trade_every=options.trade_every,
            start_prices=dict(options.start_prices) or None,
            history_bars=options.history_bars,
            quote_size=options.quote_size,
            book_levels=options.book_levels,
        )
    else:
        config = OfflineDataClientConfig(
            **common,
            catalog_path=str(replay_catalog(options, ctx)),
            speed=None if options.speed == "max" else float(options.speed),
            start_ns=_ns(options.start),
            end_ns=_ns(options.end),
        )
    return BuiltClient(config=config, factory=OfflineDataClientFactory)


def replay_catalog(options: ReplayOptions, ctx: BuildContext) -> Path:
    """The replay's catalog directory; relative paths are inside the workspace."""
    path = Path(options.catalog_path).expanduser()
    return path if path.is_absolute() else ctx.workspace.root / path


def _check_instruments(options: FeedOptions, base: str) -> None:
    from nautilus_trader.model.identifiers import InstrumentId

    from engine.feed.instruments import provider_instrument

    issues = []
    for i, iid in enumerate(options.instrument_ids):
        path = join_path(base, "instrument_ids", i)
        try:
            if isinstance(options, RandomWalkOptions):
                provider_instrument(iid)  # replay takes definitions from its catalog
            else:
                InstrumentId.from_str(iid)
        except ValueError as exc:
            issues.append(ConfigIssue(path, str(exc), iid))
    if issues:
        raise FeedOptionsInvalid(issues)


def _ns(value: datetime | None) -> int | None:
    # Naive date-times are UTC, as in Nautilus.
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - _EPOCH) // timedelta(microseconds=1) * 1_000
