"""The node host's check that its Redis still answers, and the repair when it is back.

Nautilus 1.231's Redis cache writes from a background task and drops what it cannot
write: measured with the workspace's server killed under a sandbox node, an order accepted
meanwhile never reached Redis and nothing was logged, while writes after the server came
back (on the same port) landed again. So a node must watch for itself:

- every :data:`INTERVAL_S` a PING (in this thread, never on the node's loop); the first
  failure publishes ``PersistenceLost`` and a critical ``AlertRaised`` (rule
  ``persistence``): from then on the node's state in Redis may miss writes;
- the workspace's own server is restarted (on the port running nodes know; the lock in
  ``engine.state.redis_server`` keeps several nodes from starting two);
- once Redis answers again, the node's cache (orders, positions, accounts) is compared
  with Redis on the node's loop and every key holding fewer events than memory is
  rewritten from memory (:func:`repair_from_cache`); then ``PersistenceRestored`` with
  the counts, and ``AlertResolved``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

from engine.state.integrity import dedupe_key
from engine.state.namespace import trader_prefix
from engine.state.redis_server import RedisUnavailable, ensure_workspace_redis, ping
from engine.state.target import RedisTarget
from engine.workspace import Workspace

INTERVAL_S = 1.0
SETTLE_S = 3.0
RULE = "persistence"
LOST = "PersistenceLost"
RESTORED = "PersistenceRestored"


def _serializer() -> Any:
    import msgspec
    from nautilus_trader.serialization.serializer import MsgSpecSerializer

    # As the kernel builds it for CacheConfig(encoding="msgpack").
    return MsgSpecSerializer(encoding=msgspec.msgpack, timestamps_as_str=True)


def repair_from_cache(cache: Any, client: Any, trader_id: str) -> dict[str, Any]:
    """Rewrite from ``cache`` every order, position and account list missing an event.

    Run on the node's loop (the cache is not thread-safe). Returns ``{"checked": n,
    "rewritten": [keys]}``.
    """
    ser = _serializer()
    prefix = trader_prefix(trader_id)
    checked = 0
    rewritten: list[str] = []
    pipe = client.pipeline(transaction=True)

    def rewrite(key: str, events: list[Any]) -> None:
        nonlocal checked
        checked += 1
        wanted = [ser.serialize(e) for e in events]
        have = set(client.lrange(key, 0, -1))
        if any(w not in have for w in wanted):
            pipe.delete(key)
            pipe.rpush(key, *wanted)
            rewritten.append(key)

    for order in cache.orders():
        oid = order.client_order_id.value
        rewrite(f"{prefix}orders:{oid}", list(order.events))
        pipe.sadd(f"{prefix}index:orders", oid)
        if order.is_open:
            pipe.srem(f"{prefix}index:orders_closed", oid)
            pipe.sadd(f"{prefix}index:orders_open", oid)
        elif order.is_closed:
            pipe.srem(f"{prefix}index:orders_open", oid)
            pipe.sadd(f"{prefix}index:orders_closed", oid)
        if order.venue_order_id is not None:  # a set of client order ids in Nautilus 1.231
            pipe.sadd(f"{prefix}index:order_ids", oid)
        position_id = cache.position_id(order.client_order_id)
        if position_id is not None:  # a hash
            pipe.hset(f"{prefix}index:order_position", oid, position_id.value)
    for position in cache.positions():
        pid = position.id.value
        rewrite(f"{prefix}positions:{pid}", list(position.events))
        pipe.sadd(f"{prefix}index:positions", pid)
        is_open = position.is_open
        pipe.sadd(f"{prefix}index:positions_{'open' if is_open else 'closed'}", pid)
        pipe.srem(f"{prefix}index:positions_{'closed' if is_open else 'open'}", pid)
    for account in cache.accounts():
        rewrite(f"{prefix}accounts:{account.id.value}", list(account.events))
    pipe.execute()
    return {"checked": checked, "rewritten": rewritten}


class RedisWatchdog:
    """Watch ``target`` from a thread; publish losses, restart our server, repair."""

    def __init__(
        self,
        target: RedisTarget,
        *,
        workspace: Workspace,
        node_id: str,
        trader_id: str,
        publish: Callable[..., Any],
        loop: asyncio.AbstractEventLoop,
        cache: Any,
        interval_s: float = INTERVAL_S,
    ) -> None:
        self.target = target
        self.workspace = workspace
        self.node_id = node_id
        self.trader_id = trader_id
        self.publish = publish
        self.loop = loop
        self.cache = cache
        self.interval_s = interval_s
        self.down_since_ns: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gateway-redis", daemon=True)

    def start(self) -> RedisWatchdog:
        self._thread.start()
        return self

    def stop(self) -> None:
        # No join: the thread may be waiting for the node's loop, which calls this.
        self._stop.set()

    def _alert(self, kind: str, message: str, ts_ns: int, **extra: Any) -> None:
        raised = self.down_since_ns or ts_ns
        payload = {
            "alert_id": f"{self.node_id}:{RULE}:redis",
            "rule": RULE,
            "node_id": self.node_id,
            "metric": "persistence.redis",
            "op": "==",
            "threshold": "down",
            "clear_threshold": "up",
            "value": "down" if kind == "AlertRaised" else "up",
            "severity": "critical",
            "message": message,
            "raised_ts_ns": raised,
            "ts_ns": ts_ns,
            **extra,
        }
        self.publish("alert", kind, payload, ts_ns)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            with contextlib.suppress(Exception):  # the watch must never take the node down
                self.check()

    def check(self) -> None:
        """One round: ping; on a change, publish, restart or repair."""
        why = ping(self.target, 0.5)
        now = time.time_ns()
        if why is not None:
            if self.down_since_ns is None:
                self.down_since_ns = now
                message = (
                    f"Redis at {self.target.url} ({self.target.source}) does not answer: "
                    f"{why}; the node's orders, positions and accounts are not being saved"
                )
                self.publish(
                    "system", LOST, {"url": self.target.url, "error": why, "message": message}
                )
                self._alert("AlertRaised", message, now)
            if self.target.own:
                with contextlib.suppress(RedisUnavailable):
                    ensure_workspace_redis(self.workspace)
            return
        if self.down_since_ns is None:
            return
        counts = self._repair()
        if counts is None:
            return  # try again next round
        # Nautilus's client retries writes it queued while Redis was away: one landing
        # after the rewrite doubles an event. Let them land, then drop repeats.
        self._stop.wait(SETTLE_S)
        doubled = self._dedupe(counts["rewritten"])
        down_s = (now - self.down_since_ns) / 1e9
        message = (
            f"Redis at {self.target.url} answers again after {down_s:.1f} s; "
            f"{len(counts['rewritten'])} of {counts['checked']} event lists rewritten from "
            f"the node's cache ({len(doubled)} then held late retried writes twice: deduplicated)"
        )
        self.publish(
            "system",
            RESTORED,
            {
                "url": self.target.url,
                "down_s": down_s,
                "checked": counts["checked"],
                "rewritten": counts["rewritten"],
                "deduplicated": doubled,
                "message": message,
            },
        )
        self._alert("AlertResolved", message, now, duration_s=down_s, reason="cleared")
        self.down_since_ns = None

    def _dedupe(self, keys: list[str]) -> list[str]:
        client = self.target.client(3.0)
        try:
            return [key for key in keys if dedupe_key(client, key)]
        except Exception:
            return []  # the next start drops them anyway (engine.state.prepare)
        finally:
            with contextlib.suppress(Exception):
                client.close()

    def _repair(self) -> dict[str, Any] | None:
        client = self.target.client(3.0)

        async def on_loop() -> dict[str, Any]:
            return repair_from_cache(self.cache, client, self.trader_id)

        try:
            future = asyncio.run_coroutine_threadsafe(on_loop(), self.loop)
            return future.result(timeout=10.0)
        except Exception as exc:
            self.publish(
                "system",
                "PersistenceRepairFailed",
                {"url": self.target.url, "error": f"{type(exc).__name__}: {exc}"},
            )
            return None
        finally:
            with contextlib.suppress(Exception):
                client.close()
