"""Node configs: list, read, create, update, delete, validate, schema (over ConfigStore)."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any

from engine.config.issues import ConfigInvalid, ConfigIssue
from engine.config.migrations import MigrationError, migrate
from engine.config.model import Mode, NodeConfig
from engine.config.store import AmbiguousNode, ConfigStore, NodeNotFound, StoredNode
from engine.config.validate import validate_node
from engine.principal import Principal
from engine.services.audit import audited
from engine.services.errors import ServiceError
from engine.services.models import (
    ConfigDocument,
    ConfigSummary,
    DeletedConfig,
    Issue,
    SavedConfig,
    ValidationResult,
)
from engine.workspace import Workspace

MODES = ", ".join(m.value for m in Mode)


def issue_model(issue: ConfigIssue) -> Issue:
    data = issue.to_dict()
    return Issue(
        path=data["path"], message=data["message"], value=data["value"], severity=data["severity"]
    )


def check_mode(mode: str | None) -> Mode | None:
    if mode is None:
        return None
    try:
        return Mode(mode)
    except ValueError:
        raise ServiceError.invalid("mode", mode, f"expected one of {MODES}") from None


def lookup_error(exc: Exception, node_id: str) -> ServiceError:
    """The error for a failed lookup of a stored node config."""
    if isinstance(exc, NodeNotFound):
        return ServiceError(
            "not_found", str(exc), field="node_id", value=node_id, expected="a stored node id"
        )
    if isinstance(exc, AmbiguousNode):
        return ServiceError(
            "invalid", str(exc), field="mode", value=None, expected=f"one of {MODES}"
        )
    if isinstance(exc, ConfigInvalid):
        if exc.source is None:  # the argument itself (a node id that is not a slug)
            return ServiceError.from_issues(exc.issues)
        err = ServiceError.from_issues(exc.issues, f"stored config {exc.source} is invalid")
        err.code = "conflict"
        return err
    raise exc


def _summary(s: StoredNode) -> ConfigSummary:
    return ConfigSummary(
        node_id=s.node_id,
        mode=s.mode,
        ok=s.ok,
        description=s.config.description if s.config else None,
        tags=list(s.config.tags) if s.config else [],
        issues=[issue_model(i) for i in s.issues],
    )


def _parse(doc: Any) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise ServiceError.invalid("", type(doc).__name__, "expected a JSON object")
    try:
        migrated, _ = migrate(doc)
    except MigrationError as exc:
        raise ServiceError.from_issues(
            [ConfigIssue("schema_version", str(exc), doc.get("schema_version"))]
        ) from None
    return migrated


class ConfigService:
    """Node configs in ``<workspace>/nodes/``: a stored valid config is never replaced by an
    invalid one, and a refused write stores nothing."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.store = ConfigStore(workspace)
        # path -> ((mtime_ns, size), summary): a file is parsed again only once it changed.
        self._summaries: dict[Path, tuple[tuple[int, int], ConfigSummary]] = {}

    def list(self) -> list[ConfigSummary]:
        """Every stored config, sorted by node id and mode (broken ones with their issues)."""
        listed = self._list(parse=True)
        assert listed is not None
        return listed

    def list_if_cached(self) -> builtins.list[ConfigSummary] | None:
        """:meth:`list` when no config changed since it last ran (a stat per file, no
        parsing: cheap enough for an event loop); ``None`` when one must be read again."""
        return self._list(parse=False)

    def _list(self, *, parse: bool) -> builtins.list[ConfigSummary] | None:
        root = self.store.root
        if not root.is_dir():
            return []
        out = []
        seen = set()
        for node_dir in sorted(p for p in root.iterdir() if p.is_dir()):
            for path in sorted(node_dir.glob("*.json")):
                try:
                    st = path.stat()
                except OSError:
                    continue
                stamp = (st.st_mtime_ns, st.st_size)
                cached = self._summaries.get(path)
                if cached is None or cached[0] != stamp:
                    if not parse:
                        return None
                    # The store's own loader: the same result as ConfigStore.all() gives.
                    cached = (stamp, _summary(self.store._load_path(path, deep=False)))
                    self._summaries[path] = cached
                seen.add(path)
                out.append(cached[1])
        for gone in set(self._summaries) - seen:
            del self._summaries[gone]
        return out

    def config(self, node_id: str, mode: str | None = None) -> NodeConfig:
        """The stored config of ``node_id`` (its only mode, or ``mode``)."""
        resolved = check_mode(mode)
        try:
            return self.store.get(node_id, resolved)
        except (NodeNotFound, AmbiguousNode, ConfigInvalid) as exc:
            raise lookup_error(exc, node_id) from None

    def get(self, node_id: str, mode: str | None = None) -> ConfigDocument:
        config = self.config(node_id, mode)
        return ConfigDocument(
            node_id=config.node_id, mode=config.mode.value, config=config.to_json_dict()
        )

    def validate(self, doc: Any) -> ValidationResult:
        """Validate a document all the way down (Nautilus included); store nothing."""
        try:
            migrated = _parse(doc)
        except ServiceError as exc:
            issues = exc.issues or (ConfigIssue(exc.field, exc.expected, exc.value),)
            return ValidationResult(ok=False, issues=[issue_model(i) for i in issues])
        report = validate_node(migrated, self.workspace, deep=True)
        return ValidationResult(ok=report.ok, issues=[issue_model(i) for i in report.issues])

    def schema(self) -> dict[str, Any]:
        return NodeConfig.model_json_schema()

    def create(self, who: Principal, doc: Any, *, overwrite: bool = False) -> SavedConfig:
        """Validate and store a new config (``conflict`` if one exists, unless ``overwrite``)."""
        target = (
            {"node_id": doc.get("node_id"), "mode": doc.get("mode")}
            if isinstance(doc, dict)
            else {}
        )
        return audited(
            self.workspace,
            who,
            "nodes.create",
            target,
            {"overwrite": overwrite},
            lambda: self._save(doc, overwrite=overwrite),
            lambda saved: {"created": saved.created},
        )

    def update(self, who: Principal, node_id: str, mode: str, doc: Any) -> SavedConfig:
        """Replace a stored config; its id and mode cannot change."""

        def call() -> SavedConfig:
            resolved = check_mode(mode)
            self.config(node_id, mode)  # exists (not_found otherwise)
            parsed = _parse(doc)
            for name, want in (("node_id", node_id), ("mode", resolved and resolved.value)):
                if parsed.get(name) != want:
                    raise ServiceError.invalid(
                        name,
                        parsed.get(name),
                        f"expected {want!r}: an update cannot rename a node or change its mode",
                    )
            return self._save(parsed, overwrite=True)

        return audited(
            self.workspace,
            who,
            "nodes.update",
            {"node_id": node_id, "mode": mode},
            {},
            call,
            lambda saved: {"created": saved.created},
        )

    def delete(self, who: Principal, node_id: str, mode: str | None = None) -> DeletedConfig:
        def call() -> DeletedConfig:
            resolved = check_mode(mode)
            try:
                found = self.store.resolve_mode(node_id, resolved)
                self.store.delete(node_id, found)
            except (NodeNotFound, AmbiguousNode, ConfigInvalid) as exc:
                raise lookup_error(exc, node_id) from None
            return DeletedConfig(node_id=node_id, mode=found.value)

        return audited(
            self.workspace,
            who,
            "nodes.delete",
            {"node_id": node_id, "mode": mode},
            {},
            call,
            lambda deleted: {"mode": deleted.mode},
        )

    def _save(self, doc: Any, *, overwrite: bool) -> SavedConfig:
        parsed = _parse(doc)
        try:
            existed = self.store.path_for(
                str(parsed.get("node_id")), str(parsed.get("mode"))
            ).exists()
        except (ConfigInvalid, ValueError):
            existed = False  # save() names what is wrong with the id or mode
        try:
            report = self.store.save(parsed, overwrite=overwrite)
        except ConfigInvalid as exc:
            raise ServiceError.from_issues(exc.issues, exc.source) from None
        except FileExistsError as exc:
            raise ServiceError(
                "conflict",
                str(exc),
                field="node_id",
                value=parsed.get("node_id"),
                expected="a node id and mode not stored yet (or an update)",
            ) from None
        config = report.config
        assert config is not None
        return SavedConfig(
            node_id=config.node_id,
            mode=config.mode.value,
            created=not existed,
            warnings=[issue_model(i) for i in report.warnings],
        )


def check_node_ref(node_id: str) -> str:
    """``node_id`` if it is a slug (anything else could address another path)."""
    from engine.config.store import check_node_id

    try:
        return check_node_id(node_id)
    except ConfigInvalid as exc:
        raise ServiceError.from_issues(exc.issues) from None
