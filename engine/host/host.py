"""The node host process: one node, one kernel, one journal, one channel.

Backtest nodes run a ``BacktestNode`` (``engine.host.backtest``); sandbox and live nodes a
``TradingNode`` with a gateway strategy (``engine.host.trading``).

Lifecycle events (``NodeStateChanged``): ``created -> starting -> running -> stopping ->
stopped | completed | failed``. Every event is journaled before a client sees it (the
channel does that). ``meta.json`` in the run directory follows the state; on failure the
error goes out as a ``NodeError`` event and into ``error.json``.

Channel commands (``NodeManager.command(node_id, cmd, **args)``; each answer is a dict)
    ``{"cmd": "status"}``
        -> ``{"ok": true, "state", "run_id", "pid"}``
    ``{"cmd": "stop", "cancel_orders": bool, "flatten": bool}``
        -> ``{"ok": true, "state"}``; the host then cancels every working order
        (``CancelAllOrders(all_strategies=True)``) or flattens (``FlattenAll``: cancel all,
        close every position at market), stops the strategies and the node, flushes the
        journal and exits ``stopped``.
    ``{"cmd": "order", "command": {...}}`` (sandbox/live nodes)
        ``command`` is an order command as ``engine.orders.commands.load_command`` reads
        it (``{"action": "submit", "ticket": {...}}``, ``modify``, ``cancel``,
        ``cancel_all``, ``close_position``, ``flatten_all``). It runs on the node's event
        loop through the node's ``GatewayStrategy`` (brackets ``managed`` in sandbox,
        ``native`` live), so its orders carry that strategy's id.
    ``{"cmd": "exposure", "instrument_id": str | null}`` (sandbox/live nodes)
        -> ``{"ok": true, "positions": [...], "net": {instrument: signed qty},
        "open_orders": [...]}`` from the node's cache (``GatewayStrategy.exposure``).
    ``{"cmd": "market", "instrument_id": "EUR/USD.SIM"}`` (sandbox/live nodes)
        -> ``{"ok": true, "instrument": InstrumentRules.to_dict(), "quote": {"bid", "ask"}
        | null}``: what an order ticket is checked against; the node follows the
        instrument's quotes from then on.
        -> ``GatewayStrategy.execute``'s dict, e.g. ``{"ok": true, "client_order_ids":
        [...]}``; on failure ``{"ok": false, "code", "message", "issues": [...]}`` where
        ``code`` is ``invalid_order`` (``issues`` lists ``{path, value, expected,
        message}``), a ``GatewayStrategy`` error code (``unknown_order``,
        ``order_not_open``, ``unknown_instrument``, ``unknown_position``,
        ``bracket_refused``, ``not_running``; ``field``/``value`` name the culprit),
        ``not_running`` when the node has no running strategy (a backtest, or not yet
        running), or ``internal_error``. Never a traceback.
    ``{"cmd": "risk", "op": "show" | "set" | "state", ...}`` (sandbox/live nodes)
        the node's risk guard: trading state and limits (``engine.risk.host_commands``).
    ``{"cmd": "reconcile", "accept": "venue" | null, "who": str}`` (sandbox/live nodes)
        -> ``{"ok", "agree", "summary", "orders": [row], "positions": [row],
        "trading_state", ...}``: journal, cache and venue compared now; with ``accept``
        the venue's view is adopted first (``engine.recovery.host_recovery``).
    ``{"cmd": "positions"}`` / ``{"cmd": "balances"}`` (sandbox/live nodes)
        -> ``engine.orders.portfolio.positions_snapshot`` / ``balances_snapshot``: the
        open positions (side, quantity, average price, unrealized and realized PnL) with
        their counts, or every account's balances and margins, read on the node's loop.
    Anything else -> ``{"ok": false, "code": "unknown_command", "message"}``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from engine.channel import HostChannel
from engine.host.events import (
    BACKTEST_PROGRESS,
    BACKTEST_RESULT,
    NODE_ERROR,
    NODE_STATE_CHANGED,
    TERMINAL_STATES,
)
from engine.host.logtail import POLL_S as LOG_POLL_S
from engine.host.logtail import LogTailer
from engine.host.paths import pid_file, socket_path
from engine.journal import JournalWriter
from engine.runs import (
    ERROR_FILE,
    LOG_FILE,
    jsonable,
    read_meta,
    run_path,
    update_meta,
    utc_now_iso,
    write_json,
)
from engine.workspace import Workspace

EXIT_COMPLETED = 0
EXIT_FAILED = 1
EXIT_STOPPED = 0  # a requested stop is not a failure
# A backtest's events reach clients at most this late, and its log lines this often. Each
# wake of the channel or tail thread takes the GIL from the kernel's thread several times:
# at 0.05 s / 0.1 s the backtest's thread was switched out ~700 times per 3.5 s run, at
# 0.2 s / 0.25 s ~300 times, and it waited ~0.05 s less (300k ticks, /proc schedstat).
BACKTEST_LINGER_S = 0.2
BACKTEST_LOG_POLL_S = 0.25


class NodeHost:
    """Run one node in this process and report everything it does.

    Parameters
    ----------
    workspace
        The workspace the node's config, catalog and runs live in.
    node_id, run_id, mode
        Which node, which run (its directory exists: the manager made it), which mode.
    standby
        The process was started as a standby host, before its run existed (recorded in
        ``meta.extra.started_as``).
    """

    def __init__(
        self, workspace: Workspace, node_id: str, run_id: str, mode: str, *, standby: bool = False
    ) -> None:
        self.workspace = workspace
        self.node_id = node_id
        self.run_id = run_id
        self.mode = mode
        self.run_dir = run_path(workspace, node_id, run_id)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.state = "created"  # the manager made the run; the first event says so too
        self._stop = threading.Event()
        self._error: dict[str, Any] | None = None
        self._state_lock = threading.Lock()
        self.journal = JournalWriter(self.run_dir, node_id, run_id)
        self.socket = socket_path(workspace, node_id)
        self.channel = HostChannel(
            self.socket, self.journal, linger_s=BACKTEST_LINGER_S if mode == "backtest" else 0.0
        )
        self.tailer = LogTailer(
            self.run_dir / LOG_FILE,
            self.publish,
            poll_s=BACKTEST_LOG_POLL_S if mode == "backtest" else LOG_POLL_S,
            line_time=mode != "backtest",  # a backtest's lines carry simulated time
        )
        self.standby = standby
        self.strategy: Any = None  # the GatewayStrategy while a trading node runs
        self.risk: Any = None  # the RiskGuard while a trading node runs
        self.recovery: Any = None  # the run's NodeRecovery while a trading node runs
        self.risk_observers: list[Callable[[str, str, dict[str, Any], int | None], None]] = []
        self.stop_options: dict[str, Any] = {}

    # -- events ------------------------------------------------------------------------
    def publish(
        self, kind: str, type: str, payload: dict[str, Any], ts_ns: int | None = None
    ) -> Any:
        """Journal and send one event; a payload msgspec cannot encode is made JSON-able.

        ``risk`` events then go to :attr:`risk_observers` (alert rules on the trading state).
        """
        try:
            env = self.channel.publish(kind, type, payload, ts_ns)
        except TypeError:
            env = self.channel.publish(kind, type, jsonable(payload), ts_ns)
        if kind == "risk":
            for observe in self.risk_observers:
                observe(kind, type, payload, ts_ns)
        return env

    def set_state(self, state: str, reason: str | None = None) -> None:
        with self._state_lock:
            previous: str | None = self.state if state != "created" else None
            self.state = state
            changes: dict[str, Any] = {"state": state}
            if state in TERMINAL_STATES:
                changes["ended"] = utc_now_iso()
            with contextlib.suppress(Exception):  # meta is informative; events are the truth
                update_meta(self.run_dir, **changes)
        self.publish(
            "node",
            NODE_STATE_CHANGED,
            {
                "state": state,
                "previous": previous,
                "mode": self.mode,
                "pid": os.getpid(),
                "reason": reason,
            },
        )
        if state == "running":
            self._resolve_previous_failure()

    def _resolve_previous_failure(self) -> None:
        """Running again after the previous run died: resolve its ``node-failed`` alert."""
        from engine.config.store import ConfigStore
        from engine.telemetry.host_hooks import resolve_previous_failure

        try:
            rules = ConfigStore(self.workspace).get(self.node_id, self.mode).alerts
            events = resolve_previous_failure(
                self.workspace, self.node_id, self.run_id, rules, time.time_ns()
            )
        except Exception:  # alerts are informative here: they must never fail the run
            return
        for event in events:
            self.publish(event.kind, event.type, event.payload, event.ts_ns)

    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def request_stop(self, reason: str = "stop requested") -> None:
        if not self._stop.is_set() and self.state not in TERMINAL_STATES:
            self._stop.set()
            self.set_state("stopping", reason)

    # -- commands ----------------------------------------------------------------------
    def handle_command(self, command: dict[str, Any]) -> dict[str, Any]:
        """Serve a client's command (see the module docstring for the protocol)."""
        name = command.get("cmd") or command.get("command")
        if name == "status":
            return {"ok": True, "state": self.state, "run_id": self.run_id, "pid": os.getpid()}
        if name == "stop":
            self.stop_options = {
                "cancel_orders": bool(command.get("cancel_orders")),
                "flatten": bool(command.get("flatten")),
            }
            self.request_stop("stop requested by a client")
            return {"ok": True, "state": self.state}
        if name == "order":
            return self.order_command(command.get("command"), command.get("notional"))
        if name == "market":
            return self.market_command(command.get("instrument_id"))
        if name == "risk":
            return self.risk_command(command)
        if name in ("positions", "balances"):
            return self.portfolio_command(name)
        if name == "exposure":
            return self.exposure_command(command.get("instrument_id"))
        if name == "reconcile":
            return self.reconcile_command(command)
        expected = (
            "expected status, stop, order, market, risk, positions, balances, exposure or reconcile"
        )
        return {
            "ok": False,
            "code": "unknown_command",
            "message": f"unknown command {name!r}; {expected}",
            "error": f"unknown command {name!r}; {expected}",
        }

    def risk_command(self, command: dict[str, Any]) -> dict[str, Any]:
        """Show or change the node's risk state (``engine.risk.host_commands``)."""
        from engine.risk.host_commands import run_risk_command

        return run_risk_command(self.risk, command, node_id=self.node_id, state=self.state)

    def reconcile_command(self, command: dict[str, Any]) -> dict[str, Any]:
        """Journal, cache and venue compared now, or the venue's view accepted
        (``engine.recovery.host_recovery``)."""
        recovery = self.recovery
        if recovery is None or self.state != "running":
            return _order_error(
                "not_running",
                f"node {self.node_id} has nothing to reconcile now "
                f"(state {self.state}, mode {self.mode})",
            )
        try:
            return jsonable(recovery.command(command))  # type: ignore[no-any-return]
        except Exception as exc:
            return _order_error("internal_error", f"{type(exc).__name__}: {exc}")

    def market_command(self, instrument_id: Any) -> dict[str, Any]:
        """An instrument's trading rules and latest quote (``GatewayStrategy.market``)."""
        strategy = self.strategy
        if strategy is None or self.state != "running":
            return _order_error(
                "not_running",
                f"node {self.node_id} has no market now (state {self.state}, mode {self.mode})",
            )
        if not isinstance(instrument_id, str) or not instrument_id:
            return _order_error(
                "invalid_command",
                f"instrument_id: got {instrument_id!r}, expected an instrument id",
                [{"path": "instrument_id", "value": instrument_id, "expected": "an instrument id"}],
            )
        try:
            return strategy.market(instrument_id)  # type: ignore[no-any-return]
        except Exception as exc:
            code = str(getattr(exc, "code", "internal_error"))
            out = _order_error(code, str(exc) if code != "internal_error" else repr(exc))
            out["field"] = getattr(exc, "field", None)
            out["value"] = getattr(exc, "value", None)
            return out

    def portfolio_command(self, name: str) -> dict[str, Any]:
        """The node's open positions or account balances (``engine.orders.portfolio``)."""
        from engine.orders.portfolio import balances_snapshot, positions_snapshot

        strategy = self.strategy
        if strategy is None or self.state != "running":
            return _order_error(
                "not_running",
                f"node {self.node_id} has no {name} to show now "
                f"(state {self.state}, mode {self.mode})",
            )
        build = positions_snapshot if name == "positions" else balances_snapshot
        try:
            return jsonable(build(strategy.cache, strategy.clock.timestamp_ns()))  # type: ignore[no-any-return]
        except Exception as exc:
            return _order_error("internal_error", f"{type(exc).__name__}: {exc}")

    def exposure_command(self, instrument_id: Any) -> dict[str, Any]:
        """Open positions, net per instrument and open orders (``GatewayStrategy.exposure``)."""
        strategy = self.strategy
        if strategy is None or self.state != "running":
            return _order_error(
                "not_running",
                f"node {self.node_id} has no positions now (state {self.state}, mode {self.mode})",
            )
        try:
            return jsonable(strategy.exposure(instrument_id or None))  # type: ignore[no-any-return]
        except Exception as exc:
            return _order_error("internal_error", f"{type(exc).__name__}: {exc}")

    def order_command(self, data: Any, guard: Any = None) -> dict[str, Any]:
        """Run one order command through the node's GatewayStrategy; errors as dicts.

        ``guard``: the workspace's notional confirmation for a submit (``{"above": str,
        "confirm": true | str | null}``), checked here with the node's own rules and
        quote as the order is sent (``engine.host.notional_guard``)."""
        from engine.host.notional_guard import notional_refusal
        from engine.orders.commands import load_command
        from engine.orders.issues import OrderValidationError

        strategy = self.strategy
        if strategy is None or self.state != "running":
            return _order_error(
                "not_running",
                f"node {self.node_id} takes no orders now (state {self.state}, mode {self.mode})",
            )
        if not isinstance(data, (dict, str)):
            return _order_error(
                "invalid_order",
                f"command: got {type(data).__name__}, expected an order command map",
                [{"path": "command", "value": None, "expected": "an order command map"}],
            )
        try:
            loaded = load_command(data)
            unconfirmed = notional_refusal(strategy, loaded, guard)
            if unconfirmed is not None:
                return unconfirmed
            result: dict[str, Any] = strategy.execute(loaded)
            return jsonable(result)  # type: ignore[no-any-return]
        except OrderValidationError as exc:
            return _order_error("invalid_order", str(exc), [i.to_dict() for i in exc.issues])
        except Exception as exc:
            to_dict = getattr(exc, "to_dict", None)
            if callable(to_dict) and hasattr(exc, "code"):
                detail = to_dict()
                out = _order_error(str(exc.code), str(detail.get("message", exc)))
                out["field"] = detail.get("field")
                out["value"] = detail.get("value")
                return out
            return _order_error("internal_error", f"{type(exc).__name__}: {exc}")

    # -- the run -------------------------------------------------------------------------
    def run(self) -> int:
        """Run the node to its end; return the process exit code."""
        self.channel.set_command_handler(self.handle_command)
        self.channel.start()
        self._write_pid_file()
        signal.signal(signal.SIGTERM, self._on_sigterm)
        with contextlib.suppress(Exception):
            # started_as is merged beside what the supervisor puts in extra, under the lock.
            merge = {"started_as": "standby"} if self.standby else None
            update_meta(self.run_dir, merge_extra=merge, pid=os.getpid())
        self.set_state("created")
        self.tailer.start()
        code = EXIT_FAILED
        try:
            self.set_state("starting")
            code = self._run_node()
        except BaseException as exc:  # anything, even SystemExit, ends the run as failed
            code = self._fail(exc)
        finally:
            self._finish(code)
        return code

    def _run_node(self) -> int:
        from engine.config.store import ConfigStore

        node = ConfigStore(self.workspace).get(self.node_id, self.mode)
        if node.mode.value != "backtest":
            from engine.host.trading import run_trading

            return run_trading(self, node)
        from engine.host.backtest import run_backtest
        from engine.host.results import write_results

        outcome = run_backtest(
            node,
            self.workspace,
            self.run_dir,
            self.publish,
            on_running=lambda: self.set_state("running"),
            stop_requested=self.stop_requested,
        )
        stats = write_results(
            outcome.engine,
            outcome.result,
            [v.name for v in node.venues],
            self.run_dir,
            run_wall_s=outcome.run_wall_s,
            run_cpu_s=outcome.run_cpu_s,
        )
        if not outcome.stopped:
            self.publish(
                "progress",
                BACKTEST_PROGRESS,
                {
                    "fraction": 1.0,
                    "sim_ts_ns": None,
                    "start_ns": None,
                    "end_ns": None,
                    "elapsed_s": outcome.run_wall_s,
                },
            )
        self.publish("result", BACKTEST_RESULT, stats)
        with contextlib.suppress(Exception):
            outcome.engine.dispose()
        return EXIT_STOPPED if outcome.stopped else EXIT_COMPLETED

    def _fail(self, exc: BaseException) -> int:
        from engine.config.issues import ConfigInvalid
        from engine.host.backtest import HostError

        error: dict[str, Any] = {
            "error": type(exc).__name__,
            "message": str(exc) or type(exc).__name__,
            "phase": getattr(exc, "phase", "run"),
            "field": getattr(exc, "field", None),
            "traceback": "".join(traceback.format_exception(exc)),
        }
        if isinstance(exc, ConfigInvalid):
            error["phase"] = "config"
            error["issues"] = [i.to_dict() for i in exc.issues]
        if not isinstance(exc, HostError) and exc.__cause__ is not None and error["phase"] != "run":
            error["cause"] = repr(exc.__cause__)
        self._error = error
        return EXIT_FAILED

    def _finish(self, code: int) -> None:
        # Drain Nautilus's log first so the last log lines precede the final state.
        with contextlib.suppress(Exception):
            self.tailer.stop()
        error = self._error
        if error is not None:
            error["log_tail"] = self.tailer.last_lines(20)
            with contextlib.suppress(Exception):
                write_json(self.run_dir / ERROR_FILE, error)
            self.publish("node", NODE_ERROR, error)
            with contextlib.suppress(Exception):
                update_meta(self.run_dir, error=error["message"])
            self.set_state("failed", error["message"])
        elif self._stop.is_set():
            self.set_state("stopped", "stopped on request")
        else:
            self.set_state("completed")
        with contextlib.suppress(Exception):
            update_meta(self.run_dir, exit_code=code)
        with contextlib.suppress(Exception):
            self.journal.flush()
        with contextlib.suppress(Exception):
            self.channel.close()
        with contextlib.suppress(Exception):
            self.journal.close()
        self._remove_pid_file()

    def _on_sigterm(self, _signum: int, _frame: FrameType | None) -> None:
        # Not inline: the handler may interrupt this thread while it holds the journal lock.
        threading.Thread(target=self.request_stop, args=("SIGTERM",), daemon=True).start()

    # -- pid file ------------------------------------------------------------------------
    def _write_pid_file(self) -> None:
        from engine.atomic import atomic_write_text

        meta = read_meta(self.run_dir)
        data = {
            "node_id": self.node_id,
            "run_id": self.run_id,
            "mode": self.mode,
            "pid": os.getpid(),
            "socket": str(self.socket),
            "started": meta.started if meta else utc_now_iso(),
            "run_dir": str(self.run_dir),
        }
        atomic_write_text(pid_file(self.workspace, self.node_id), json.dumps(data) + "\n", 0o600)

    def _remove_pid_file(self) -> None:
        path = pid_file(self.workspace, self.node_id)
        with contextlib.suppress(OSError, ValueError):
            if json.loads(path.read_text()).get("run_id") == self.run_id:
                path.unlink()


def _order_error(
    code: str, message: str, issues: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {"ok": False, "code": code, "message": message, "issues": issues or []}


def main_host(
    workspace: Path, node_id: str, run_id: str, mode: str, *, standby: bool = False
) -> int:
    """Run a node host to its end and return its exit code (``standby``: started ahead)."""
    return NodeHost(Workspace(workspace), node_id, run_id, mode, standby=standby).run()
