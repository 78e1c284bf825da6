"""`gateway nodes reconcile` on bad input: exit 2 naming what is wrong, never a traceback;
a known node that is not running: exit 1 saying so."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.cli.main import cli
from engine.config.store import ConfigStore
from engine.demo import demo_sandbox
from engine.workspace import Workspace


def run(ws: Path, *args: str) -> tuple[int, str, BaseException | None]:
    result = CliRunner().invoke(cli, ["-w", str(ws), "nodes", "reconcile", *args])
    exc = result.exception if not isinstance(result.exception, SystemExit) else None
    return result.exit_code, result.output, exc


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(min_size=1, max_size=40).filter(lambda s: not s.startswith("-")))
def test_any_node_id_is_refused_or_answered_never_a_traceback(tmp_path: Path, node_id: str) -> None:
    code, out, exc = run(tmp_path / ".gateway", node_id, "--json")
    assert exc is None, exc
    assert code == 2, out
    data = json.loads(out)
    assert data["ok"] is False and data["code"] in ("invalid_node", "unknown_node")


def test_flags_and_a_stopped_node(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / ".gateway").ensure()
    ConfigStore(ws).save(demo_sandbox(), deep=False)
    code, out, exc = run(ws.root, "demo-sandbox", "--yes")
    assert exc is None and code == 2 and "--accept-venue" in out
    code, out, exc = run(ws.root, "demo-sandbox")
    assert exc is None and code == 1 and "not running" in out
    code, out, exc = run(ws.root, "demo-sandbox", "--accept-venue", "--yes")
    assert exc is None and code == 1 and "not running" in out
