"""Every kind of gateway-owned data, its current version and its forward migrations.

A migration is a pure function from a version-``n`` document to a version-``n + 1`` one
(it never changes its argument), registered with ``@KIND.migration(n)``. To change a
stored shape: bump the kind's ``current``, add the step, store a fixture of the old
version under ``tests/fixtures/migrations/<kind>/v<n>/`` and the property tests cover it.

``missing`` is the version a document without the version field has: files written
before versions were stamped (``0``, the shape is otherwise today's), or kinds whose
version field has a default (adapter profiles, settings: ``1``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.workspace import Workspace

Document = dict[str, Any]
Migration = Callable[[Document], Document]

# The Redis key holding the key layout's version (the Redis state store writes it).
REDIS_LAYOUT_KEY = "gateway:layout"


@dataclass(frozen=True)
class DataKind:
    """One kind of stored document: where its files are and how its versions move."""

    name: str
    title: str
    current: int
    field: str
    missing: int | None  # version of a document without ``field`` (None: required)
    globs: tuple[str, ...] = ()  # files under the workspace root; () = not a file
    lines: bool = False  # JSON lines, each with its own version (the audit log)
    migrations: dict[int, Migration] = dataclasses.field(default_factory=dict)

    def migration(self, from_version: int) -> Callable[[Migration], Migration]:
        """Register ``fn`` as the step from ``from_version`` to ``from_version + 1``."""

        def register(fn: Migration) -> Migration:
            if from_version in self.migrations:
                raise RuntimeError(f"{self.name}: two migrations from version {from_version}")
            if not 0 <= from_version < self.current:
                raise RuntimeError(f"{self.name}: migration from {from_version} is out of range")
            self.migrations[from_version] = fn
            return fn

        return register

    def files(self, workspace: Workspace) -> Iterator[Path]:
        for pattern in self.globs:
            yield from sorted(workspace.root.glob(pattern))

    def steps(self, version: int) -> list[int]:
        """The versions to step from to reach ``current`` (raises when one is missing)."""
        missing = [v for v in range(version, self.current) if v not in self.migrations]
        if missing:
            raise LookupError(f"no migration from version {missing[0]}")
        return list(range(version, self.current))

    def migrate(self, doc: Document, version: int) -> Document:
        """``doc`` (at ``version``) brought to ``current``: each step applied in order."""
        for step in self.steps(version):
            doc = self.migrations[step](doc)
            got = doc.get(self.field)
            if got != step + 1:
                raise RuntimeError(f"{self.name}: migration from {step} set {self.field}={got!r}")
        return doc


def _stamp(kind: DataKind, version: int) -> Migration:
    """A step that only writes the version field (the shape did not change)."""

    def step(doc: Document) -> Document:
        return {kind.field: version, **{k: v for k, v in doc.items() if k != kind.field}}

    step.__doc__ = f"{kind.name}: stamp {kind.field}={version} (the shape is unchanged)"
    return step


NODE_CONFIG = DataKind(  # only the store's files: <mode>.json (a user's notes.json is not ours)
    "node_config",
    "node configs",
    1,
    "schema_version",
    0,
    ("nodes/*/backtest.json", "nodes/*/sandbox.json", "nodes/*/live.json"),
)
RUN_META = DataKind("run_meta", "run metadata", 1, "schema_version", 0, ("runs/*/*/meta.json",))
AUDIT = DataKind(
    "audit", "audit log", 1, "v", None, ("audit/audit.jsonl", "audit/seals.jsonl"), lines=True
)
ADAPTER_PROFILE = DataKind(
    "adapter_profile", "adapter profiles", 1, "version", 1, ("adapters/*.json",)
)
RISK_STATE = DataKind("risk_state", "risk state", 1, "schema_version", None, ("state/*/risk.json",))
SETTINGS = DataKind("settings", "settings", 1, "schema_version", 1, ("settings.json",))
TOKENS = DataKind("tokens", "API tokens", 1, "schema_version", 0, ("tokens.json",))
KEYRING_CHOICE = DataKind(
    "keyring_choice", "keyring choice", 1, "schema_version", 1, ("keyring.json",)
)
REDIS_LAYOUT = DataKind("redis_layout", "Redis key layout", 1, "layout", None)

KINDS: dict[str, DataKind] = {
    k.name: k
    for k in (
        NODE_CONFIG,
        RUN_META,
        AUDIT,
        ADAPTER_PROFILE,
        RISK_STATE,
        SETTINGS,
        TOKENS,
        KEYRING_CHOICE,
        REDIS_LAYOUT,
    )
}


def _node_config_v0(doc: Document) -> Document:
    from engine.config.migrations import MIGRATIONS

    return MIGRATIONS[0](doc)  # the node config store's own step (engine/config/migrations.py)


NODE_CONFIG.migration(0)(_node_config_v0)
RUN_META.migration(0)(_stamp(RUN_META, 1))  # meta.json before versions: same fields
TOKENS.migration(0)(_stamp(TOKENS, 1))  # tokens.json before versions: same fields


def redis_layout_steps(stored: bytes | str | None, where: str = REDIS_LAYOUT_KEY) -> list[int]:
    """The migrations the Redis key layout needs, from the value of ``gateway:layout``.

    ``None`` (no key: a new Redis) needs none: the store writes the current version. At
    version 1 there is nothing to do; a newer value raises :class:`NewerVersion`, a bad
    one :class:`VersionError`. The Redis store runs each step (a function of the client,
    added here beside the version bump) before it writes the new version.
    """
    from engine.migrate.versions import VersionError, check_version

    if stored is None:
        return []
    text = stored.decode("utf-8", "replace") if isinstance(stored, bytes) else stored
    try:
        value: Any = int(text.strip())
    except ValueError:
        raise VersionError(where, f"expected a whole number, got {text[:24]!r}") from None
    version = check_version(
        {REDIS_LAYOUT.field: value}, REDIS_LAYOUT.field, where, REDIS_LAYOUT.current, missing=None
    )
    return REDIS_LAYOUT.steps(version)
