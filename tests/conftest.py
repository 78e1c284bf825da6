"""Fixtures shared by every test layer."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.workspace import Workspace


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """An empty, isolated workspace."""
    return Workspace(tmp_path / ".gateway").ensure()
