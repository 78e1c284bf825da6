"""Seals: verify hashes sealed blocks instead of walking them, and still names every problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.audit import sealer
from engine.audit.log import AuditLog
from engine.audit.record import AuditEntry, decode, line_bytes
from engine.audit.seals import read_seals
from engine.audit.verify import verify
from engine.principal import Principal

WHO = Principal("ana", "cli")
EVERY = 4


def _fill(log: AuditLog, n: int) -> None:
    for i in range(n):
        log.append(
            WHO,
            "orders.submit",
            target={"node_id": "demo-sandbox"},
            request={"line": f"buy {i + 1} EUR/USD.SIM"},
            result={"ok": True},
        )


def _log(tmp_path: Path, n: int) -> AuditLog:
    log = AuditLog(tmp_path, seal_every=EVERY)
    _fill(log, n)
    return log


def _lines(log: AuditLog) -> list[bytes]:
    return log.paths.log.read_bytes().splitlines(keepends=True)


def test_appends_seal_every_block_and_verify_uses_the_seals(tmp_path: Path) -> None:
    log = _log(tmp_path, 14)
    seals = read_seals(log.paths.seals).seals
    assert [(s.first_seq, s.last_seq) for s in seals] == [(1, 4), (5, 8), (9, 12)]
    report = verify(log)
    assert report.ok and report.entries == 14 and report.last_seq == 14
    assert report.sealed == 12 and report.note is None


def test_an_altered_entry_in_a_sealed_block_is_named_by_line_and_seq(tmp_path: Path) -> None:
    log = _log(tmp_path, 12)
    lines = _lines(log)
    lines[5] = lines[5].replace(b"buy 6", b"buy 7")
    log.paths.log.write_bytes(b"".join(lines))
    problem = verify(log).problem
    assert problem is not None
    assert (problem.kind, problem.line, problem.seq) == ("altered", 6, 6)


def _rechain(lines: list[bytes], start: int) -> tuple[list[bytes], int, str]:
    """Rewrite entries from index ``start`` on with their chain recomputed (a careful forger)."""
    out = list(lines[:start])
    prev = decode(lines[start - 1]).hash if start else "0" * 64
    for line in lines[start:]:
        entry = decode(line)
        entry = AuditEntry(
            entry.v, entry.seq, prev, entry.ts, entry.who, entry.via, entry.action,
            entry.target, entry.request, entry.result,
        )  # fmt: skip
        data, prev = line_bytes(entry)
        out.append(data)
    return out, decode(out[-1]).seq, prev


def test_a_block_rewritten_with_its_chain_recomputed_is_found(tmp_path: Path) -> None:
    log = _log(tmp_path, 12)
    lines = _lines(log)
    lines[5] = lines[5].replace(b"buy 6", b"buy 7")
    forged, seq, h = _rechain(lines, 5)
    log.paths.log.write_bytes(b"".join(forged))
    log.paths.head.write_text(json.dumps({"seq": seq, "hash": h}))
    log.paths.seals.rename(tmp_path / "away")
    assert verify(log).ok  # the line walk alone cannot see it
    (tmp_path / "away").rename(log.paths.seals)
    problem = verify(log).problem
    assert problem is not None
    assert (problem.kind, problem.line, problem.seq) == ("altered", 5, 5)
    assert "seq 5-8" in problem.message


def test_sealed_entries_cut_from_the_log_are_missing(tmp_path: Path) -> None:
    log = _log(tmp_path, 12)
    lines = _lines(log)
    log.paths.log.write_bytes(b"".join(lines[:6]))
    log.paths.head.write_text(json.dumps({"seq": 6, "hash": decode(lines[5]).hash}))
    report = verify(log)
    assert report.problem is not None
    assert (report.problem.kind, report.problem.seq) == ("truncated", 5)
    assert report.entries == 4 and "seq 5 to 12" in report.problem.message


def test_a_damaged_seal_falls_back_to_the_line_walk_and_says_so(tmp_path: Path) -> None:
    log = _log(tmp_path, 12)
    raw = log.paths.seals.read_bytes().splitlines(keepends=True)
    raw[1] = raw[1].replace(b'"n":2', b'"n":7')
    log.paths.seals.write_bytes(b"".join(raw))
    report = verify(log)
    assert report.ok and report.entries == 12
    assert report.sealed == 4 and report.note is not None and "line 2" in report.note
    _fill(log, EVERY)  # no seal is chained from a damaged one
    assert len(read_seals(log.paths.seals).seals) == 1
    assert verify(log).ok


def test_a_block_that_does_not_check_out_is_never_sealed(tmp_path: Path) -> None:
    log = _log(tmp_path, 2)
    lines = _lines(log)
    log.paths.log.write_bytes(lines[0].replace(b"buy 1", b"buy 5") + lines[1])
    _fill(log, 6)
    assert read_seals(log.paths.seals).seals == []
    problem = verify(log).problem
    assert problem is not None and (problem.kind, problem.line) == ("altered", 1)


def test_a_torn_seal_is_dropped_by_the_next_seal(tmp_path: Path) -> None:
    log = _log(tmp_path, 4)
    with log.paths.seals.open("ab") as fh:
        fh.write(b'{"v":1,"n":2,"first')  # a crash mid-write
    assert verify(log).ok
    _fill(log, 4)
    read = read_seals(log.paths.seals)
    assert read.damaged is None and [s.last_seq for s in read.seals] == [4, 8]


def test_a_log_from_before_seals_is_sealed_in_capped_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unsealed = AuditLog(tmp_path, seal_every=10**9)
    _fill(unsealed, 30)
    monkeypatch.setattr(sealer, "SEAL_MAX_BYTES", 1000)  # ~3 entries a block
    log = AuditLog(tmp_path, seal_every=EVERY)
    _fill(log, 3)
    seals = read_seals(log.paths.seals).seals
    assert len(seals) == 3 and seals[0].first_seq == 1
    assert all(s.end - s.start < 1000 + 400 for s in seals)
    report = verify(log)
    assert report.ok and report.entries == 33 and report.sealed == seals[-1].last_seq


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_single_byte_change_in_a_sealed_log_is_detected(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    log = _log(tmp_path_factory.mktemp("audit"), 10)
    raw = bytearray(log.paths.log.read_bytes())
    pos = data.draw(st.integers(0, len(raw) - 1))
    raw[pos] = data.draw(st.integers(0, 255).filter(lambda b: b != raw[pos]))
    log.paths.log.write_bytes(bytes(raw))
    assert not verify(log).ok


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_seals_never_hide_damage_to_the_seals_file(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    """Any byte of seals.jsonl changed: the log (intact) still verifies, every entry counted."""
    log = _log(tmp_path_factory.mktemp("audit"), 13)
    raw = bytearray(log.paths.seals.read_bytes())
    pos = data.draw(st.integers(0, len(raw) - 1))
    raw[pos] = data.draw(st.integers(0, 255).filter(lambda b: b != raw[pos]))
    log.paths.seals.write_bytes(bytes(raw))
    report = verify(log)
    assert report.ok and report.entries == 13 and report.last_seq == 13


def _sealing_appender(directory: str, name: str, n: int) -> None:
    log = AuditLog(Path(directory), seal_every=EVERY)
    for i in range(n):
        log.append(Principal(name, "api"), "orders.submit", request={"i": i})


def test_processes_appending_at_once_seal_one_chain(tmp_path: Path) -> None:
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(target=_sealing_appender, args=(str(tmp_path), f"p{i}", 30)) for i in range(3)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    log = AuditLog(tmp_path, seal_every=EVERY)
    read = read_seals(log.paths.seals)
    assert read.damaged is None and read.seals
    assert [s.first_seq for s in read.seals] == [1] + [s.last_seq + 1 for s in read.seals[:-1]]
    report = verify(log)
    assert report.ok and report.entries == 90 and report.sealed == read.seals[-1].last_seq >= 84


def test_threads_of_one_process_appending_at_once_form_one_chain(tmp_path: Path) -> None:
    """A server's concurrent commands: each thread's entry once, in one chain."""
    import threading

    def worker(name: str) -> None:
        log = AuditLog(tmp_path, seal_every=EVERY)  # one AuditLog each, as services make them
        for i in range(25):
            log.append(Principal(name, "api"), "orders.submit", request={"i": i})

    threads = [threading.Thread(target=worker, args=(f"t{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    log = AuditLog(tmp_path, seal_every=EVERY)
    report = verify(log)
    assert report.ok and report.entries == 200 and report.sealed >= 196
    who = [e.who for e in log.entries()]
    assert sorted(set(who)) == [f"t{i}" for i in range(8)] and len(who) == 200
