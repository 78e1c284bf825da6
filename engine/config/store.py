"""The node config store: ``<workspace>/nodes/<node_id>/<mode>.json``.

Writes are atomic (temp file, fsync, rename) and validated first, so a stored valid config
is never replaced by an invalid one. A corrupt or invalid stored file is reported with its
path while the other nodes still load.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.atomic import atomic_write_text
from engine.config.issues import ConfigInvalid, ConfigIssue
from engine.config.migrations import MigrationError, migrate
from engine.config.model import NODE_ID_PATTERN, Mode, NodeConfig
from engine.config.validate import ValidationReport, validate_node
from engine.json_input import JsonInputError, parse_json
from engine.workspace import Workspace

_NODE_ID = re.compile(NODE_ID_PATTERN)


class NodeNotFound(KeyError):
    """No stored config for this node id (and mode)."""

    def __str__(self) -> str:
        return str(self.args[0])


class AmbiguousNode(ValueError):
    """A node id has several modes stored and none was chosen."""


@dataclass(frozen=True, slots=True)
class StoredNode:
    """One stored file and what loading it gave: a config, or the issues with it."""

    node_id: str
    mode: str
    path: Path
    config: NodeConfig | None
    issues: tuple[ConfigIssue, ...] = ()
    migrated_from: int | None = None

    @property
    def ok(self) -> bool:
        return self.config is not None


def check_node_id(node_id: str) -> str:
    """Return ``node_id`` if it is a slug; anything else could address another path."""
    if not isinstance(node_id, str) or not _NODE_ID.fullmatch(node_id):
        raise ConfigInvalid(
            [
                ConfigIssue(
                    "node_id",
                    "expected a slug: lower-case letters, digits and inner "
                    "hyphens, at most 64 chars",
                    node_id,
                )
            ]
        )
    return node_id


def parse_document(text: str | bytes, source: str) -> dict[str, Any]:
    """Parse JSON text into a document, or raise ConfigInvalid saying what is wrong
    (line and column, bytes that are not UTF-8, nesting too deep)."""
    try:
        doc = parse_json(text)
    except JsonInputError as exc:
        raise ConfigInvalid([ConfigIssue("", str(exc))], source) from None
    if not isinstance(doc, dict):
        raise ConfigInvalid([ConfigIssue("", "expected a JSON object", type(doc).__name__)], source)
    return doc


class ConfigStore:
    """Read and write node configs in a workspace."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.root = workspace.nodes_dir

    def path_for(self, node_id: str, mode: Mode | str) -> Path:
        node_id = check_node_id(node_id)
        mode = Mode(mode)
        path = (self.root / node_id / f"{mode.value}.json").resolve()
        if self.root.resolve() not in path.parents:  # defence in depth after the slug check
            raise ConfigInvalid([ConfigIssue("node_id", "resolves outside the store", node_id)])
        return path

    # -- reading ---------------------------------------------------------------------
    def all(self, *, deep: bool = False) -> list[StoredNode]:
        """Every stored file, sorted by node id and mode; broken ones carry their issues."""
        if not self.root.is_dir():
            return []
        out = []
        for node_dir in sorted(p for p in self.root.iterdir() if p.is_dir()):
            for path in sorted(node_dir.glob("*.json")):
                out.append(self._load_path(path, deep=deep))
        return out

    def modes(self, node_id: str) -> list[Mode]:
        check_node_id(node_id)
        node_dir = self.root / node_id
        return [m for m in Mode if (node_dir / f"{m.value}.json").is_file()]

    def resolve_mode(self, node_id: str, mode: Mode | str | None = None) -> Mode:
        """The mode to use for ``node_id``: the given one, or the only one stored."""
        if mode is not None:
            mode = Mode(mode)
            if not self.path_for(node_id, mode).is_file():
                raise NodeNotFound(f"no {mode.value} config for node {node_id!r}")
            return mode
        modes = self.modes(node_id)
        if not modes:
            raise NodeNotFound(f"no node {node_id!r} in {self.root}")
        if len(modes) > 1:
            raise AmbiguousNode(
                f"node {node_id!r} has {', '.join(m.value for m in modes)} configs; "
                "choose one with --mode"
            )
        return modes[0]

    def load(
        self, node_id: str, mode: Mode | str | None = None, *, deep: bool = False
    ) -> StoredNode:
        """Load one node's config (migrated in memory if old); never raises on bad content."""
        mode = self.resolve_mode(node_id, mode)
        return self._load_path(self.path_for(node_id, mode), deep=deep)

    def get(self, node_id: str, mode: Mode | str | None = None) -> NodeConfig:
        """Load one node's config or raise ConfigInvalid with the issues and the path."""
        stored = self.load(node_id, mode)
        if stored.config is None:
            raise ConfigInvalid(list(stored.issues), str(stored.path))
        return stored.config

    def _load_path(self, path: Path, *, deep: bool) -> StoredNode:
        node_id, mode = path.parent.name, path.stem
        try:
            doc = parse_document(path.read_bytes(), str(path))
            doc, steps = migrate(doc)
        except ConfigInvalid as exc:
            return StoredNode(node_id, mode, path, None, tuple(exc.issues))
        except (MigrationError, OSError) as exc:
            return StoredNode(
                node_id,
                mode,
                path,
                None,
                (
                    ConfigIssue(
                        "schema_version" if isinstance(exc, MigrationError) else "", str(exc)
                    ),
                ),
            )
        report = validate_node(doc, self.workspace, deep=deep)
        issues = list(report.issues)
        if report.config is not None:
            if report.config.node_id != node_id:
                issues.append(
                    ConfigIssue(
                        "node_id",
                        f"does not match its directory {node_id!r}",
                        report.config.node_id,
                    )
                )
            if report.config.mode.value != mode:
                issues.append(
                    ConfigIssue(
                        "mode",
                        f"does not match its file name {mode}.json",
                        report.config.mode.value,
                    )
                )
        config = report.config if not any(i.severity == "error" for i in issues) else None
        return StoredNode(node_id, mode, path, config, tuple(issues), steps[0] if steps else None)

    # -- writing ---------------------------------------------------------------------
    def save(
        self, data: dict[str, Any] | NodeConfig, *, overwrite: bool = True, deep: bool = True
    ) -> ValidationReport:
        """Validate ``data`` and store it atomically; raise ConfigInvalid (nothing written)."""
        if isinstance(data, dict):
            try:
                data, _ = migrate(data)
            except MigrationError as exc:
                raise ConfigInvalid(
                    [ConfigIssue("schema_version", str(exc), data.get("schema_version"))]
                ) from None
        report = validate_node(data, self.workspace, deep=deep)
        config = report.raise_for_errors()
        self.check_trader_id(config)
        path = self.path_for(config.node_id, config.mode)
        if not overwrite and path.exists():
            raise FileExistsError(
                f"node {config.node_id!r} ({config.mode.value}) already exists at {path}"
            )
        text = json.dumps(config.to_json_dict(), indent=2) + "\n"
        new_dir = not path.parent.exists()
        try:
            atomic_write_text(path, text)
        except OSError:
            if new_dir:  # nothing half-written: no empty node directory left behind
                with contextlib.suppress(OSError):
                    path.parent.rmdir()
            raise
        return report

    def trader_id_owner(self, config: NodeConfig) -> StoredNode | None:
        """Another stored sandbox/live config with ``config``'s trader id, if any.

        Their caches live in Redis under ``trader-<TRADER_ID>:``: two nodes with one trader
        id would read and overwrite each other's orders and positions. Backtests keep their
        cache in memory and may share one.
        """
        if config.mode is Mode.BACKTEST:
            return None
        for stored in self.all():
            other = stored.config
            if (
                other is not None
                and other.mode is not Mode.BACKTEST
                and other.trader_id == config.trader_id
                and (other.node_id, other.mode) != (config.node_id, config.mode)
            ):
                return stored
        return None

    def check_trader_id(self, config: NodeConfig) -> None:
        """Raise ConfigInvalid (field ``trader_id``) if another node config has its trader id."""
        owner = self.trader_id_owner(config)
        if owner is not None:
            raise ConfigInvalid(
                [
                    ConfigIssue(
                        "trader_id",
                        f"already used by node {owner.node_id!r} ({owner.mode}, {owner.path}); "
                        "each sandbox or live node needs its own trader id, which names its "
                        "state in Redis",
                        config.trader_id,
                    )
                ]
            )

    def delete(self, node_id: str, mode: Mode | str | None = None) -> list[Path]:
        """Delete one mode's file (or the only one); the node dir goes when it is empty."""
        link = self.root / check_node_id(node_id)
        if link.is_symlink():
            # Deleting through the link would remove a file outside the workspace.
            raise ConfigInvalid(
                [
                    ConfigIssue(
                        "node_id",
                        f"{link} is a symbolic link to {os.readlink(link)}; not deleted "
                        f"through it (remove the link itself: rm {link})",
                        node_id,
                    )
                ]
            )
        mode = self.resolve_mode(node_id, mode)
        path = self.path_for(node_id, mode)
        path.unlink()
        node_dir = path.parent
        if not any(node_dir.iterdir()):
            shutil.rmtree(node_dir)
        return [path]

    def migrate_all(self) -> list[tuple[Path, int]]:
        """Rewrite every stored file that is older than the current schema."""
        done = []
        for stored in self.all():
            if stored.config is not None and stored.migrated_from is not None:
                atomic_write_text(
                    stored.path, json.dumps(stored.config.to_json_dict(), indent=2) + "\n"
                )
                done.append((stored.path, stored.migrated_from))
        return done
