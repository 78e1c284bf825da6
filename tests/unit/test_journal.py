"""The run journal: seqs, reads after a seq, crash tolerance, reading while written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.journal import INDEX_FILE, JOURNAL_FILE, JournalError, JournalReader, JournalWriter


def _fill(writer: JournalWriter, n: int) -> None:
    for i in range(n):
        writer.append("order", "OrderFilled", {"i": i})


def test_append_assigns_contiguous_seqs_from_one_and_writes_before_returning(
    tmp_path: Path,
) -> None:
    writer = JournalWriter(tmp_path, "node-a", "run-1")
    first = writer.append("node", "NodeStateChanged", {"state": "starting"})
    second = writer.append("node", "NodeStateChanged", {"state": "running"}, ts_ns=42)
    assert (first.seq, second.seq, writer.last_seq) == (1, 2, 2)
    assert second.ts_ns == 42 and first.ts_ns > 1_600_000_000 * 10**9
    assert (first.node_id, first.run_id) == ("node-a", "run-1")
    # Another reader sees both without the writer flushing or closing.
    assert [e.payload["state"] for e in JournalReader(tmp_path).read()] == ["starting", "running"]
    writer.close()


def test_read_after_seq_and_limit_across_index_points(tmp_path: Path) -> None:
    with JournalWriter(tmp_path, "n", "r", autoflush=False) as writer:
        _fill(writer, 5000)
    assert (tmp_path / INDEX_FILE).stat().st_size > 0
    reader = JournalReader(tmp_path)
    for after in (0, 1, 255, 256, 1023, 1024, 1025, 3000, 4999):
        got = JournalReader(tmp_path).read(after_seq=after, limit=3)
        assert [e.seq for e in got] == list(range(after + 1, min(after + 3, 5000) + 1))
        assert [e.payload["i"] for e in got] == [
            s - 1 for s in range(after + 1, after + 1 + len(got))
        ]
    assert reader.read(after_seq=5000) == []
    assert reader.read(after_seq=9999) == []
    assert reader.last_seq() == 5000
    assert [e.seq for e in reader.iter_after(4990)] == list(range(4991, 5001))


def test_a_missing_journal_reads_as_empty(tmp_path: Path) -> None:
    reader = JournalReader(tmp_path / "nothing-here")
    assert reader.read() == [] and reader.last_seq() == 0


def test_a_torn_last_record_is_ignored_and_cut_off_on_reopen(tmp_path: Path) -> None:
    with JournalWriter(tmp_path, "n", "r") as writer:
        _fill(writer, 10)
    path = tmp_path / JOURNAL_FILE
    intact = path.stat().st_size
    with path.open("ab") as fh:  # a host killed half way through a record
        fh.write(b"\x40\x00\x00\x00\x00\x00\x00\x00\x81\xa3seq")
    assert JournalReader(tmp_path).last_seq() == 10
    assert [e.seq for e in JournalReader(tmp_path).read(after_seq=8)] == [9, 10]
    with JournalWriter(tmp_path, "n", "r") as writer:
        assert path.stat().st_size == intact
        assert writer.append("node", "NodeStateChanged", {"state": "running"}).seq == 11
    assert [e.seq for e in JournalReader(tmp_path).read(after_seq=9)] == [10, 11]


def test_a_corrupt_record_ends_the_readable_journal(tmp_path: Path) -> None:
    with JournalWriter(tmp_path, "n", "r") as writer:
        _fill(writer, 5)
    path = tmp_path / JOURNAL_FILE
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF  # a machine crash leaving garbage in the last record
    path.write_bytes(bytes(data))
    assert [e.seq for e in JournalReader(tmp_path).read()] == [1, 2, 3, 4]


def test_reader_picks_up_records_written_after_it_caught_up(tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path, "n", "r")
    reader = JournalReader(tmp_path)
    _fill(writer, 3)
    assert [e.seq for e in reader.read()] == [1, 2, 3]
    _fill(writer, 2)
    assert [e.seq for e in reader.read(after_seq=3)] == [4, 5]
    assert reader.last_seq() == 5
    writer.close()


def test_buffered_writer_is_visible_after_flush(tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path, "n", "r", autoflush=False)
    _fill(writer, 3)
    assert JournalReader(tmp_path).read() == []
    writer.flush()
    assert len(JournalReader(tmp_path).read()) == 3
    writer.close()


def test_bad_kind_is_refused_naming_field_value_and_choices(tmp_path: Path) -> None:
    with JournalWriter(tmp_path, "n", "r") as writer:
        with pytest.raises(ValueError, match=r"'kind': got 'orders', expected one of order,"):
            writer.append("orders", "OrderFilled", {})
        assert writer.last_seq == 0


def test_unencodable_payload_is_refused_without_using_a_seq(tmp_path: Path) -> None:
    with JournalWriter(tmp_path, "n", "r") as writer:
        with pytest.raises(TypeError, match="OrderFilled"):
            writer.append("order", "OrderFilled", {"when": object()})
        assert writer.append("order", "OrderFilled", {}).seq == 1


def test_closed_writer_refuses_appends(tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path, "n", "r")
    writer.close()
    with pytest.raises(JournalError, match="closed"):
        writer.append("node", "NodeStateChanged", {})


def test_journal_files_are_private(tmp_path: Path) -> None:
    with JournalWriter(tmp_path, "n", "r") as writer:
        writer.append("node", "NodeStateChanged", {})
    assert os.stat(tmp_path / JOURNAL_FILE).st_mode & 0o777 == 0o600


def test_read_of_a_long_journal_after_a_late_seq_uses_the_index(tmp_path: Path) -> None:
    with JournalWriter(tmp_path, "n", "r", autoflush=False) as writer:
        _fill(writer, 20_000)
    # Wreck a record early in the file: a reader seeking via the index never touches it,
    # one that rescanned from the start would stop there.
    path = tmp_path / JOURNAL_FILE
    with path.open("r+b") as fh:
        fh.seek(100)
        fh.write(b"\xff" * 8)
    got = JournalReader(tmp_path).read(after_seq=19_990)
    assert [e.seq for e in got] == list(range(19_991, 20_001))
