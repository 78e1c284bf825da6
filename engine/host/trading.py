"""Run a sandbox or live node: a Nautilus ``TradingNode`` on the host's main thread.

Threads of a trading node host
    main thread     the node's event loop (Nautilus kernel, gateway actor and strategy,
                    client commands, the connection monitor)
    gateway-channel the channel (journal flushes, client streams); commands it receives
                    are run on the node's loop (``set_command_handler(..., loop=...)``)
    gateway-logtail Nautilus's JSON log file read back into ``log`` events

Secrets (live mode): the host reads each profile's secrets from the OS keyring itself
(``AdapterService(workspace).secrets(profile)``); an encrypted-file keyring's passphrase
arrives on stdin from the launcher. The Nautilus config objects hold those secrets, so
they are never logged, journaled or put in an error report (errors carry the message of
the exception only, with the traceback of our frames, never a repr of a config).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from engine.host.backtest import HostError, logging_config
from engine.host.events import CLIENT_CONNECTION_CHANGED

if TYPE_CHECKING:
    from engine.config.model import NodeConfig
    from engine.host.host import NodeHost
    from engine.state.target import RedisTarget

CONNECTION_POLL_S = 0.5
STOP_SETTLE_S = 0.5  # after cancel/flatten: let the venue answer before strategies stop
STOP_FLATTEN_ROUNDS = 6  # closing rounds of a stop with --flatten
START_TIMEOUT_S = 30.0
RISK_CHECK_S = 0.05  # loss limits (daily loss, drawdown) are checked this often


def read_passphrase_once() -> Callable[[], str | None]:
    """Return a provider reading the keyring passphrase from stdin (one line, once)."""
    cache: list[str | None] = []

    def provide() -> str | None:
        if not cache:
            line = ""
            with contextlib.suppress(OSError, ValueError):
                if sys.stdin is not None and not sys.stdin.isatty():
                    line = sys.stdin.readline()
            cache.append(line.rstrip("\n") or None)
        return cache[0]

    return provide


def profile_secrets(host: NodeHost, node: NodeConfig) -> dict[str, dict[str, str]] | None:
    """Read every referenced profile's secrets from the OS keyring (live mode only)."""
    profiles = sorted(
        {c.profile for c in (*node.data_clients, *node.exec_clients) if c.profile is not None}
    )
    if not profiles:
        return None
    from engine.adapters.service import AdapterService

    service = AdapterService(host.workspace, passphrase=read_passphrase_once())
    out: dict[str, dict[str, str]] = {}
    for name in profiles:
        try:
            stored = service.secrets(name)
        except Exception as exc:  # the message names the profile/backend, never a secret
            raise HostError(
                f"profile {name!r}: cannot read its secrets from the keyring: {exc}",
                field="profile",
                phase="secrets",
            ) from None
        out[name] = {field: secret.reveal() for field, secret in stored.items()}
    return out


def persistence_target(host: NodeHost, node: NodeConfig) -> RedisTarget:
    """The node's Redis, ready (started, reachable, trader id claimed), or a HostError.

    No fallback to an in-memory cache: a node whose state would not survive a restart
    does not start.
    """
    from engine.state.prepare import (
        NamespaceConflict,
        RedisTargetInvalid,
        RedisUnavailable,
        prepare_node_redis,
    )

    try:
        prepared = prepare_node_redis(host.workspace, node)
    except RedisTargetInvalid as exc:
        raise HostError(str(exc), field=exc.field, phase="persistence") from None
    except (RedisUnavailable, NamespaceConflict) as exc:
        field = "trader_id" if isinstance(exc, NamespaceConflict) else "redis_url"
        raise HostError(f"persistence: {exc}", field=field, phase="persistence") from None
    target = prepared.target
    host.publish(
        "system",
        "PersistenceReady",
        {
            "backend": "redis",
            "url": target.url,
            "source": target.source,
            "deduplicated": prepared.deduplicated,
        },
    )
    return target


class ConnectionMonitor:
    """Emit ``ClientConnectionChanged`` whenever a data or exec client (dis)connects.

    It also records why a client's connect failed: Nautilus only logs that and keeps
    waiting for the client until its connection timeout, so without this a bad key or an
    unreachable venue would surface only as "not running after 30 s".
    """

    def __init__(self, node: Any, publish: Callable[..., Any]) -> None:
        self._node = node
        self._publish = publish
        self._known: dict[tuple[str, str], bool] = {}
        self.failures: dict[tuple[str, str], BaseException] = {}

    def clients(self) -> list[tuple[str, Any]]:
        kernel = self._node.kernel
        out: list[tuple[str, Any]] = []
        for kind, engine in (("data", kernel.data_engine), ("exec", kernel.exec_engine)):
            # No public accessor for the client objects in 1.231.
            for client in getattr(engine, "_clients", {}).values():
                out.append((kind, client))
        return out

    def watch_connects(self) -> None:
        """Wrap each client's ``_connect`` coroutine to record the exception it raises."""
        for kind, client in self.clients():
            original = getattr(client, "_connect", None)
            if original is None:
                continue
            key = (kind, str(client.id))

            async def connect(original: Any = original, key: tuple[str, str] = key) -> None:
                try:
                    await original()
                except Exception as exc:
                    self.failures.setdefault(key, exc)
                    raise

            connect.__name__ = "_connect"  # Nautilus names the task (and its log line) after it
            with contextlib.suppress(AttributeError, TypeError):
                client._connect = connect

    def first_failure(self) -> tuple[str, str, BaseException] | None:
        for (kind, client_id), exc in self.failures.items():
            return kind, client_id, exc
        return None

    def poll(self) -> None:
        for kind, client in self.clients():
            key = (kind, str(client.id))
            connected = bool(getattr(client, "is_connected", False))
            if self._known.get(key) != connected:
                self._known[key] = connected
                self._publish(
                    "node",
                    CLIENT_CONNECTION_CHANGED,
                    {"client_id": key[1], "kind": kind, "connected": connected},
                )

    async def run(self) -> None:
        while True:
            with contextlib.suppress(Exception):
                self.poll()
            await asyncio.sleep(CONNECTION_POLL_S)


