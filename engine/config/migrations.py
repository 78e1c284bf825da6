"""Schema migrations: a registry of version-to-version functions on raw documents.

To change the stored shape: bump ``SCHEMA_VERSION`` in :mod:`engine.config.model`, add
``@migration(n)`` taking a version-``n`` document to ``n + 1``, and a test for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.config.model import SCHEMA_VERSION

Document = dict[str, Any]
Migration = Callable[[Document], Document]

MIGRATIONS: dict[int, Migration] = {}


class MigrationError(ValueError):
    """The document's schema version cannot be brought to the current one."""


def migration(from_version: int) -> Callable[[Migration], Migration]:
    """Register ``fn`` as the migration from ``from_version`` to ``from_version + 1``."""

    def register(fn: Migration) -> Migration:
        if from_version in MIGRATIONS:
            raise RuntimeError(f"two migrations from schema version {from_version}")
        MIGRATIONS[from_version] = fn
        return fn

    return register


@migration(0)
def _v0_to_v1(doc: Document) -> Document:
    """Version 0 (pre-release drafts) named the node ``id`` and kept ``strategy`` singular."""
    doc = dict(doc)
    if "id" in doc and "node_id" not in doc:
        doc["node_id"] = doc.pop("id")
    if "strategy" in doc and "strategies" not in doc:
        doc["strategies"] = [doc.pop("strategy")]
    doc["schema_version"] = 1
    return doc


def schema_version_of(doc: Document) -> int:
    version = doc.get("schema_version", 0)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise MigrationError(f"schema_version: expected a whole number >= 0, got {version!r}")
    return version


def migrate(doc: Document, target: int = SCHEMA_VERSION) -> tuple[Document, list[int]]:
    """Bring ``doc`` to ``target``; return it and the versions it passed through."""
    version = schema_version_of(doc)
    if version > target:
        raise MigrationError(
            f"schema_version: {version} is newer than this gateway understands ({target}); "
            "upgrade nautilus-gateway"
        )
    steps = []
    while version < target:
        step = MIGRATIONS.get(version)
        if step is None:
            raise MigrationError(f"schema_version: no migration from version {version}")
        doc = step(doc)
        steps.append(version)
        version += 1
        if schema_version_of(doc) != version:
            raise RuntimeError(f"migration from {version - 1} did not set schema_version")
    return doc, steps
