"""How each adapter kind becomes Nautilus data/exec client configs and factories.

Builders are registered by import path and imported only when a node uses them, so
validating a backtest never imports an exchange adapter. A builder receives the client
spec, the node config and the secrets for the client's profile; secrets are ``None``
during validation, when builders must not need them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from engine.config.model import AdapterKind, ClientSpec, NodeConfig
from engine.workspace import Workspace

Role = Literal["data", "exec"]


@dataclass(frozen=True, slots=True)
class BuiltClient:
    """A Nautilus client config and the factory class that builds the client from it."""

    config: Any
    factory: type


@dataclass(frozen=True, slots=True)
class BuildContext:
    workspace: Workspace
    secrets: Mapping[str, str] | None = None  # None while validating


ClientBuilder = Callable[[ClientSpec, NodeConfig, BuildContext], BuiltClient]

# (role, adapter) -> "module:function". Adapters not listed cannot serve that role.
BUILDERS: dict[tuple[Role, AdapterKind], str] = {
    ("exec", AdapterKind.SANDBOX): "engine.config.clients:build_sandbox_exec",
    ("data", AdapterKind.OFFLINE): "engine.feed.client_config:build_offline_data",
    **{
        (role, kind): f"engine.config.clients:build_venue_{role}"
        for role in ("data", "exec")
        for kind in (AdapterKind.BINANCE, AdapterKind.BYBIT, AdapterKind.INTERACTIVE_BROKERS)
    },
}


class ClientUnavailable(Exception):
    """The adapter cannot serve this role, or this client cannot be built as configured.

    ``field`` names the offending field relative to the client spec (e.g. ``profile``).
    """

    def __init__(self, message: str, field: str = "adapter") -> None:
        super().__init__(message)
        self.field = field


def builder_for(role: Role, adapter: AdapterKind) -> ClientBuilder:
    """Return the builder registered for ``role`` and ``adapter``."""
    target = BUILDERS.get((role, adapter))
    if target is None:
        served = sorted(a.value for r, a in BUILDERS if r == role)
        raise ClientUnavailable(
            f"adapter {adapter.value!r} cannot be a {role} client; expected one of {served}"
        )
    module_name, attr = target.split(":")
    try:
        builder: ClientBuilder = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        # An optional extra (e.g. nautilus-gateway[ib]) may be missing on this machine.
        raise ClientUnavailable(f"adapter {adapter.value!r} is not available: {exc}") from exc
    return builder


def build_sandbox_exec(spec: ClientSpec, node: NodeConfig, _ctx: BuildContext) -> BuiltClient:
    """Nautilus's sandbox execution: simulated fills against the node's live data."""
    from nautilus_trader.adapters.sandbox.config import SandboxExecutionClientConfig
    from nautilus_trader.adapters.sandbox.factory import SandboxLiveExecClientFactory

    venue = node.venue(spec.name)
    if venue is None:
        raise ClientUnavailable(f"no venue named {spec.name!r} in venues")
    config = SandboxExecutionClientConfig(
        venue=venue.name,
        starting_balances=list(venue.starting_balances),
        base_currency=venue.base_currency,
        oms_type=venue.oms_type,
        account_type=venue.account_type,
        default_leverage=venue.default_leverage,
        # Random venue order ids: a restarted venue's counter starts again at 1, and its
        # next order would take the id of one it restored (engine.recovery).
        **{"use_random_ids": True, **spec.options},
    )
    return BuiltClient(config=config, factory=SandboxLiveExecClientFactory)


# Secrets stand in for the real ones while validating: the config objects are built and
# discarded, never stored or logged.
_VALIDATION_SECRET = "validation-placeholder"


def _venue_clients(spec: ClientSpec, ctx: BuildContext) -> Any:
    from engine.adapters.model import ProfileInvalid
    from engine.adapters.nautilus_configs import AdapterExtraMissing, build_client_configs
    from engine.adapters.service import required_secret_fields
    from engine.adapters.store import ProfileError, ProfileStore

    if not spec.profile:
        raise ClientUnavailable(f"a {spec.adapter.value} client needs a profile", "profile")
    try:
        profile = ProfileStore(ctx.workspace).get(spec.profile)
    except ProfileError as exc:
        raise ClientUnavailable(f"{exc} (create it: gateway adapters add)", "profile") from None
    if profile.family.value != spec.adapter.value:
        raise ClientUnavailable(
            f"profile {profile.name!r} is a {profile.family.value} profile; "
            f"expected a {spec.adapter.value} one",
            "profile",
        )
    secrets: Mapping[str, Any] = (
        ctx.secrets
        if ctx.secrets is not None
        else dict.fromkeys(required_secret_fields(profile), _VALIDATION_SECRET)
    )
    try:
        return build_client_configs(profile, secrets)
    except AdapterExtraMissing as exc:
        raise ClientUnavailable(str(exc)) from None
    except ProfileInvalid as exc:
        raise ClientUnavailable(str(exc), "profile") from None


def build_venue_data(spec: ClientSpec, _node: NodeConfig, ctx: BuildContext) -> BuiltClient:
    """Market data from a venue adapter (Binance, Bybit, Interactive Brokers)."""
    clients = _venue_clients(spec, ctx)
    if clients.data is None or clients.data_factory is None:
        raise ClientUnavailable(f"profile {spec.profile!r} has no market data client", "profile")
    return BuiltClient(config=clients.data, factory=clients.data_factory)


def build_venue_exec(spec: ClientSpec, _node: NodeConfig, ctx: BuildContext) -> BuiltClient:
    """Order execution through a venue adapter (Binance, Bybit, Interactive Brokers)."""
    clients = _venue_clients(spec, ctx)
    return BuiltClient(config=clients.exec, factory=clients.exec_factory)