def run_trading(host: NodeHost, node: NodeConfig) -> int:
    """Run the trading node on a new event loop in this (main) thread until it stops."""
    from engine.feed.trading import new_event_loop

    loop = new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(_run(host, node, loop))
    finally:
        host.channel.set_command_handler(host.handle_command)  # the node loop ends here
        with contextlib.suppress(Exception):
            loop.run_until_complete(loop.shutdown_asyncgens())
        asyncio.set_event_loop(None)
        loop.close()


async def _run(host: NodeHost, node: NodeConfig, loop: asyncio.AbstractEventLoop) -> int:
    from engine.config.nautilus_build import trading_node_parts
    from engine.feed.trading import build_trading_node, stop_trading_node
    from engine.host.actor import GatewayActor
    from engine.orders.strategy import GatewayStrategy, GatewayStrategyConfig
    from engine.state.target import cache_config
    from engine.telemetry.host_hooks import attach_telemetry

    redis = persistence_target(host, node)
    secrets = profile_secrets(host, node) if node.mode.value == "live" else None
    try:
        parts = trading_node_parts(
            node,
            host.workspace,
            secrets=secrets,
            logging=logging_config(host.run_dir, node.log_level),
            cache=cache_config(redis),
        )
    finally:
        secrets = None  # the parts hold them now; drop our copy
    try:
        trading = build_trading_node(
            parts,
            loop,
            on_signal=lambda sig: host.request_stop(sig.name),
            timeout_post_stop=0.5,
        )
    except Exception as exc:
        raise HostError(f"building the trading node failed: {exc}", phase="build") from None
    del parts
    recovery = _recovery(host, node)
    # A sandbox venue applies its events inline and remembers them (engine.recovery).
    if not recovery.attach(trading.kernel) and node.mode.value == "sandbox":
        from engine.feed.sandbox import apply_sandbox_events_inline

        apply_sandbox_events_inline(trading.kernel)
    # Actors start before strategies: the venue's orders are back in its matching engines
    # (and it records again) before any strategy can trade.
    trading.trader.add_actor(GatewayActor(host.publish, on_running=recovery.on_trader_start))
    strategy = GatewayStrategy(
        GatewayStrategyConfig(bracket_mode="managed" if node.mode.value == "sandbox" else "native")
    )
    trading.trader.add_strategy(strategy)
    strategy.find_strategy = lambda sid: next(
        (s for s in trading.trader.strategies() if s.id == sid), None
    )
    host.strategy = strategy
    host.risk = install_risk_guard(trading.kernel, host, node)
    telemetry = attach_telemetry(trading, node, host.workspace, host.publish)
    host.risk_observers.append(telemetry.observe)
    recovery.before_start()  # the state this run starts from, journaled first
    host.recovery = recovery
    host.channel.set_command_handler(host.handle_command, loop=loop)

    from engine.state.watchdog import RedisWatchdog

    watchdog = RedisWatchdog(
        redis,
        workspace=host.workspace,
        node_id=node.node_id,
        trader_id=node.trader_id,
        publish=host.publish,
        loop=loop,
        cache=trading.kernel.cache,
    ).start()
    monitor = ConnectionMonitor(trading, host.publish)
    monitor.watch_connects()
    monitor_task = loop.create_task(monitor.run(), name="gateway-connections")
    task = None
    try:
        try:
            task = await _start_or_connect_failure(trading, node, monitor)
        except HostError:
            monitor.poll()
            task = _node_run_task(loop)
            raise
        except Exception as exc:
            monitor.poll()  # the failing client's state goes out with the error
            raise HostError(str(exc), phase="start") from None
        monitor.poll()
        recovery.after_start()
        if not host.stop_requested():
            host.set_state("running")
        next_risk_check = 0.0
        while not host.stop_requested():
            if task.done():
                err = None if task.cancelled() else task.exception()
                raise HostError(f"the trading node stopped by itself: {err!r}", phase="run")
            if loop.time() >= next_risk_check:
                next_risk_check = loop.time() + RISK_CHECK_S
                check_loss_limits(host)
            await asyncio.sleep(0.05)
        await _wind_down(host, strategy)
    finally:
        if task is not None or trading.kernel.is_running():
            with contextlib.suppress(Exception):
                await stop_trading_node(trading, task, before_dispose=telemetry.finish)
        watchdog.stop()
        monitor_task.cancel()
        with contextlib.suppress(BaseException):
            await monitor_task
        with contextlib.suppress(Exception):
            monitor.poll()
        host.strategy = None
        host.risk = None
        host.recovery = None
    return 0


