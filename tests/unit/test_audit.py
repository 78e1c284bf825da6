"""The audit log: appends from several processes chain, and verify names any tampering."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.audit.log import AuditLog, AuditWriteError
from engine.audit.query import AuditQuery, BadSince, parse_since
from engine.audit.record import GENESIS, AuditEntry, line_bytes
from engine.audit.verify import PARALLEL_ABOVE, verify
from engine.principal import Principal

WHO = Principal("ana", "cli")


def _fill(log: AuditLog, n: int, who: Principal = WHO) -> None:
    for i in range(n):
        log.append(
            who,
            "orders.submit",
            target={"node_id": "demo-sandbox"},
            request={"line": f"buy {i + 1} EUR/USD.SIM"},
            result={"ok": True, "client_order_ids": [f"O-{i}"]},
        )


def _lines(log: AuditLog) -> list[bytes]:
    return log.paths.log.read_bytes().splitlines(keepends=True)


def _write(log: AuditLog, lines: list[bytes]) -> None:
    log.paths.log.write_bytes(b"".join(lines))


def _appender(directory: str, name: str, n: int) -> None:
    _fill(AuditLog(Path(directory)), n, Principal(name, "api"))


def test_appends_from_several_processes_form_one_chain(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_appender, args=(str(tmp_path), f"p{i}", 40)) for i in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    log = AuditLog(tmp_path)
    report = verify(log)
    assert report.ok, report.problem
    entries = list(log.entries())
    assert [e.seq for e in entries] == list(range(1, 121))
    assert {e.who for e in entries} == {"p0", "p1", "p2"}


def test_secrets_never_reach_the_file(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)
    log.append(
        WHO,
        "adapters.add",
        request={"name": "bn", "api_key": "AKIA-123", "nested": [{"api_secret": "s3cr3t"}]},
        result={"ok": True, "token": "tok-999"},
    )
    text = log.paths.log.read_text()
    for secret in ("AKIA-123", "s3cr3t", "tok-999"):
        assert secret not in text
    assert verify(log).ok


def test_an_altered_entry_is_named(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)
    _fill(log, 5)
    lines = _lines(log)
    lines[2] = lines[2].replace(b"buy 3", b"buy 9")
    _write(log, lines)
    report = verify(log)
    assert report.problem is not None
    assert (report.problem.kind, report.problem.seq, report.problem.line) == ("altered", 3, 3)


def test_a_removed_or_reordered_entry_is_named(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)
    _fill(log, 5)
    lines = _lines(log)
    _write(log, lines[:1] + lines[2:])
    problem = verify(log).problem
    assert problem is not None
    assert (problem.kind, problem.seq, problem.line) == ("missing", 3, 2)
    _write(log, [lines[0], lines[2], lines[1], *lines[3:]])
    problem = verify(log).problem
    assert problem is not None and problem.kind == "missing"


def test_entries_cut_from_the_end_are_found_through_the_head(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)
    _fill(log, 5)
    _write(log, _lines(log)[:3])
    problem = verify(log).problem
    assert problem is not None
    assert problem.kind == "truncated" and "seq 3" in problem.message and problem.seq == 5


def test_a_torn_last_line_is_reported_then_dropped_by_the_next_append(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)
    _fill(log, 3)
    with log.paths.log.open("ab") as fh:
        fh.write(b'{"v":1,"seq":4,"prev":"ab')  # a crash mid-write, never acknowledged
    problem = verify(log).problem
    assert problem is not None and problem.kind == "damaged" and problem.line == 4
    _fill(log, 1)
    report = verify(log)
    assert report.ok and report.last_seq == 4


def test_parallel_verify_names_the_same_line_as_a_single_pass(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)
    log.paths.directory.mkdir(parents=True, exist_ok=True)
    prev, out, n = GENESIS, [], 0
    size = 0
    while size < PARALLEL_ABOVE + (1 << 20):
        n += 1
        entry = AuditEntry(
            1,
            n,
            prev,
            "2026-12-07T00:00:00.000000+00:00",
            "ana",
            "api",
            "orders.submit",
            {"node_id": "n"},
            {"line": "x" * 200},
            {"ok": True},
        )
        data, prev = line_bytes(entry)
        out.append(data)
        size += len(data)
    _write(log, out)
    assert verify(log, workers=2).ok
    target = n - 10  # in the second range
    out[target - 1] = out[target - 1].replace(b'"ok":true', b'"ok":fals')
    _write(log, out)
    single, parallel = verify(log, workers=1), verify(log, workers=2)
    assert single.problem == parallel.problem
    assert parallel.problem is not None
    assert (parallel.problem.line, parallel.problem.seq) == (target, target)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_single_byte_change_is_detected(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    log = AuditLog(tmp_path_factory.mktemp("audit"))
    _fill(log, 4)
    raw = bytearray(log.paths.log.read_bytes())
    pos = data.draw(st.integers(0, len(raw) - 1))
    new = data.draw(st.integers(0, 255).filter(lambda b: b != raw[pos]))
    raw[pos] = new
    log.paths.log.write_bytes(bytes(raw))
    assert not verify(log).ok


def test_query_by_since_who_and_action() -> None:
    entries = [
        AuditEntry(
            1,
            1,
            GENESIS,
            "2026-12-07T08:00:00.000000+00:00",
            "ana",
            "cli",
            "orders.submit",
            {},
            {},
            {},
        ),
        AuditEntry(
            1,
            2,
            GENESIS,
            "2026-12-07T09:00:00.000000+00:00",
            "bot",
            "api",
            "orders.cancel",
            {},
            {},
            {},
        ),
        AuditEntry(
            1,
            3,
            GENESIS,
            "2026-12-07T10:00:00.000000+00:00",
            "ana",
            "console",
            "nodes.launch",
            {},
            {},
            {},
        ),
    ]
    since = parse_since("2026-12-07T08:30Z")
    assert [e.seq for e in AuditQuery(since=since).select(entries)] == [2, 3]
    assert [e.seq for e in AuditQuery(who="ana").select(entries)] == [1, 3]
    assert [e.seq for e in AuditQuery(who="bot@api").select(entries)] == [2]
    assert [e.seq for e in AuditQuery(action="orders").select(entries)] == [1, 2]
    assert [e.seq for e in AuditQuery(last=1).select(entries)] == [3]


@pytest.mark.parametrize(
    "bad", ["", "yesterday", "10y", "999999d", "2026-13-01", "9" * 400, "1e400", "NaN"]
)
def test_since_refuses_what_it_cannot_read(bad: str) -> None:
    with pytest.raises(BadSince):
        parse_since(bad)


def test_a_record_that_cannot_be_written_is_reported_not_raised(tmp_path: Path) -> None:
    import asyncio

    from engine.risk import service
    from engine.workspace import Workspace

    ws = Workspace(tmp_path / ".gateway").ensure()
    (ws.root / "audit").write_text("a file where the audit directory goes")
    outcome = asyncio.run(service.set_state(ws, "no-such-node", "HALTED", WHO, "test"))
    assert outcome.code == "not_running"
    assert outcome.audit_error is not None and "audit" in outcome.audit_error


def test_a_byte_that_is_not_utf8_is_a_damaged_line_for_every_reader(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)
    _fill(log, 3)
    lines = _lines(log)
    lines[1] = lines[1].replace(b"buy 2", b"buy \xff")
    lines[2] = lines[2].replace(b'"who":"ana"', b'"who":"\x80\x80a"')
    _write(log, lines)
    assert [e.seq for e in log.entries()] == [1]  # listed: the readable ones
    problem = verify(log).problem
    assert problem is not None and (problem.kind, problem.line) == ("altered", 2)
    with pytest.raises(AuditWriteError, match="damaged"):  # never chains onto an unreadable line
        _fill(log, 1)
