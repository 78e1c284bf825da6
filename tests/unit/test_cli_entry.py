"""The CLI's last resort: an unexpected exception is one line and a log file, exit 1."""

from __future__ import annotations

import errno
import sys
from pathlib import Path

import pytest

import console.cli.main
from console.cli import entry


def _run(monkeypatch: pytest.MonkeyPatch, argv: list[str], exc: BaseException) -> int:
    def boom() -> None:
        raise exc

    monkeypatch.setattr(console.cli.main, "main", boom)
    monkeypatch.setattr(sys, "argv", ["gateway", *argv])
    with pytest.raises(SystemExit) as done:
        entry.main()
    return int(done.value.code or 0)


def test_unexpected_error_is_one_line_and_the_traceback_goes_to_a_log(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    argv = ["-w", str(workspace), "adapters", "add", "x", "--api-secret", "hunter2"]
    code = _run(monkeypatch, argv, RuntimeError("something\nbroke"))
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    (line,) = err.strip().splitlines()
    assert line.startswith("error: unexpected RuntimeError: something broke (details in ")
    (log,) = (workspace / "logs").iterdir()
    assert str(log) in line
    text = log.read_text()
    assert "Traceback" in text and "RuntimeError: something" in text
    assert "hunter2" not in text and "--api-secret ***" in text  # a secret-named option
    assert log.stat().st_mode & 0o077 == 0


def test_without_a_workspace_the_log_goes_to_a_temp_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    code = _run(monkeypatch, ["-w", str(tmp_path / "missing"), "ps"], KeyError("k"))
    assert code == 1 and not (tmp_path / "missing").exists()  # no workspace made for a log
    assert f"details in {tmp_path}/gateway-" in capsys.readouterr().err


def test_a_file_system_error_names_the_path_without_a_log(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    exc = OSError(errno.EROFS, "Read-only file system", str(tmp_path / ".gateway" / "nodes"))
    code = _run(monkeypatch, [], exc)
    assert code == 1
    assert capsys.readouterr().err == "error: cannot write .gateway/nodes: read-only file system\n"
