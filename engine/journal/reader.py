"""Read a run's journal, also while its node host is still writing it."""

from __future__ import annotations

import bisect
import contextlib
import os
import zlib
from collections.abc import Iterator
from pathlib import Path

import msgspec

from engine.events.envelope import Envelope
from engine.journal.format import HEADER, INDEX_ENTRY, INDEX_FILE, JOURNAL_FILE, MAX_RECORD

_decoder = msgspec.msgpack.Decoder(Envelope)
_CHUNK = 1 << 20
_SPARSE_EVERY = 256  # records between in-memory index points
_HEADER_SIZE = HEADER.size


class JournalReader:
    """Read envelopes from ``run_dir/events.journal``.

    The reader keeps a sparse in-memory ``seq -> offset`` index (seeded from
    ``events.index``), so reading after a seq seeks near it instead of rescanning the
    file. A torn last record is not returned; once the writer completes it, a later read
    returns it. Not thread-safe: use one reader per thread.
    """

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / JOURNAL_FILE
        self._fd: int | None = None
        # Sparse index: _seqs[i] is the seq of the record at _offsets[i].
        self._seqs: list[int] = [1]
        self._offsets: list[int] = [0]
        self._index_loaded = False
        # End of the intact prefix scanned so far: seq of its last record, its end offset.
        self._end_seq = 0
        self.end_offset = 0
        # One-entry cache of where the last read stopped (sequential readers hit it).
        self._hint: tuple[int, int] = (1, 0)

    # -- public API ---------------------------------------------------------------------

    def read(self, after_seq: int = 0, limit: int | None = None) -> list[Envelope]:
        """Return envelopes with ``seq > after_seq`` in order, at most ``limit`` of them."""
        if after_seq < 0:
            raise ValueError(f"journal read 'after_seq': got {after_seq}, expected >= 0")
        if limit is not None and limit <= 0:
            return []
        out: list[Envelope] = []
        decode = _decoder.decode
        seq = after_seq
        while limit is None or len(out) < limit:
            max_records = None if limit is None else limit - len(out)
            last, data = self.read_raw(seq, _CHUNK, max_records)
            if last == seq:
                break
            view = memoryview(data)
            pos = 0
            size = len(data)
            while pos < size:
                length = HEADER.unpack_from(data, pos)[0]
                start = pos + _HEADER_SIZE
                pos = start + length
                out.append(decode(view[start:pos]))
            view.release()
            seq = last
        return out

    def iter_after(self, after_seq: int) -> Iterator[Envelope]:
        """Yield envelopes with ``seq > after_seq`` until the end of what is written now."""
        seq = after_seq
        while True:
            batch = self.read(seq, 4096)
            if not batch:
                return
            yield from batch
            seq = batch[-1].seq

    def last_seq(self) -> int:
        """Return the seq of the last intact record (0 for an empty or missing journal)."""
        self._scan_to_end()
        return self._end_seq

    def read_raw(
        self, after_seq: int, max_bytes: int = _CHUNK, max_records: int | None = None
    ) -> tuple[int, bytes]:
        """Return ``(last_seq, records)``: intact records after ``after_seq``, as journaled.

        At least one record is returned if there is one, even when it exceeds
        ``max_bytes``. ``last_seq == after_seq`` means there is nothing after it yet.
        """
        fd = self._open()
        if fd is None:
            return after_seq, b""
        offset = self.locate(after_seq)
        if offset is None:
            return after_seq, b""
        parts: list[bytes] = []
        total = 0
        seq = after_seq
        while total < max_bytes and (max_records is None or seq - after_seq < max_records):
            left = None if max_records is None else max_records - (seq - after_seq)
            chunk = os.pread(fd, max(max_bytes - total, 1 << 16), offset)
            used, n = self._intact_prefix(chunk, max_bytes - total, not parts, seq, offset, left)
            if n == 0:
                length = _record_length(chunk)
                if parts or length is None or length <= len(chunk):
                    break  # end of the journal, a torn record, or no room left
                # One record larger than the window: read it whole.
                chunk = os.pread(fd, length, offset)
                used, n = self._intact_prefix(chunk, length, True, seq, offset, 1)
                if n == 0:
                    break
            parts.append(chunk[:used] if used < len(chunk) else chunk)
            total += used
            seq += n
            offset += used
        if seq > after_seq:
            self._hint = (seq + 1, offset)
            self._extend_end(seq, offset)
        return seq, b"".join(parts)

    def _intact_prefix(
        self,
        chunk: bytes,
        budget: int,
        first_free: bool,
        seq: int,
        base: int,
        max_records: int | None,
    ) -> tuple[int, int]:
        """Return ``(bytes, records)`` of the intact whole records that start ``chunk``."""
        pos = 0
        n = 0
        size = len(chunk)
        crc32 = zlib.crc32
        unpack = HEADER.unpack_from
        view = memoryview(chunk)
        while pos + _HEADER_SIZE <= size and (max_records is None or n < max_records):
            length, crc = unpack(chunk, pos)
            end = pos + _HEADER_SIZE + length
            if length > MAX_RECORD or end > size or (end > budget and not (first_free and n == 0)):
                break
            if crc32(view[pos + _HEADER_SIZE : end]) != crc:
                break
            n += 1
            if (seq + n) % _SPARSE_EVERY == 1 and seq + n > self._seqs[-1]:
                self._seqs.append(seq + n)
                self._offsets.append(base + pos)
            pos = end
        view.release()
        return pos, n

    def locate(self, after_seq: int) -> int | None:
        """Return the offset of record ``after_seq + 1`` (the end when it is not written yet).

        ``None`` means the journal ends before ``after_seq``.
        """
        target = after_seq + 1
        self._load_index()
        # Start from the nearest known record start at or before the target.
        i = bisect.bisect_right(self._seqs, target) - 1
        seq, offset = self._seqs[i], self._offsets[i]
        for cand_seq, cand_off in (self._hint, (self._end_seq + 1, self.end_offset)):
            if seq < cand_seq <= target:
                seq, offset = cand_seq, cand_off
        fd = self._open()
        if fd is None:
            return 0 if target == 1 else None
        while seq < target:
            chunk = os.pread(fd, 1 << 16, offset)
            used, n = self._intact_prefix(chunk, len(chunk), True, seq - 1, offset, target - seq)
            if n == 0:
                length = _record_length(chunk)
                if length is None or length <= len(chunk):
                    return None  # the journal ends before the target
                chunk = os.pread(fd, length, offset)
                used, n = self._intact_prefix(chunk, length, True, seq - 1, offset, 1)
                if n == 0:
                    return None
            seq += n
            offset += used
            self._extend_end(seq - 1, offset)
        return offset

    def close(self) -> None:
        """Close the file (the reader reopens it when used again)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> JournalReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------------

    def _open(self) -> int | None:
        if self._fd is None:
            try:
                self._fd = os.open(self.path, os.O_RDONLY)
            except FileNotFoundError:
                return None
        return self._fd

    def _load_index(self) -> None:
        if self._index_loaded:
            return
        self._index_loaded = True
        with contextlib.suppress(OSError):
            raw = (self.run_dir / INDEX_FILE).read_bytes()
            n = len(raw) // INDEX_ENTRY.size
            fd = self._open()
            if fd is None:
                return
            size = os.fstat(fd).st_size
            for i in range(n):
                seq, offset = INDEX_ENTRY.unpack_from(raw, i * INDEX_ENTRY.size)
                if seq == 1 and offset == 0:
                    continue
                if seq <= self._seqs[-1] or offset <= self._offsets[-1] or offset >= size:
                    break
                if not self._check_point(fd, seq, offset):
                    break  # a hint from another life of the file: trust nothing after it
                self._seqs.append(seq)
                self._offsets.append(offset)

    def _check_point(self, fd: int, seq: int, offset: int) -> bool:
        header = os.pread(fd, _HEADER_SIZE, offset)
        if len(header) < _HEADER_SIZE:
            return False
        length, crc = HEADER.unpack(header)
        if length > MAX_RECORD:
            return False
        body = os.pread(fd, length, offset + _HEADER_SIZE)
        if len(body) < length or zlib.crc32(body) != crc:
            return False
        try:
            return _decoder.decode(body).seq == seq
        except msgspec.DecodeError:
            return False

    def _extend_end(self, seq: int, offset: int) -> None:
        if seq > self._end_seq:
            self._end_seq = seq
            self.end_offset = offset

    def _scan_to_end(self) -> None:
        self._load_index()
        start = max(self._end_seq, self._seqs[-1] - 1)
        seq = start
        while True:
            last, _ = self.read_raw(seq, _CHUNK)
            if last == seq:
                return
            seq = last


def _record_length(chunk: bytes) -> int | None:
    """Return the full size of the record starting ``chunk`` (None if it cannot be one)."""
    if len(chunk) < _HEADER_SIZE:
        return None
    length = int(HEADER.unpack_from(chunk, 0)[0])
    if length > MAX_RECORD:
        return None
    return _HEADER_SIZE + length