def _recovery(host: NodeHost, node: NodeConfig) -> Any:
    """The run's recovery (engine.recovery.host_recovery); an unreadable venue state fails
    the build rather than start a venue that forgot its orders."""
    from engine.recovery.host_recovery import NodeRecovery
    from engine.recovery.venue_store import VenueStateError

    try:
        return NodeRecovery(host, node)
    except VenueStateError as exc:
        raise HostError(str(exc), phase="build") from None


def check_loss_limits(host: NodeHost) -> None:
    """Evaluate the loss limits; a failure to measure is reported, never fatal to the node."""
    try:
        host.risk.evaluate()
    except Exception as exc:
        host.publish("risk", "RiskCheckFailed", {"error": repr(exc)[:500]})


def install_risk_guard(kernel: Any, host: NodeHost, node: NodeConfig) -> Any:
    """The node's risk guard, in force before any strategy starts, in its stored state."""
    from engine.risk import store
    from engine.risk.guard import RiskGuard, guard_state

    try:
        stored = store.load(host.workspace, node.node_id)
    except store.RiskStateError as exc:
        raise HostError(str(exc), phase="build") from None
    return RiskGuard(
        kernel,
        guard_state(stored, node.risk.limits),
        instrument_notional=dict(node.risk.max_notional_per_order),
        persist=lambda state: store.save(host.workspace, node.node_id, state),
        publish=host.publish,
        day_timezone=node.risk.day_timezone,
        hedging_venues=frozenset(v.name for v in node.venues if v.oms_type == "HEDGING"),
    ).install(watch_losses=True)


def _node_run_task(loop: asyncio.AbstractEventLoop) -> asyncio.Task[Any] | None:
    # start_trading_node names the task running ``node.run_async()`` "trading-node".
    return next((t for t in asyncio.all_tasks(loop) if t.get_name() == "trading-node"), None)


async def _start_or_connect_failure(
    trading: Any, node: NodeConfig, monitor: ConnectionMonitor
) -> asyncio.Task[None]:
    """Start the node; fail as soon as a client's connect raises, naming client and reason."""
    from engine.feed.trading import start_trading_node

    start = asyncio.get_running_loop().create_task(
        start_trading_node(trading, timeout_s=START_TIMEOUT_S), name="gateway-start"
    )
    while not start.done():
        failure = monitor.first_failure()
        if failure is not None:
            start.cancel()
            with contextlib.suppress(BaseException):
                await start
            kind, client_id, exc = failure
            specs = node.data_clients if kind == "data" else node.exec_clients
            index = next((i for i, c in enumerate(specs) if c.name == client_id), 0)
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise HostError(
                f"{kind} client {client_id} failed to connect: {reason}",
                field=f"{kind}_clients[{index}]",
                phase="connect",
            )
        await asyncio.sleep(0.05)
    return start.result()


async def _close_rest(strategy: Any) -> list[str]:
    """Close again what a flatten left open (a closing order that stopped filling, as the
    sandbox's L1 book leaves one above the quote's size), a few rounds; what is left."""
    from engine.orders.commands import FlattenAll

    for round_ in range(STOP_FLATTEN_ROUNDS + 1):
        await asyncio.sleep(STOP_SETTLE_S)
        if not strategy.cache.positions_open() or round_ == STOP_FLATTEN_ROUNDS:
            break
        for order in strategy.cache.orders_open():
            if "GATEWAY_FLATTEN" in (order.tags or ()):
                strategy.cancel_order(order)
        await asyncio.sleep(STOP_SETTLE_S / 5)
        strategy.flatten_all(FlattenAll(all_strategies=True, cancel_orders=False))
    return [p.id.value for p in strategy.cache.positions_open()]


async def _wind_down(host: NodeHost, strategy: Any) -> None:
    """Cancel orders / flatten positions as the stop asked, before strategies stop."""
    from engine.orders.commands import CancelAllOrders, FlattenAll

    options = host.stop_options
    acted = False
    try:
        if options.get("flatten"):
            done = strategy.flatten_all(FlattenAll(all_strategies=True))
            done["left"] = await _close_rest(strategy)
            host.publish("node", "StopFlattened", done)
        elif options.get("cancel_orders"):
            canceled = strategy.cancel_all(CancelAllOrders(all_strategies=True))
            host.publish("node", "StopCanceledOrders", {"canceled": [c.value for c in canceled]})
            acted = True
    except Exception as exc:  # report and go on stopping: a stop must not hang on this
        host.publish("node", "StopWindDownFailed", {"message": f"{type(exc).__name__}: {exc}"})
    if acted:
        await asyncio.sleep(STOP_SETTLE_S)
