"""Nautilus's JSON log lines as the host's log events."""

from __future__ import annotations

import calendar
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from engine.host.logtail import LogTailer, parse_log_line, timestamp_ns


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


def test_nautilus_timestamps_become_unix_nanoseconds() -> None:
    assert timestamp_ns("2026-12-02T05:37:39.929466376Z") == 1_796_189_859_929_466_376
    assert timestamp_ns("2026-12-02T05:37:39Z") == 1_796_189_859_000_000_000
    assert timestamp_ns("2026-12-02T07:37:39.5+02:00") == 1_796_189_859_500_000_000
    for bad in (
        "",
        "2026-13-02T05:37:39Z",  # month 13
        "2026-02-30T05:37:39Z",
        "2026-12-02T24:00:00Z",
        "2026-12-02 05:37:39Z",
        "\u0662\u0660\u0662\u0666-12-02T05:37:39Z",  # Arabic-Indic digits
        "2026-12-02T05:37:39.1234567891Z",  # ten fraction digits
        "9999-12-31T23:59:59Z",  # past an int64 of nanoseconds
        "1969-12-31T23:59:59Z",
        "x" * 10_000,
    ):
        assert timestamp_ns(bad) is None, bad


@given(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2262, 1, 1)))
def test_any_rfc3339_utc_time_round_trips(moment: datetime) -> None:
    nanos = moment.microsecond * 1000 + moment.second % 7  # sub-microsecond digits too
    text = moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"
    whole = calendar.timegm(moment.timetuple())
    assert timestamp_ns(text) == whole * 1_000_000_000 + nanos


@given(st.text(max_size=40))
def test_no_text_makes_the_timestamp_parser_raise(text: str) -> None:
    result = timestamp_ns(text)
    assert result is None or 0 <= result < 2**63


def test_the_tailer_flushes_before_each_read_and_stamps_lines_with_their_time(
    tmp_path: Path,
) -> None:
    path = tmp_path / "nautilus.jsonl"
    got: list[tuple[str, int | None]] = []
    flushes: list[float] = []

    def flush() -> None:
        # What Nautilus's logging thread does on a flush: its buffer reaches the file.
        flushes.append(time.monotonic())
        with path.open("ab") as fh:
            fh.write(
                b'{"timestamp":"2026-12-02T05:37:39.929466376Z","level":"INFO",'
                b'"component":"A","message":"buffered"}\n'
            )

    tailer = LogTailer(
        path,
        lambda kind, type, payload, ts_ns=None: got.append((payload["message"], ts_ns)),
        poll_s=0.01,
        flush=flush,
    ).start()
    try:
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        tailer.stop()
    assert flushes and got
    assert got[0] == ("buffered", 1_796_189_859_929_466_376)
    # A backtest's lines carry simulated time: they keep the time they were read.
    read_time: list[int | None] = []
    backtest = LogTailer(
        path,
        lambda kind, type, payload, ts_ns=None: read_time.append(ts_ns),
        flush=None,
        line_time=False,
    )
    assert backtest.poll() > 0 and set(read_time) == {None}


def test_flushing_before_nautilus_is_loaded_does_nothing() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from engine.host.logtail import flush_nautilus_log; flush_nautilus_log(); "
        "assert 'nautilus_trader.common.component' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_an_error_report_keeps_the_error_line_ahead_of_the_shutdown_lines(tmp_path: Path) -> None:
    path = tmp_path / "nautilus.jsonl"
    lines = [b'{"level":"INFO","component":"Node","message":"start %d"}' % i for i in range(5)]
    lines.append(b'{"level":"ERROR","component":"ExecClient","message":"Error on \'_connect\'"}')
    lines += [b'{"level":"INFO","component":"X","message":"DISPOSED %d"}' % i for i in range(40)]
    path.write_bytes(b"\n".join(lines) + b"\n")
    tailer = LogTailer(path, lambda *a, **k: None)
    tail = tailer.last_lines(20)
    assert len(tail) == 20
    assert tail[0] == "ERROR ExecClient: Error on '_connect'"
    assert tail[-1] == "INFO X: DISPOSED 39"
    assert "start" not in " ".join(tail)
