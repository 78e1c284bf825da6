"""No input or stored file makes the CLI print a traceback or a false state.

Through the real entry point (``python -m console``): hostile files to `nodes create`,
`nodes validate` and `order --json`, a read-only workspace, a symlinked node directory,
no terminal for the console, and runs whose journal or meta.json is damaged.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.cli.main import cli
from engine.demo import demo_backtest, demo_sandbox
from engine.events.envelope import Envelope
from engine.journal import JOURNAL_FILE
from engine.journal.format import HEADER
from engine.runs import META_FILE, list_runs
from engine.workspace import Workspace
from tests.integration.backtest_support import small_workspace, write_node
from tests.integration.cli import GATEWAY, gateway


def run_bytes(*args: str, workspace: Path, stdin: bytes = b"") -> tuple[int, str, str]:
    """The real entry point with raw bytes on stdin (the helper in cli.py takes text)."""
    env = {**os.environ, "GATEWAY_HOME": str(workspace), "NO_COLOR": "1"}
    proc = subprocess.run(
        [*GATEWAY, *args], input=stdin, capture_output=True, env=env, timeout=120, check=False
    )
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    workspace = small_workspace(tmp_path_factory.mktemp("robust") / ".gateway", ticks=3_000)
    write_node(workspace, demo_sandbox())
    return workspace


def _deep(n: int) -> bytes:
    return b'{"a":' * n + b"1" + b"}" * n


HOSTILE_FILES = {
    "nested 100k deep": b"[" * 100_000 + b"]" * 100_000,
    "object nested 100k deep": _deep(100_000),
    "not UTF-8": b'{"node_id": "\xff\xfe"}',
    "NaN constant": b'{"trade_size": NaN}',
    "a list": b"[1, 2, 3]",
    "empty": b"",
    "random bytes": bytes(range(256)) * 4,
}


@pytest.mark.parametrize("name", list(HOSTILE_FILES))
@pytest.mark.parametrize(
    ("command", "via"),
    [
        (("nodes", "create", "-f"), "file"),
        (("nodes", "create", "-f"), "stdin"),
        (("nodes", "validate"), "file"),
        (("nodes", "validate"), "stdin"),
        # (order --json - reads stdin as text: that reading is the orders-validate work's)
        (("order", "demo-sandbox", "--json"), "file"),
    ],
    ids=[
        "nodes-create-file",
        "nodes-create-stdin",
        "nodes-validate-file",
        "nodes-validate-stdin",
        "order-json-file",
    ],
)
def test_hostile_files_exit_2_with_a_message_not_a_traceback(
    ws: Workspace, tmp_path: Path, name: str, command: tuple[str, ...], via: str
) -> None:
    path = tmp_path / "input.json"
    path.write_bytes(HOSTILE_FILES[name])
    target = str(path) if via == "file" else "-"
    stdin = HOSTILE_FILES[name] if via == "stdin" else b""
    code, out, err = run_bytes(*command, target, workspace=ws.root, stdin=stdin)
    assert code == 2, (name, out, err)
    assert "Traceback" not in err + out and "unexpected" not in err
    assert err.strip(), "the error is said"
    assert not (ws.nodes_dir / "None").exists()


def _backtest_with(path: list[str | int], value: Any) -> dict[str, Any]:
    doc = demo_backtest()
    doc["node_id"] = "hostile"
    node: Any = doc
    for part in path[:-1]:
        node = node.setdefault(part, {}) if isinstance(part, str) else node[part]
    node[path[-1]] = value
    return doc


FIELDS: list[list[str | int]] = [
    ["strategies", 0, "config", "trade_size"],
    ["strategies", 0, "config", "fast_ema_period"],
    ["venues", 0, "starting_balances", 0],
    ["venues", 0, "default_leverage"],
    ["data", 0, "catalog_path"],
    ["data", 0, "instrument_ids", 0],
    ["risk", "max_notional_per_order"],
    ["restart", "backoff_seconds"],
    ["node_id"],
    ["description"],
]
HOSTILE_VALUES = (
    st.sampled_from(
        [
            "NaN",
            "inf",
            "-inf",
            "1e400",
            "-0",
            "0",
            "-1",
            "9" * 400,
            "0." + "1" * 39,
            "١٢٣",
            "",
            "x" * 10_000,
            "9999-12-31T23:59:59Z",
            "/etc",
            "/dev/null",
            "../../etc",
        ]
    )
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats(allow_nan=False)
    | st.none()
    | st.booleans()
    | st.lists(st.integers(), max_size=2)
    | st.dictionaries(st.text(max_size=5), st.integers(), max_size=2)
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(field=st.sampled_from(FIELDS), value=HOSTILE_VALUES)
def test_hostile_values_are_refused_with_the_field_or_launchable(
    ws: Workspace, field: list[str | int], value: Any
) -> None:
    # In process (click's runner re-raises nothing: any exception would be a traceback).
    text = json.dumps(_backtest_with(field, value))
    runner = CliRunner()
    result = runner.invoke(cli, ["-w", str(ws.root), "nodes", "validate", "-"], input=text)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:
        assert any(
            line.strip().startswith("error: ") and ": " in line.strip()[7:]
            for line in result.output.splitlines()
        ), result.output
    # create agrees with validate: the same verdict, and a refused config is not stored.
    created = runner.invoke(
        cli, ["-w", str(ws.root), "nodes", "create", "-f", "-", "--force"], input=text
    )
    assert created.exception is None or isinstance(created.exception, SystemExit)
    assert created.exit_code == result.exit_code, created.output
    stored = ws.nodes_dir / "hostile"
    assert stored.exists() == (result.exit_code == 0 and field != ["node_id"])
    if stored.exists():
        shutil.rmtree(stored)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.binary(max_size=2048)
    | st.text(max_size=200).map(str.encode)
    | st.sampled_from([b"{}", b"[]", b"1", b"null", b'{"node_id": {}}', b"\xef\xbb\xbf{}"])
)
def test_any_bytes_as_a_config_exit_2_naming_the_problem(ws: Workspace, data: bytes) -> None:
    runner = CliRunner()
    for args in (["nodes", "validate", "-"], ["nodes", "create", "-f", "-"]):
        result = runner.invoke(cli, ["-w", str(ws.root), *args], input=data)
        assert isinstance(result.exception, SystemExit), result.output
        assert result.exit_code == 2 and "error: " in result.output, result.output


def test_symlinked_node_dir_is_not_deleted_through(ws: Workspace, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "sandbox.json").write_text(json.dumps({**demo_sandbox(), "node_id": "linked"}))
    link = ws.nodes_dir / "linked"
    link.symlink_to(elsewhere)
    try:
        r = gateway("nodes", "delete", "linked", "--yes", workspace=ws.root)
        assert r.code == 2 and "symbolic link" in r.err and "Traceback" not in r.err
        assert (elsewhere / "sandbox.json").is_file() and link.is_symlink()
    finally:
        link.unlink()


@contextlib.contextmanager
def read_only_copy(source: Path) -> Iterator[Path]:
    """``source`` copied onto a tmpfs that is then remounted read-only (root runs the
    tests, and root writes through chmod 0o500; a read-only mount stops root too)."""
    mount = Path(tempfile.mkdtemp(prefix="gateway-ro-"))
    done = subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        mount.rmdir()
        pytest.skip(
            f"cannot mount a tmpfs here ({done.stderr.decode().strip()}); the "
            "file-where-a-directory-is-expected test covers the error path"
        )
    try:
        shutil.copytree(source, mount / ".gateway", symlinks=True)
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        yield mount / ".gateway"
    finally:
        subprocess.run(["umount", str(mount)], check=False)
        mount.rmdir()


def test_read_only_workspace_says_cannot_write_and_exits_1(ws: Workspace, tmp_path: Path) -> None:
    doc = {**demo_sandbox(), "node_id": "new-node", "trader_id": "NEW-001"}
    with read_only_copy(ws.root) as root:
        before = sorted(p.name for p in (root / "nodes").iterdir())
        r = gateway("nodes", "create", "-f", "-", workspace=root, stdin=json.dumps(doc))
        assert r.code == 1 and "read-only file system" in r.err, r.err
        assert f"cannot write {root}/nodes/new-node" in r.err or "nodes/new-node" in r.err
        assert sorted(p.name for p in (root / "nodes").iterdir()) == before
        for args in (("launch", "demo-sandbox"), ("launch", "demo-backtest")):
            r = gateway(*args, workspace=root)
            assert r.code == 1 and "read-only file system" in r.err, (args, r.err)
            assert "Traceback" not in r.err and "unexpected" not in r.err
    with read_only_copy(tmp_path) as root:  # demo init into a read-only parent
        r = gateway("demo", "init", workspace=root / "ws")
        assert r.code == 1 and "read-only file system" in r.err and "Traceback" not in r.err


def test_a_file_where_a_directory_is_expected_is_named(tmp_path: Path) -> None:
    root = tmp_path / ".gateway"
    root.mkdir()
    (root / "nodes").write_text("not a directory")
    r = gateway("nodes", "create", "-f", "-", workspace=root, stdin=json.dumps(demo_sandbox()))
    assert r.code == 1 and "nodes" in r.err and "not a directory" in r.err, r.err
    assert "Traceback" not in r.err and (root / "nodes").read_text() == "not a directory"


def test_console_without_a_terminal_exits_2_at_once(ws: Workspace) -> None:
    for args in ((), ("console",)):
        r = gateway(*args, workspace=ws.root, stdin="", timeout=30)
        assert r.code == 2 and "needs a terminal" in r.err and "gateway --help" in r.err


# --- damaged runs ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def run_ws(ws: Workspace) -> tuple[Workspace, Path]:
    r = gateway("launch", "demo-backtest", "--json", workspace=ws.root)
    assert r.code == 0, r.err
    (run,) = list_runs(ws, "demo-backtest")
    return ws, run.path


def _record_offsets(data: bytes) -> list[int]:
    offsets, pos = [], 0
    while pos < len(data):
        offsets.append(pos)
        pos += HEADER.size + HEADER.unpack_from(data, pos)[0]
    return offsets


@pytest.fixture
def damaged(run_ws: tuple[Workspace, Path], tmp_path: Path) -> Iterator[tuple[Workspace, Path]]:
    """A copy of the workspace whose one run can be damaged at will."""
    ws, run_dir = run_ws
    root = tmp_path / ".gateway"
    shutil.copytree(ws.root, root, ignore=shutil.ignore_patterns("run"))
    yield Workspace(root), root / run_dir.relative_to(ws.root)


def _record(data: bytes, at: int) -> bytes:
    return data[at + HEADER.size : at + HEADER.size + HEADER.unpack_from(data, at)[0]]


def _envelope(data: bytes, at: int) -> Envelope:
    return msgspec.msgpack.decode(_record(data, at), type=Envelope)


def _orders_json(root: Path) -> tuple[int, list[dict[str, Any]]]:
    r = gateway("orders", "list", "demo-backtest", "--json", workspace=root)
    return r.code, json.loads(r.out)


def test_an_intact_run_verifies(damaged: tuple[Workspace, Path]) -> None:
    ws, _ = damaged
    r = gateway("runs", "verify", "--json", workspace=ws.root)
    assert r.code == 0 and [c["ok"] for c in json.loads(r.out)] == [True]


def test_truncated_journal_is_named_by_verify_attach_and_orders(
    damaged: tuple[Workspace, Path],
) -> None:
    ws, run_dir = damaged
    _, intact_rows = _orders_json(ws.root)
    journal = run_dir / JOURNAL_FILE
    data = journal.read_bytes()
    offsets = _record_offsets(data)
    # Torn inside the record of an order event halfway through the orders' events.
    orders = [i for i, at in enumerate(offsets) if _envelope(data, at).type == "OrderFilled"]
    index = orders[len(orders) // 2]
    journal.write_bytes(data[: offsets[index] + 5])

    r = gateway("runs", "verify", "--json", workspace=ws.root)
    (check,) = json.loads(r.out)
    assert r.code == 1 and [p["kind"] for p in check["problems"]] == ["truncated"]
    assert check["problems"][0]["offset"] == offsets[index]

    r = gateway("attach", "demo-backtest", "--json", workspace=ws.root)
    assert r.code == 1 and "journal of run" in r.err and "damaged" in r.err
    assert len(r.out.splitlines()) == index  # what can be read is shown

    code, rows = _orders_json(ws.root)
    assert code == 1
    before = {row["client_order_id"]: row["status"] for row in intact_rows}
    for row in rows:
        # Never a state the journal does not support: open ones are UNKNOWN; closed ones
        # are what the full journal says too.
        assert row["status"] != "SUBMITTED" and row["status"] != "ACCEPTED"
        if row["status"] != "UNKNOWN":
            assert row["status"] == before[row["client_order_id"]]
    assert len(rows) < len(intact_rows)


def test_a_bad_frame_in_the_middle_is_named(damaged: tuple[Workspace, Path]) -> None:
    ws, run_dir = damaged
    journal = run_dir / JOURNAL_FILE
    data = bytearray(journal.read_bytes())
    offsets = _record_offsets(bytes(data))
    at = offsets[len(offsets) // 3]
    data[at + HEADER.size + 3] ^= 0xFF
    journal.write_bytes(bytes(data))
    r = gateway("runs", "verify", workspace=ws.root)
    assert r.code == 1 and f"offset {at}" in r.out and "checksum" in r.out
    r = gateway("attach", "demo-backtest", workspace=ws.root)
    assert r.code == 1 and f"after seq {len(offsets) // 3}" in r.err


def test_a_sequence_gap_is_named(damaged: tuple[Workspace, Path]) -> None:
    ws, run_dir = damaged
    journal = run_dir / JOURNAL_FILE
    data = journal.read_bytes()
    offsets = _record_offsets(data)
    decoder = msgspec.msgpack.Decoder(Envelope)
    at = offsets[10]
    env = decoder.decode(data[at + HEADER.size : offsets[11]])
    body = msgspec.msgpack.encode(msgspec.structs.replace(env, seq=env.seq + 5))
    journal.write_bytes(
        data[:at] + HEADER.pack(len(body), zlib.crc32(body)) + body + data[offsets[11] :]
    )
    r = gateway("runs", "verify", workspace=ws.root)
    assert r.code == 1 and "expected seq 11, found 16" in r.out


def test_a_broken_meta_json_is_listed_and_named(damaged: tuple[Workspace, Path]) -> None:
    ws, run_dir = damaged
    (run_dir / META_FILE).write_text('{"node_id": "demo-backtest", "run_id": ')
    r = gateway("runs", "list", "--json", workspace=ws.root)
    (row,) = json.loads(r.out)
    assert r.code == 1 and row["state"] == "broken" and row["run_id"] == run_dir.name
    assert "invalid JSON" in row["broken"]
    r = gateway("runs", "list", workspace=ws.root)
    assert r.code == 1 and "broken" in r.out and "meta.json" in r.err
    r = gateway("runs", "verify", run_dir.name, workspace=ws.root)
    assert r.code == 1 and "meta.json: invalid JSON at line 1" in r.out
    r = gateway("runs", "show", run_dir.name[:8], workspace=ws.root)
    assert r.code == 1 and "BROKEN" in r.out


def test_broken_results_files_are_named(damaged: tuple[Workspace, Path]) -> None:
    ws, run_dir = damaged
    (run_dir / "stats.json").write_bytes(b"\xff\xfe")
    r = gateway("runs", "verify", "--json", workspace=ws.root)
    (check,) = json.loads(r.out)
    assert r.code == 1 and check["problems"][0]["file"] == "stats.json"
    assert "not UTF-8" in check["problems"][0]["message"]


def test_verify_names_an_unknown_run(ws: Workspace) -> None:
    r = gateway("runs", "verify", "nope-nope", workspace=ws.root)
    assert r.code == 2 and "no run" in r.err
