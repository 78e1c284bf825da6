"""engine/ must run without a UI: importing all of it never loads Textual or Rich."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import engine

ROOT = Path(__file__).resolve().parents[2]


def engine_modules() -> list[str]:
    return sorted(
        m.name
        for m in pkgutil.walk_packages(engine.__path__, prefix="engine.")
        if not m.name.endswith("__main__")
    )


def test_every_engine_module_imports_without_textual_or_rich() -> None:
    modules = engine_modules()
    assert "engine.config.validate" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('textual', 'rich', 'console', 'widgets'))\n"
        "print(','.join(bad))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"engine pulled in UI modules: {proc.stdout}"
