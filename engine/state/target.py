"""Which Redis a sandbox or live node keeps its cache in, and Nautilus's config for it.

In order: the node config's ``redis_url``, then ``"redis": {"url": ...}`` in the workspace's
``settings.json``, else the workspace's own ``redis-server`` (``engine.state.redis_server``).
Backtests keep their cache in memory.

Nautilus 1.231 builds its connection URL from ``DatabaseConfig.host`` and ``port`` alone
(``redis://host:port``): no Unix socket (measured: a ``redis+unix://`` host is refused with
"Invalid database number", a path with "Missing hostname") and no database index, so a URL
here names a host and port, optionally ``rediss://`` for TLS, and database 0. Passwords are
refused in these files (secrets live only in the OS keyring).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from engine.json_input import JsonInputError, read_json_file
from engine.workspace import Workspace

if TYPE_CHECKING:
    from nautilus_trader.cache.config import CacheConfig

    from engine.config.model import NodeConfig

SETTINGS_FIELD = "settings.redis.url"
NODE_FIELD = "redis_url"
URL_EXPECTED = "a URL redis://HOST:PORT or rediss://HOST:PORT (database 0, no password)"


class RedisTargetInvalid(ValueError):
    """A Redis URL that cannot be used; names the field, the value and what was expected."""

    def __init__(self, field: str, value: Any, expected: str, where: str = "") -> None:
        self.field = field
        self.value = value
        self.expected = expected
        head = f"{where}: " if where else ""
        super().__init__(f"{head}{field}: {expected} (got {value!r})")


@dataclass(frozen=True, slots=True)
class RedisTarget:
    """A Redis server reachable over TCP, and where the choice of it came from."""

    host: str
    port: int
    source: str  # "node config redis_url", "settings.json redis.url", "workspace redis-server"
    ssl: bool = False
    username: str | None = None

    @property
    def url(self) -> str:
        """For messages: never holds a secret."""
        scheme = "rediss" if self.ssl else "redis"
        user = f"{self.username}@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"

    @property
    def own(self) -> bool:
        """The workspace's own server (started and restarted by the gateway)."""
        return self.source == WORKSPACE_SOURCE

    def client(self, timeout_s: float = 2.0) -> Any:
        """A ``redis.Redis`` client on database 0, as Nautilus uses it."""
        import redis

        return redis.Redis(
            host=self.host,
            port=self.port,
            username=self.username,
            ssl=self.ssl,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
        )


WORKSPACE_SOURCE = "workspace redis-server"


def mask_password(url: str) -> str:
    """``url`` with the user-info part's password replaced by ``***``, however malformed
    the rest (an error message must not show a password even for a URL it refuses)."""
    return _USERINFO_PASSWORD.sub(r"\1***@", url)


_USERINFO_PASSWORD = re.compile(r"(//[^/@:]*:)[^/@]*@")


def parse_redis_url(url: Any, field: str, source: str, where: str = "") -> RedisTarget:
    """Read ``url`` into a :class:`RedisTarget`, or raise :class:`RedisTargetInvalid`."""
    if not isinstance(url, str) or not url.strip():
        raise RedisTargetInvalid(field, url, URL_EXPECTED, where)
    shown = mask_password(url)
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise RedisTargetInvalid(field, shown, URL_EXPECTED, where) from None
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise RedisTargetInvalid(field, shown, URL_EXPECTED, where)
    if parts.password is not None:
        raise RedisTargetInvalid(
            field,
            shown,
            "no password in a file (secrets live only in the OS keyring); " + URL_EXPECTED,
            where,
        )
    if parts.path not in ("", "/", "/0") or parts.query or parts.fragment:
        raise RedisTargetInvalid(
            field,
            shown,
            "database 0 and no options: Nautilus 1.231 connects to host:port only; " + URL_EXPECTED,
            where,
        )
    return RedisTarget(
        host=parts.hostname,
        port=port or 6379,
        source=source,
        ssl=parts.scheme == "rediss",
        username=parts.username or None,
    )


def settings_redis_url(workspace: Workspace) -> str | None:
    """``redis.url`` of the workspace's settings.json (None when absent)."""
    path = workspace.settings_path
    try:
        data: Any = read_json_file(path)
    except FileNotFoundError:
        return None
    except (OSError, JsonInputError) as exc:
        raise RedisTargetInvalid("settings", str(path), f"readable settings ({exc})") from None
    if not isinstance(data, dict) or data.get("redis") is None:
        return None
    section = data["redis"]
    if not isinstance(section, dict) or set(section) - {"url"}:
        raise RedisTargetInvalid(
            "settings.redis", section, 'an object {"url": "redis://HOST:PORT"}', str(path)
        )
    url = section.get("url")
    if url is None:
        return None
    parse_redis_url(url, SETTINGS_FIELD, "", str(path))
    return str(url)


def configured_target(workspace: Workspace, node: NodeConfig | None) -> RedisTarget | None:
    """The Redis named for ``node`` (its config, then settings.json); None: the workspace's."""
    if node is not None and node.redis_url:
        return parse_redis_url(node.redis_url, NODE_FIELD, "node config redis_url")
    url = settings_redis_url(workspace)
    if url is not None:
        return parse_redis_url(url, SETTINGS_FIELD, "settings.json redis.url")
    return None


def cache_config(target: RedisTarget) -> CacheConfig:
    """Nautilus's cache written through to ``target`` and restored from it at build."""
    from nautilus_trader.cache.config import CacheConfig
    from nautilus_trader.common.config import DatabaseConfig

    return CacheConfig(
        database=DatabaseConfig(
            type="redis",
            host=target.host,
            port=target.port,
            username=target.username,
            ssl=target.ssl,
            connection_timeout=5,
        ),
        encoding="msgpack",
        buffer_interval_ms=None,  # write-through: a batch would widen what a crash loses
        flush_on_start=False,
        use_trader_prefix=True,
        use_instance_id=False,
    )
