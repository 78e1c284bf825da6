"""verify_journal names every problem of a damaged journal: torn tail, bad frames, gaps."""

from __future__ import annotations

from pathlib import Path

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.events.envelope import Envelope
from engine.journal import JOURNAL_FILE, JournalReader, JournalWriter
from engine.journal.format import HEADER
from engine.journal.verify import verify_journal


def _journal(run_dir: Path, n: int) -> list[int]:
    """Write ``n`` events; return each record's start offset."""
    with JournalWriter(run_dir, "n", "r") as writer:
        for i in range(n):
            writer.append("node", "Tick", {"i": i})
    data = (run_dir / JOURNAL_FILE).read_bytes()
    offsets, pos = [], 0
    while pos < len(data):
        offsets.append(pos)
        pos += HEADER.size + HEADER.unpack_from(data, pos)[0]
    return offsets


def test_an_intact_journal_has_no_problems(tmp_path: Path) -> None:
    _journal(tmp_path, 10)
    check = verify_journal(tmp_path)
    assert check.ok and (check.records, check.intact_seq, check.last_seq) == (10, 10, 10)


def test_a_missing_journal_is_empty_not_damaged(tmp_path: Path) -> None:
    check = verify_journal(tmp_path)
    assert check.ok and check.records == 0


def test_a_truncated_tail_is_named_with_its_offset(tmp_path: Path) -> None:
    offsets = _journal(tmp_path, 10)
    path = tmp_path / JOURNAL_FILE
    path.write_bytes(path.read_bytes()[: offsets[9] + 5])
    check = verify_journal(tmp_path)
    (problem,) = check.problems
    assert problem.kind == "truncated" and problem.offset == offsets[9]
    assert check.intact_seq == 9 and "seq 10" in problem.message
    # While the host still writes, a cut-short last record is a write in progress.
    assert verify_journal(tmp_path, live_tail=True).ok


def test_a_bad_frame_in_the_middle_is_named_and_later_frames_still_counted(
    tmp_path: Path,
) -> None:
    offsets = _journal(tmp_path, 10)
    path = tmp_path / JOURNAL_FILE
    data = bytearray(path.read_bytes())
    data[offsets[4] + HEADER.size + 2] ^= 0xFF  # a flipped byte in seq 5's body
    path.write_bytes(bytes(data))
    check = verify_journal(tmp_path)
    (problem,) = check.problems
    assert (problem.kind, problem.offset) == ("bad_frame", offsets[4])
    assert check.intact_seq == 4 and check.records == 9 and check.last_seq == 10
    # The reader delivers the intact prefix only: what the check calls trustworthy.
    assert [e.seq for e in JournalReader(tmp_path).read()] == [1, 2, 3, 4]


def test_a_sequence_gap_is_named(tmp_path: Path) -> None:
    offsets = _journal(tmp_path, 3)
    path = tmp_path / JOURNAL_FILE
    data = path.read_bytes()
    env = Envelope(seq=7, ts_ns=1, node_id="n", run_id="r", kind="node", type="Tick", payload={})
    body = msgspec.msgpack.encode(env)
    import zlib

    data = data[: offsets[2]] + HEADER.pack(len(body), zlib.crc32(body)) + body
    path.write_bytes(data)
    check = verify_journal(tmp_path)
    (problem,) = check.problems
    assert problem.kind == "seq_gap" and "expected seq 3, found 7" in problem.message
    assert check.intact_seq == 2


def test_an_impossible_length_stops_the_scan_and_says_so(tmp_path: Path) -> None:
    offsets = _journal(tmp_path, 3)
    path = tmp_path / JOURNAL_FILE
    data = bytearray(path.read_bytes())
    data[offsets[1] : offsets[1] + 4] = (0xFFFFFFFF).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    check = verify_journal(tmp_path)
    assert [p.kind for p in check.problems] == ["bad_header"] and check.intact_seq == 1


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(noise=st.binary(max_size=4096), cut=st.integers(0, 4096))
def test_any_bytes_give_a_verdict_not_an_exception(tmp_path: Path, noise: bytes, cut: int) -> None:
    run_dir = tmp_path / "r"
    run_dir.mkdir(exist_ok=True)
    (run_dir / JOURNAL_FILE).unlink(missing_ok=True)
    offsets = _journal(run_dir, 3)
    path = run_dir / JOURNAL_FILE
    data = path.read_bytes()
    path.write_bytes(data[: min(cut, len(data))] + noise)
    check = verify_journal(run_dir)
    readable = len(JournalReader(run_dir).read())
    assert check.intact_seq == readable
    if noise:  # bytes after the last whole record are never a clean journal
        assert not check.ok and check.problems[0].offset >= 0
    else:  # a cut on a record boundary is clean; anywhere else it is a torn tail
        assert check.ok == (min(cut, len(data)) in {*offsets, len(data)})
