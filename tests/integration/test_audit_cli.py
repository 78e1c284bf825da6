"""`gateway audit list|verify` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from engine.audit.log import AuditLog
from engine.principal import Principal
from engine.workspace import Workspace
from tests.integration.cli import gateway


def test_list_filters_and_verify_names_the_altered_entry(tmp_path: Path) -> None:
    log = AuditLog.of(Workspace(tmp_path))
    log.append(
        Principal("ana", "cli"), "orders.submit", target={"node_id": "a"}, result={"ok": True}
    )
    log.append(
        Principal("bot", "api"),
        "orders.cancel",
        target={"node_id": "b"},
        result={"ok": False, "code": "rejected", "message": "too late"},
    )

    listed = gateway("audit", "list", "--who", "bot", "--json", workspace=tmp_path)
    assert listed.code == 0, listed.err
    rows = json.loads(listed.out)
    assert [(r["seq"], r["who"], r["action"]) for r in rows] == [(2, "bot", "orders.cancel")]
    text = gateway("audit", "list", workspace=tmp_path)
    assert "rejected: too late" in text.out and "ana@cli" in text.out

    ok = gateway("audit", "verify", workspace=tmp_path)
    assert ok.code == 0 and "2 entries" in ok.out

    raw = log.paths.log.read_bytes().replace(b'"node_id":"a"', b'"node_id":"z"')
    log.paths.log.write_bytes(raw)
    bad = gateway("audit", "verify", workspace=tmp_path)
    assert bad.code == 1
    assert "seq 1" in bad.err and "altered" in bad.err


def test_a_bad_since_is_invalid_input(tmp_path: Path) -> None:
    result = gateway("audit", "list", "--since", "last tuesday", workspace=tmp_path)
    assert result.code == 2
    assert "--since" in result.err and "expected" in result.err
    assert "Traceback" not in result.err
