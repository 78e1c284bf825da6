"""Append-only, crash-tolerant event journal of one run (``events.journal`` in the run dir)."""

from engine.journal.format import INDEX_FILE, JOURNAL_FILE, JournalError
from engine.journal.reader import JournalReader
from engine.journal.writer import JournalWriter

__all__ = ["INDEX_FILE", "JOURNAL_FILE", "JournalError", "JournalReader", "JournalWriter"]
