"""API tokens: created once (shown once), stored only as a hash, listed, revoked.

``<workspace>/tokens.json`` (mode 0600) holds, per token name, the sha256 of the token, its
scopes (``read``, ``trade``, ``admin``: each endpoint needs one, none implies another) and
optional limits to node ids and modes. The token itself (``gw_`` and 32 random bytes,
base64url) is returned by :meth:`TokenStore.create` and never written anywhere.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

from engine.atomic import atomic_write_text
from engine.migrate.versions import VersionError, check_version
from engine.principal import Principal
from engine.services.audit import audited
from engine.services.errors import ServiceError
from engine.services.models import TokenInfo
from engine.workspace import Workspace

TOKENS_SCHEMA_VERSION = 1  # engine.migrate.kinds.TOKENS; bump both with a migration
SCOPES = ("read", "trade", "admin")
MODES = ("backtest", "sandbox", "live")
TOKEN_PREFIX = "gw_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


@dataclass(frozen=True, slots=True)
class Grant:
    """What one token may do."""

    name: str
    scopes: frozenset[str]
    nodes: frozenset[str] | None = None  # None: every node
    modes: frozenset[str] | None = None  # None: every mode

    @property
    def principal(self) -> Principal:
        return Principal(self.name, "api")

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise ServiceError(
                "forbidden",
                f"token {self.name!r} lacks the {scope!r} scope (it has: "
                f"{', '.join(sorted(self.scopes)) or 'none'})",
                field="scope",
                value=scope,
                expected=f"a token with the {scope!r} scope",
            )

    def may_see(self, node_id: str, mode: str | None = None) -> bool:
        if self.nodes is not None and node_id not in self.nodes:
            return False
        return not (self.modes is not None and mode is not None and mode not in self.modes)

    def require_node(self, node_id: str, mode: str | None = None) -> None:
        if self.nodes is not None and node_id not in self.nodes:
            raise ServiceError(
                "forbidden",
                f"token {self.name!r} is limited to nodes {', '.join(sorted(self.nodes))}",
                field="node_id",
                value=node_id,
                expected="one of " + ", ".join(sorted(self.nodes)),
            )
        if self.modes is not None and mode is not None and mode not in self.modes:
            raise ServiceError(
                "forbidden",
                f"token {self.name!r} is limited to {', '.join(sorted(self.modes))} nodes; "
                f"{node_id} is a {mode} node",
                field="mode",
                value=mode,
                expected="one of " + ", ".join(sorted(self.modes)),
            )

    @property
    def limited(self) -> bool:
        return self.nodes is not None or self.modes is not None


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _list_field(
    name: str,
    values: Iterable[str] | None,
    allowed: Iterable[str] | None,
    pattern: re.Pattern[str] | None = None,
) -> list[str] | None:
    if values is None:
        return None
    out = sorted({v.strip() for v in values if v.strip()})
    allowed_set = set(allowed) if allowed is not None else None
    for v in out:
        if (allowed_set is not None and v not in allowed_set) or (
            pattern is not None and not pattern.fullmatch(v)
        ):
            expected = (
                f"one or more of {', '.join(sorted(allowed_set))}"
                if allowed_set is not None
                else "node ids (slugs) separated by commas"
            )
            raise ServiceError.invalid(name, v, f"expected {expected}")
    if not out:
        raise ServiceError.invalid(name, "", "expected at least one value")
    return out


class TokenStore:
    """The tokens of one workspace."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.path: Path = workspace.root / "tokens.json"
        self._lock = FileLock(str(self.path) + ".lock", timeout=10)
        self._cache: tuple[float, int, dict[str, dict[str, Any]]] | None = None

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return {}
        if self._cache is not None and self._cache[:2] == (st.st_mtime, st.st_size):
            return self._cache[2]
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise ServiceError("failed", f"cannot read {self.path}: {exc}") from exc
        try:  # absent: written before versions (0), read the same
            check_version(data, "schema_version", str(self.path), TOKENS_SCHEMA_VERSION, missing=0)
        except VersionError as exc:
            raise ServiceError("failed", str(exc)) from None
        tokens = data.get("tokens", {}) if isinstance(data, dict) else {}
        self._cache = (st.st_mtime, st.st_size, tokens)
        return tokens

    def _write(self, tokens: dict[str, dict[str, Any]]) -> None:
        self.workspace.root.mkdir(parents=True, exist_ok=True)
        atomic_write_text(
            self.path,
            json.dumps({"schema_version": TOKENS_SCHEMA_VERSION, "tokens": tokens}, indent=2)
            + "\n",
            0o600,
        )
        self._cache = None

    def create(
        self,
        who: Principal,
        name: str,
        scopes: Iterable[str],
        *,
        nodes: Iterable[str] | None = None,
        modes: Iterable[str] | None = None,
    ) -> str:
        """Make a token; return it (the only time it exists outside the caller)."""
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ServiceError.invalid(
                "name", name, "expected letters, digits, '_', '.', '-', at most 64 characters"
            )
        scope_list = _list_field("scope", scopes, SCOPES) or []
        node_list = _list_field("nodes", nodes, None, _SLUG)
        mode_list = _list_field("modes", modes, MODES)

        def call() -> str:
            with self._lock:
                tokens = dict(self._read())
                if name in tokens and not tokens[name].get("revoked"):
                    raise ServiceError(
                        "conflict",
                        f"a token named {name!r} exists; revoke it first",
                        field="name",
                        value=name,
                        expected="a new token name",
                    )
                token = TOKEN_PREFIX + secrets.token_urlsafe(32)
                tokens[name] = {
                    "sha256": token_hash(token),
                    "scopes": scope_list,
                    "nodes": node_list,
                    "modes": mode_list,
                    "created": _now(),
                    "revoked": None,
                }
                self._write(tokens)
                return token

        request = {"scopes": scope_list, "nodes": node_list, "modes": mode_list}
        return audited(
            self.workspace, who, "tokens.create", {"name": name}, request, call, lambda _: {}
        )

    def revoke(self, who: Principal, name: str) -> TokenInfo:
        def call() -> TokenInfo:
            with self._lock:
                tokens = dict(self._read())
                rec = tokens.get(name)
                if rec is None or rec.get("revoked"):
                    raise ServiceError(
                        "not_found",
                        f"no active token named {name!r} (see: gateway tokens list)",
                        field="name",
                        value=name,
                        expected="the name of an active token",
                    )
                tokens[name] = {**rec, "revoked": _now()}
                self._write(tokens)
                return _info(name, tokens[name])

        return audited(self.workspace, who, "tokens.revoke", {"name": name}, {}, call, lambda _: {})

    def list(self) -> list[TokenInfo]:
        return [_info(name, rec) for name, rec in sorted(self._read().items())]

    def authenticate(self, token: str) -> Grant | None:
        """The grant of an active token, or None (unknown or revoked)."""
        digest = token_hash(token)
        for name, rec in self._read().items():
            if hmac.compare_digest(str(rec.get("sha256", "")), digest):
                if rec.get("revoked"):
                    return None
                nodes, modes = rec.get("nodes"), rec.get("modes")
                return Grant(
                    name=name,
                    scopes=frozenset(rec.get("scopes") or ()),
                    nodes=frozenset(nodes) if nodes is not None else None,
                    modes=frozenset(modes) if modes is not None else None,
                )
        return None


def _info(name: str, rec: dict[str, Any]) -> TokenInfo:
    return TokenInfo(
        name=name,
        scopes=list(rec.get("scopes") or []),
        nodes=rec.get("nodes"),
        modes=rec.get("modes"),
        created=str(rec.get("created", "")),
        revoked=rec.get("revoked"),
    )
