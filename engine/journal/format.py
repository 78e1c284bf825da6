"""On-disk format of the journal.

``events.journal`` is a sequence of records ``<u32 length><u32 crc32><msgpack Envelope>``
(little endian). Seqs are contiguous from 1, so a record's seq follows from its position.
A torn or corrupt last record (a host killed mid-write, a machine crash) fails the length
or CRC check and ends the readable journal there; a writer reopening the run truncates it.

``events.index`` holds ``<u64 seq><u64 offset>`` pairs every ``INDEX_EVERY`` records, so a
reader opening a long journal can seek near ``after_seq`` instead of scanning from the
start. It is a hint: entries that disagree with the journal are ignored.
"""

from __future__ import annotations

import struct

JOURNAL_FILE = "events.journal"
INDEX_FILE = "events.index"
HEADER = struct.Struct("<II")
INDEX_ENTRY = struct.Struct("<QQ")
INDEX_EVERY = 1024
MAX_RECORD = 64 * 1024 * 1024  # larger lengths can only come from a corrupt header


class JournalError(RuntimeError):
    """A journal cannot be opened or written (closed writer, unreadable directory ...)."""
