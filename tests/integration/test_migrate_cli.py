"""`gateway migrate` and the workspace check every entry point makes, through the real
`gateway` executable: a legacy workspace migrated (dry run first), a newer one refused by
every front end and never rewritten, a hostile file, a directory that refuses writes."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.cli import gateway

FIXTURES = Path(__file__).parent.parent / "fixtures" / "migrations"
RUN_ID = "20261101T120000123Z-a1b2c3"


def legacy(root: Path) -> Path:
    """A workspace written before versions: v0 run meta, tokens and node config."""
    places = {
        "node_config": "nodes/demo-backtest/backtest.json",
        "run_meta": f"runs/demo-sandbox/{RUN_ID}/meta.json",
        "tokens": "tokens.json",
    }
    for kind, rel in places.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(next((FIXTURES / kind / "v0").iterdir()), target)
    return root


def files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.endswith(".lock") and "logs" not in p.parts
    }


def test_migrate_a_legacy_workspace_dry_run_then_for_real(tmp_path: Path) -> None:
    ws = legacy(tmp_path / ".gateway")
    before = files(ws)

    listed = gateway("runs", "list", "--json", workspace=ws)  # read in place, not rewritten
    assert listed.code == 0 and RUN_ID in listed.out and files(ws) == before

    dry = gateway("migrate", "--dry-run", "--json", workspace=ws)
    assert dry.code == 0, dry.err
    doc = json.loads(dry.out)
    assert (doc["from_version"], doc["to_version"], doc["done"]) == (0, 1, False)
    assert sorted((c["kind"], c["from"], c["to"]) for c in doc["changes"]) == [
        ("node_config", 0, 1),
        ("run_meta", 0, 1),
        ("tokens", 0, 1),
    ]
    assert files(ws) == before

    text = gateway("migrate", "--dry-run", workspace=ws)
    assert "3 file(s) would change" in text.out and "dry run: nothing written" in text.out

    done = gateway("migrate", workspace=ws)
    assert done.code == 0, done.err
    assert "migrated 3 file(s) and schema.json; backup: " in done.out
    backup = Path(done.out.strip().rsplit("backup: ", 1)[1])
    for rel in ("tokens.json", f"runs/demo-sandbox/{RUN_ID}/meta.json"):
        assert (backup / "files" / rel).read_bytes() == before[rel]
    assert json.loads((ws / "schema.json").read_text())["schema_version"] == 1
    shown = gateway("nodes", "show", "demo-backtest", "--json", workspace=ws)
    assert shown.code == 0 and json.loads(shown.out)["node_id"] == "demo-backtest"

    again = gateway("migrate", "--json", workspace=ws)
    assert again.code == 0 and json.loads(again.out)["changes"] == []
    assert "nothing to migrate" in gateway("migrate", workspace=ws).out


@pytest.mark.parametrize("version", ["2", "1" + "0" * 40])
def test_a_newer_workspace_is_refused_by_every_entry_point(tmp_path: Path, version: str) -> None:
    ws = legacy(tmp_path / ".gateway")
    (ws / "schema.json").write_text(f'{{"schema_version": {version}, "kinds": {{}}}}')
    before = files(ws)
    for args in (
        ["runs", "list"],
        ["nodes", "list", "--json"],
        ["console"],
        ["serve", "--port", "0"],
        ["tokens", "list"],
        ["migrate"],
        ["migrate", "--dry-run", "--json"],
    ):
        result = gateway(*args, workspace=ws, timeout=60)
        assert result.code == 2, (args, result.out, result.err)
        out = result.err + result.out
        assert f"{ws / 'schema.json'}: schema_version " in out, (args, out)
        assert "is newer than this gateway reads (1)" in out and "Traceback" not in out
    assert files(ws) == before  # never rewritten


def test_an_unusable_schema_json_is_named(tmp_path: Path) -> None:
    ws = legacy(tmp_path / ".gateway")
    (ws / "schema.json").write_bytes(b'{"schema_version": "one"}')
    result = gateway("ps", workspace=ws)
    assert result.code == 2
    assert 'schema.json: schema_version: expected a whole number, got "one" (string)' in result.err
    (ws / "schema.json").write_bytes(b"\xff\xfe")
    result = gateway("migrate", workspace=ws)
    assert result.code == 2 and "schema.json: not UTF-8 text (byte 0xff at offset 0)" in result.err


def test_a_non_utf8_file_stops_migrate_with_nothing_written(tmp_path: Path) -> None:
    ws = legacy(tmp_path / ".gateway")
    bad = ws / "runs" / "other" / RUN_ID / "meta.json"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b'{"node_id": "\xff"}')
    before = files(ws)
    result = gateway("migrate", workspace=ws)
    assert result.code == 2
    assert f"{bad}" in result.err and "not UTF-8 text" in result.err
    assert "nothing was written" in result.err
    assert files(ws) == before and not (ws / "backups").exists()


def test_a_directory_that_refuses_writes_leaves_the_workspace_as_it_was(tmp_path: Path) -> None:
    """chattr +i: even root cannot create or rename in the directory (a real refusal)."""
    ws = legacy(tmp_path / ".gateway")
    (ws / "schema.json").unlink(missing_ok=True)
    locked = ws / "runs" / "demo-sandbox" / RUN_ID
    if subprocess.run(["chattr", "+i", str(locked)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available on this file system")
    try:
        before = files(ws)
        result = gateway("migrate", "--json", workspace=ws)
        assert result.code == 1, result.out
        doc = json.loads(result.out)
        assert "operation not permitted" in doc["error"] and "put back as they were" in doc["error"]
        assert any("meta.json" in r for r in doc["remaining"])
        after = {k: v for k, v in files(ws).items() if not k.startswith("backups/")}
        assert after == before and not (ws / "schema.json").exists()
    finally:
        subprocess.run(["chattr", "-i", str(locked)], check=True)
    assert gateway("migrate", workspace=ws).code == 0  # and it completes once writes work
