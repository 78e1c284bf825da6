"""Nautilus's JSON log lines as the host's log events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.host.logtail import LogTailer, parse_log_line


def test_a_nautilus_json_line_gives_its_level_component_message_and_time() -> None:
    line = (
        b'{"timestamp":"2026-12-02T05:37:39.929466376Z","trader_id":"DEMO-001",'
        b'"level":"WARN","color":"YELLOW","component":"RiskEngine","message":"halted"}'
    )
    assert parse_log_line(line) == {
        "level": "WARN",
        "component": "RiskEngine",
        "message": "halted",
        "timestamp": "2026-12-02T05:37:39.929466376Z",
    }


def test_lines_of_other_shapes_are_kept_as_text_or_skipped() -> None:
    assert parse_log_line(b"thread 'main' panicked") == {
        "level": "INFO",
        "component": "",
        "message": "thread 'main' panicked",
        "timestamp": None,
    }
    assert parse_log_line(b'{"level": 30, "message": "numeric level"}') == {
        "level": "30",
        "component": "",
        "message": "numeric level",
        "timestamp": None,
    }
    assert parse_log_line(b"[1, 2]") is None
    assert parse_log_line(b"   ") is None


def test_the_tailer_publishes_complete_lines_only_and_the_rest_when_stopped(
    tmp_path: Path,
) -> None:
    path = tmp_path / "nautilus.jsonl"
    got: list[dict[str, Any]] = []
    tailer = LogTailer(path, lambda kind, type, payload, ts_ns=None: got.append(payload))
    assert tailer.poll() == 0  # no file yet
    path.write_bytes(b'{"level":"INFO","component":"A","message":"one"}\n{"level":"IN')
    assert tailer.poll() == 1
    with path.open("ab") as fh:
        fh.write(b'FO","component":"B","message":"two"}\npartial tail')
    assert tailer.poll() == 1
    assert tailer.poll(final=True) == 1
    assert [p["message"] for p in got] == ["one", "two", "partial tail"]
