"""The node configuration: one pydantic model for backtest, sandbox and live nodes.

Structural rules live here (types, slugs, ranges, which sections each mode needs), so
they run instantly in a form; :mod:`engine.config.validate` adds the checks that need
NautilusTrader (import paths, strategy configs, identifiers).
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from engine.risk.limits import RiskLimits
from engine.telemetry.alerts import AlertRule

SCHEMA_VERSION: Literal[1] = 1

NODE_ID_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"
NodeId = Annotated[str, StringConstraints(pattern=NODE_ID_PATTERN)]
# Nautilus TraderId: NAME-TAG, e.g. TRADER-001.
TraderId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]+-[A-Za-z0-9_]+$")]
VenueName = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]{0,31}$")]
ImportPath = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$", max_length=300)
]
# "1000000 USD": an amount and a currency code, as Nautilus's Money.from_str reads it.
Balance = Annotated[str, StringConstraints(pattern=r"^\d+(\.\d+)? [A-Z0-9]{2,10}$")]
Rate = Annotated[str, StringConstraints(pattern=r"^\d+/\d{2}:\d{2}:\d{2}$")]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class Mode(StrEnum):
    BACKTEST = "backtest"
    SANDBOX = "sandbox"
    LIVE = "live"


class _Model(BaseModel):
    # Nautilus configs forbid unknown fields; so do we: a typo is an error, not a no-op.
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class StrategySpec(_Model):
    """A strategy to load: its class, its config class, and the config's values."""

    strategy_path: ImportPath = Field(description="module:Class of the Strategy")
    config_path: ImportPath = Field(description="module:Class of its StrategyConfig")
    config: dict[str, Any] = Field(default_factory=dict, description="values for config_path")


class VenueSpec(_Model):
    """A trading venue as the node's account sees it."""

    name: VenueName = Field(description="venue id, upper case, e.g. SIM or BINANCE")
    oms_type: Literal["NETTING", "HEDGING"] = "NETTING"
    account_type: Literal["CASH", "MARGIN", "BETTING"] = "MARGIN"
    base_currency: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{2,10}$")] | None = None
    starting_balances: list[Balance] = Field(
        default_factory=list, description='e.g. ["1000000 USD"]; backtest and sandbox only'
    )
    default_leverage: Annotated[Decimal, Field(gt=0, le=1000)] = Decimal(1)


class DataType(StrEnum):
    QUOTE_TICK = "QuoteTick"
    TRADE_TICK = "TradeTick"
    BAR = "Bar"
    ORDER_BOOK_DELTA = "OrderBookDelta"


class DataSpec(_Model):
    """Historical data for a backtest, read from a Parquet data catalog."""

    catalog_path: str = Field(
        default="catalog", description="catalog directory; relative paths are in the workspace"
    )
    data_type: DataType = DataType.QUOTE_TICK
    instrument_ids: list[Annotated[str, StringConstraints(min_length=3)]] = Field(min_length=1)
    bar_types: list[str] | None = Field(default=None, description="required when data_type=Bar")
    start: datetime | None = None
    end: datetime | None = None

    @model_validator(mode="after")
    def _range(self) -> DataSpec:
        if self.start and self.end and self.start >= self.end:
            raise ValueError("start must be before end")
        if self.data_type == DataType.BAR and not self.bar_types:
            raise ValueError("bar_types is required when data_type is Bar")
        return self


class AdapterKind(StrEnum):
    """Which adapter serves a data or execution client."""

    OFFLINE = "offline"  # our offline market data feed (catalog replay or random walk)
    SANDBOX = "sandbox"  # Nautilus's simulated execution against live data
    BINANCE = "binance"
    BYBIT = "bybit"
    INTERACTIVE_BROKERS = "interactive_brokers"


class ClientSpec(_Model):
    """A data or execution client of a sandbox or live node. Never holds a secret."""

    name: VenueName = Field(description="client id, usually the venue, e.g. BINANCE")
    adapter: AdapterKind
    profile: Annotated[str, StringConstraints(pattern=NODE_ID_PATTERN)] | None = Field(
        default=None, description="adapter profile name (keys live in the OS keyring)"
    )
    options: dict[str, Any] = Field(default_factory=dict, description="adapter-specific options")

    @model_validator(mode="after")
    def _no_secrets(self) -> ClientSpec:
        for key in self.options:
            if re.search(r"secret|api_?key|password|passphrase|token", key, re.IGNORECASE):
                raise ValueError(
                    f"options.{key}: secrets are not allowed in a node config; "
                    "store them in an adapter profile (gateway adapters add)"
                )
        return self


class RiskSpec(_Model):
    """The fields of Nautilus's RiskEngineConfig / LiveRiskEngineConfig."""

    bypass: bool = False
    max_order_submit_rate: Rate = "100/00:00:01"
    max_order_modify_rate: Rate = "100/00:00:01"
    max_notional_per_order: dict[str, Annotated[Decimal, Field(gt=0)]] = Field(
        default_factory=dict, description="instrument id -> maximum notional"
    )
    limits: RiskLimits = Field(
        default_factory=RiskLimits,
        description="the gateway's own limits, checked in the node before Nautilus's",
    )


class RestartPolicy(_Model):
    """What the supervisor does when a node host dies."""

    policy: Literal["never", "on-failure"] = "never"
    max_restarts: Annotated[int, Field(ge=0, le=100)] = 3
    backoff_seconds: Annotated[float, Field(ge=0, le=3600)] = 1.0


class NodeConfig(_Model):
    """A node: what it trades, where, with which data, under which limits."""

    schema_version: Literal[1] = SCHEMA_VERSION
    node_id: NodeId = Field(description="slug: lower case letters, digits and hyphens")
    mode: Mode
    description: Annotated[str, StringConstraints(max_length=500)] = ""
    trader_id: TraderId = Field(
        default="TRADER-001",
        description="Nautilus trader id; sandbox and live nodes of a workspace each need "
        "their own (it names their cache's keys in Redis)",
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis keeping this sandbox/live node's cache (redis://HOST:PORT); "
        "default: settings.json redis.url, else the workspace's own redis-server",
    )
    strategies: list[StrategySpec] = Field(default_factory=list)
    venues: list[VenueSpec] = Field(default_factory=list)
    data: list[DataSpec] = Field(default_factory=list, description="backtest only")
    data_clients: list[ClientSpec] = Field(default_factory=list, description="sandbox/live only")
    exec_clients: list[ClientSpec] = Field(default_factory=list, description="sandbox/live only")
    risk: RiskSpec = Field(default_factory=RiskSpec)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    restart: RestartPolicy = Field(default_factory=RestartPolicy)
    alerts: list[AlertRule] = Field(
        default_factory=list,
        description="alert rules for this node; a rule named like a workspace or default "
        "rule replaces it",
    )
    tags: list[Tag] = Field(default_factory=list)

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None:
            from engine.state.target import RedisTargetInvalid, parse_redis_url

            try:
                parse_redis_url(value, "redis_url", "node config")
            except RedisTargetInvalid as exc:
                raise ValueError(f"{exc.expected} (got {exc.value!r})") from None
            value = value.strip()
        return value

    @model_validator(mode="after")
    def _unique_alert_names(self) -> NodeConfig:
        names = [rule.name for rule in self.alerts]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"alerts: duplicate rule names {dupes}")
        return self

    def to_json_dict(self) -> dict[str, Any]:
        """The stored form: plain JSON types, defaults included (explicit is reviewable)."""
        return self.model_dump(mode="json")

    def venue(self, name: str) -> VenueSpec | None:
        return next((v for v in self.venues if v.name == name), None)
