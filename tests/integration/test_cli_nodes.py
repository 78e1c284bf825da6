"""`gateway nodes …` through the real entry point: exit codes, messages, nothing lost."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest

from engine.demo import demo_backtest
from tests.integration.cli import gateway, json_arg


@pytest.fixture
def ws(tmp_path: Path, tiny_catalog: Path) -> Path:
    # The demo backtest validates only with its instrument in the workspace's catalog.
    root = tmp_path / ".gateway"
    shutil.copytree(tiny_catalog, root / "catalog")
    return root


def create(ws: Path, doc: object, *extra: str) -> tuple[int, str, str]:
    r = gateway("nodes", "create", "--file", "-", *extra, workspace=ws, stdin=json_arg(doc))
    return r.code, r.out, r.err


def test_create_list_show_validate_delete(ws: Path) -> None:
    code, out, _ = create(ws, demo_backtest())
    assert code == 0 and "saved demo-backtest (backtest)" in out
    listed = json.loads(gateway("nodes", "list", "--json", workspace=ws).out)
    assert [(n["node_id"], n["mode"], n["ok"]) for n in listed] == [
        ("demo-backtest", "backtest", True)
    ]
    shown = json.loads(gateway("nodes", "show", "demo-backtest", "--json", workspace=ws).out)
    assert shown["strategies"][0]["config"]["trade_size"] == "100000"
    r = gateway("nodes", "validate", "demo-backtest", workspace=ws)
    assert r.code == 0 and "valid" in r.out
    assert gateway("nodes", "delete", "demo-backtest", workspace=ws).code == 2  # no tty, no --yes
    r = gateway("nodes", "delete", "demo-backtest", "--yes", workspace=ws)
    assert r.code == 0 and json.loads(gateway("nodes", "list", "--json", workspace=ws).out) == []


def test_bad_json_names_line_and_column(ws: Path) -> None:
    r = gateway("nodes", "create", "-f", "-", workspace=ws, stdin='{"node_id": "x",\n "mode": }')
    assert r.code == 2
    assert "invalid JSON at line 2 column" in r.err
    assert not (ws / "nodes").exists() or not any((ws / "nodes").iterdir())


def test_unknown_fields_are_named_with_the_allowed_ones(ws: Path) -> None:
    doc = demo_backtest() | {"strategys": []}
    doc["venues"][0]["leverage"] = 5
    code, _, err = create(ws, doc)
    assert code == 2
    assert "strategys: unknown field; expected one of:" in err
    assert "venues[0].leverage: unknown field" in err and "default_leverage" in err


def test_strategy_path_that_does_not_resolve(ws: Path) -> None:
    doc = demo_backtest()
    doc["strategies"][0]["strategy_path"] = "my_strategies.ema:Missing"
    code, _, err = create(ws, doc)
    assert code == 2
    assert "strategies[0].strategy_path: cannot import module 'my_strategies.ema'" in err


def test_negative_quantity_names_the_field_and_value(ws: Path) -> None:
    doc = demo_backtest()
    doc["strategies"][0]["config"]["trade_size"] = "-100000"
    r = gateway("nodes", "create", "-f", "-", "--json", workspace=ws, stdin=json_arg(doc))
    assert r.code == 2
    report = json.loads(r.out)
    assert report["ok"] is False
    assert {
        "path": "strategies[0].config.trade_size",
        "message": "expected a positive number",
        "value": "-100000",
        "severity": "error",
    } in report["issues"]
    code, _, err = create(ws, doc)
    assert code == 2
    assert "strategies[0].config.trade_size: expected a positive number (got '-100000')" in err
    assert "nothing was saved" in err


def test_config_from_a_newer_schema_version(ws: Path) -> None:
    code, _, err = create(ws, demo_backtest() | {"schema_version": 2})
    assert code == 2
    assert "schema_version: 2 is newer than this gateway understands (1)" in err


@pytest.mark.parametrize("node_id", ["../../outside", "a/../../b", "/tmp/abs"])
def test_node_id_that_tries_to_escape_the_store(ws: Path, tmp_path: Path, node_id: str) -> None:
    code, _, err = create(ws, demo_backtest() | {"node_id": node_id})
    assert code == 2 and "node_id: expected a slug" in err
    r = gateway("nodes", "show", node_id, workspace=ws)
    assert r.code == 2 and "node_id" in r.err
    assert sorted(p.name for p in tmp_path.iterdir()) == [".gateway"] or not list(
        tmp_path.glob("outside*")
    )


def test_invalid_update_keeps_the_stored_config(ws: Path) -> None:
    assert create(ws, demo_backtest())[0] == 0
    path = ws / "nodes" / "demo-backtest" / "backtest.json"
    before = path.read_bytes()
    code, _, err = create(ws, demo_backtest() | {"log_level": "LOUD"}, "--force")
    assert code == 2 and "log_level" in err
    assert path.read_bytes() == before
    code, _, err = create(ws, demo_backtest())
    assert code == 2 and "already exists" in err and "--force" in err


def test_list_reports_a_corrupt_file_and_still_lists_the_rest(ws: Path) -> None:
    assert create(ws, demo_backtest())[0] == 0
    broken = ws / "nodes" / "broken" / "backtest.json"
    broken.parent.mkdir()
    broken.write_text("{nope")
    r = gateway("nodes", "list", workspace=ws)
    assert r.code == 1
    assert "demo-backtest" in r.out
    assert f"INVALID {broken}" in r.out


def test_validate_a_file_and_stdin(ws: Path, tmp_path: Path) -> None:
    f = tmp_path / "node.json"
    f.write_text(json.dumps(demo_backtest()))
    r = gateway("nodes", "validate", str(f), workspace=ws)
    assert r.code == 0, r.err
    r = gateway(
        "nodes",
        "validate",
        "-",
        "--json",
        workspace=ws,
        stdin=json_arg(demo_backtest() | {"mode": "paper"}),
    )
    assert r.code == 2 and json.loads(r.out)["issues"][0]["path"] == "mode"
    r = gateway("nodes", "validate", "no-such-node", workspace=ws)
    assert r.code == 2 and "no node 'no-such-node'" in r.err


def _editor(tmp_path: Path, python: str) -> str:
    """An $EDITOR that applies a Python snippet to the file it is given."""
    script = tmp_path / "editor.py"
    script.write_text(
        "import json, sys\n"
        "p = sys.argv[1]\n"
        "lines = [l for l in open(p) if not l.startswith('//')]\n"
        "doc = json.loads(''.join(lines))\n"
        f"{python}\n"
        "open(p, 'w').write(json.dumps(doc))\n"
    )
    import sys

    return f"{sys.executable} {script}"


def test_edit_saves_a_valid_change_and_refuses_an_invalid_one(ws: Path, tmp_path: Path) -> None:
    assert create(ws, demo_backtest())[0] == 0
    path = ws / "nodes" / "demo-backtest" / "backtest.json"
    r = gateway(
        "nodes",
        "edit",
        "demo-backtest",
        workspace=ws,
        env={"EDITOR": _editor(tmp_path, "doc['description'] = 'edited'")},
    )
    assert r.code == 0, r.err
    assert json.loads(path.read_text())["description"] == "edited"
    before = path.read_bytes()
    r = gateway(
        "nodes",
        "edit",
        "demo-backtest",
        workspace=ws,
        env={"EDITOR": _editor(tmp_path, "doc['venues'][0]['name'] = 'lower'")},
    )
    assert r.code == 2
    assert "venues[0].name" in r.err and "nothing saved" in r.err
    assert path.read_bytes() == before


def test_schema_is_json_schema(ws: Path) -> None:
    schema = json.loads(gateway("nodes", "schema", workspace=ws).out)
    assert schema["title"] == "NodeConfig"
    assert {"node_id", "mode", "strategies"} <= set(schema["properties"])


def test_demo_init_and_workspace_option(tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    r = gateway("--workspace", str(other), "demo", "init", workspace=tmp_path / "unused")
    assert r.code == 0 and "created node demo-backtest" in r.out
    r = gateway("nodes", "list", "--json", "--workspace", str(other), workspace=tmp_path / "x")
    assert {n["node_id"] for n in json.loads(r.out)} >= {"demo-backtest", "demo-sandbox"}
    assert stat.S_IMODE((other / "run").stat().st_mode) == 0o700
