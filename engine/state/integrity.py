"""Keep a trader's event lists in Redis loadable: no event twice, none missing.

Nautilus stores each order, position and account as a Redis list of its events
(``trader-<ID>:orders:<client order id>``, ``positions:<id>``, ``accounts:<id>``) and
refuses to load a list holding one event twice ("Corrupt cache with duplicate event"):
the node would not start. Its Redis client retries writes across a Redis restart, so an
event can land twice (measured: a restart under a sandbox node doubled an order's three
events), and upstream warm-restart bugs double events too (Nautilus issues 3176, 3046).
An event serializes to the same bytes every time, so a duplicate is a repeated element.
"""

from __future__ import annotations

from typing import Any

from engine.state.namespace import trader_prefix

EVENT_LISTS = ("orders", "positions", "accounts")
BATCH = 500


def event_list_keys(client: Any, trader_id: str) -> list[str]:
    """Every order, position and account key of ``trader_id`` (SCAN, not KEYS)."""
    prefix = trader_prefix(trader_id)
    keys: list[str] = []
    for kind in EVENT_LISTS:
        for key in client.scan_iter(match=f"{prefix}{kind}:*", count=1000):
            keys.append(key.decode() if isinstance(key, bytes) else str(key))
    return sorted(keys)


def drop_duplicate_events(client: Any, trader_id: str) -> dict[str, Any]:
    """Rewrite each of the trader's event lists that repeats an element, first ones kept.

    Returns ``{"checked": n, "rewritten": [keys]}``. Run only while no node of this trader
    id writes (before its node is built).
    """
    rewritten: list[str] = []
    keys = event_list_keys(client, trader_id)
    for start in range(0, len(keys), BATCH):  # one round trip per batch, not per key
        chunk = keys[start : start + BATCH]
        read = client.pipeline(transaction=False)
        for key in chunk:
            read.lrange(key, 0, -1)
        for key, items in zip(chunk, read.execute(raise_on_error=False), strict=True):
            if not isinstance(items, list):
                continue  # not a list (another writer's key): not ours to touch
            unique = list(dict.fromkeys(items))
            if len(unique) != len(items):
                pipe = client.pipeline(transaction=True)
                pipe.delete(key)
                pipe.rpush(key, *unique)
                pipe.execute()
                rewritten.append(key)
    return {"checked": len(keys), "rewritten": rewritten}


def dedupe_key(client: Any, key: str) -> bool:
    """Drop repeated elements of one list while its node may write: an optimistic
    transaction (WATCH), retried if the node appended meanwhile. True if it rewrote."""
    done: list[bool] = []

    def rewrite(pipe: Any) -> None:
        items = pipe.lrange(key, 0, -1)
        unique = list(dict.fromkeys(items))
        pipe.multi()
        if len(unique) != len(items):
            pipe.delete(key)
            pipe.rpush(key, *unique)
        done[:] = [len(unique) != len(items)]

    client.transaction(rewrite, key)
    return bool(done and done[0])
