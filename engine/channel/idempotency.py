"""Idempotency keys on node commands: a retried command never acts twice.

A client that loses its connection after the host received a command cannot know whether
the command ran; it retries with the same ``idempotency_key``. The host runs a key's
command once: a retry while it runs waits for that run's outcome, a retry after it gets the
same outcome again (a reply map marked ``"replayed": true``), and the same key with a
different command is refused. Keys are kept
for the host's life, the newest ``capacity`` of them (a retry comes seconds after the
first try, not thousands of commands later).
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

MAX_KEY_LEN = 200
CAPACITY = 10_000
META_FIELDS = ("idempotency_key", "principal")

type Outcome = tuple[bool, Any]  # (ok, result dict | error text)


class IdempotencyError(ValueError):
    """The key is malformed, or was used before for a different command."""


def split_meta(cmd: dict[str, Any]) -> tuple[dict[str, Any], str | None, Any]:
    """The command without its envelope fields, its idempotency key and its principal."""
    body = {k: v for k, v in cmd.items() if k not in META_FIELDS}
    key = cmd.get("idempotency_key")
    if key is not None and (not isinstance(key, str) or not 0 < len(key) <= MAX_KEY_LEN):
        raise IdempotencyError(
            f"command field 'idempotency_key': got {str(key)[:40]!r}, "
            f"expected a string of 1 to {MAX_KEY_LEN} characters"
        )
    return body, key, cmd.get("principal")


def fingerprint(body: dict[str, Any]) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)


class IdempotencyCache:
    """Outcomes by key, for the commands of one host (used from one event loop)."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[str, tuple[str, asyncio.Future[Outcome]]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    async def run(
        self, key: str, body: dict[str, Any], call: Callable[[], Awaitable[Outcome]]
    ) -> Outcome:
        """The outcome of ``call()`` for ``key``, running it only the first time."""
        print_ = fingerprint(body)
        seen = self._entries.get(key)
        if seen is not None:
            if seen[0] != print_:
                raise IdempotencyError(
                    f"idempotency key {key!r} was already used for a different command"
                )
            self._entries.move_to_end(key)
            ok, result = await asyncio.shield(seen[1])
            # Said, so a client can tell its retry from a first run (what it waits on is past).
            return ok, {**result, "replayed": True} if isinstance(result, dict) else result
        fut: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._entries[key] = (print_, fut)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
        try:
            outcome = await call()
        except BaseException as exc:
            # Not run to an outcome (the host is stopping): a retry may run it.
            self._entries.pop(key, None)
            fut.cancel()
            raise exc
        fut.set_result(outcome)
        return outcome
