"""The workspace: where a gateway keeps node configs, runs, the catalog and sockets.

Resolution order: an explicit path (``--workspace``), then ``$GATEWAY_HOME``, then
``./.gateway`` in the current directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV_VAR = "GATEWAY_HOME"
DIRNAME = ".gateway"


@dataclass(frozen=True, slots=True)
class Workspace:
    """Paths inside one gateway workspace (nothing is created until asked)."""

    root: Path

    @classmethod
    def resolve(cls, explicit: str | os.PathLike[str] | None = None) -> Workspace:
        """Return the workspace named by ``explicit``, ``$GATEWAY_HOME`` or the cwd."""
        if explicit:
            return cls(Path(explicit).expanduser().resolve())
        env = os.environ.get(ENV_VAR)
        if env:
            return cls(Path(env).expanduser().resolve())
        return cls((Path.cwd() / DIRNAME).resolve())

    @property
    def nodes_dir(self) -> Path:
        return self.root / "nodes"

    @property
    def adapters_dir(self) -> Path:
        return self.root / "adapters"

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    @property
    def catalog_dir(self) -> Path:
        return self.root / "catalog"

    @property
    def run_dir(self) -> Path:
        """Sockets and pid files of running node hosts (mode 0700)."""
        return self.root / "run"

    @property
    def settings_path(self) -> Path:
        return self.root / "settings.json"

    def exists(self) -> bool:
        return self.root.is_dir()

    def ensure(self) -> Workspace:
        """Create the workspace's directories (private run dir) and return self.

        A workspace created here (nothing in it yet) gets ``schema.json`` at the current
        versions; one with content is left at whatever version it has.
        """
        from engine.migrate.stamp import stamp_new_workspace

        self.root.mkdir(parents=True, exist_ok=True)
        stamp_new_workspace(self)
        for path in (self.nodes_dir, self.adapters_dir, self.runs_dir, self.catalog_dir):
            path.mkdir(parents=True, exist_ok=True)
        self.run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.run_dir.chmod(0o700)
        return self
