"""Tail Nautilus's JSON log file into ``log`` events.

Nautilus's logger lives in Rust and writes the file from its own thread; Python never sees
the lines, so the host reads the file back. The tailer runs on a thread, reads whatever
was appended since the last poll, and publishes one ``LogLine`` per complete line.

Nautilus's file writer is a ``BufWriter`` (8 KiB) that its logging thread flushes only
when the buffer is full or when asked (``crates/common/src/logging/writer.rs`` and
``logger.rs``: ``LogEvent::Flush``): a node logging a few lines a second left lines in
the buffer for up to 13 s. So before each read the tailer asks for a flush
(:func:`flush_nautilus_log`, a message to the logging thread; the host turns off its
fsync on flush). A line read on this poll was flushed on the one before: about
``2 * poll_s`` from write to event.

With ``line_time`` each event carries the time Nautilus wrote its line (the line's
``timestamp``) instead of the time it was read. Backtests leave it off: their lines carry
the simulated time.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import msgspec

from engine.host.events import LOG_LINE, Publish

POLL_S = 0.1
_EPOCH_DAY = date(1970, 1, 1).toordinal()
_INT64 = 2**63
# RFC 3339 as Nautilus writes it (2026-12-07T04:58:47.298834381Z); ASCII digits only.
_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]{1,9}))?(Z|[+-][0-9]{2}:[0-9]{2})"
)


def timestamp_ns(text: str) -> int | None:
    """UNIX nanoseconds of an RFC 3339 timestamp; None if it is not one (or out of range)."""
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        days = date(int(year), int(month), int(day)).toordinal() - _EPOCH_DAY
    except ValueError:
        return None
    h, m, s = int(hour), int(minute), int(second)
    if h > 23 or m > 59 or s > 60:  # 60: a leap second
        return None
    secs = days * 86_400 + h * 3600 + m * 60 + s
    if zone != "Z":
        off_h, off_m = int(zone[1:3]), int(zone[4:6])
        if off_h > 23 or off_m > 59:
            return None
        offset = off_h * 3600 + off_m * 60
        secs -= offset if zone[0] == "+" else -offset
    ns = secs * 1_000_000_000 + int((fraction or "0").ljust(9, "0"))
    return ns if 0 <= ns < _INT64 else None  # an envelope's ts_ns is an int64


def flush_nautilus_log() -> None:
    """Ask Nautilus's logging thread to flush its file buffer (no-op before Nautilus loads).

    Never imports Nautilus itself: the tail thread must not race the main thread's import.
    """
    component = sys.modules.get("nautilus_trader.common.component")
    flush = getattr(component, "flush_logger", None)
    if flush is not None:
        flush()


class _JsonLine(msgspec.Struct):
    """The fields of a Nautilus JSON log line the console shows (the rest is skipped)."""

    level: str = "INFO"
    component: str = ""
    message: str = ""
    timestamp: str | None = None


# msgspec decodes straight into the four fields, skipping the rest: a backtest logs
# thousands of lines a second, parsed on a thread that shares the GIL with the kernel.
_decode_line = msgspec.json.Decoder(_JsonLine).decode


def parse_log_line(line: bytes) -> dict[str, Any] | None:
    """Return ``{level, component, message, timestamp}`` for one JSON log line, else None."""
    try:
        data = _decode_line(line)
    except msgspec.DecodeError:
        return _parse_other(line)
    return {
        "level": data.level,
        "component": data.component,
        "message": data.message,
        "timestamp": data.timestamp,
    }


def _parse_other(line: bytes) -> dict[str, Any] | None:
    """A line that is not a log record of the usual shape: JSON of other types, or text."""
    try:
        data = json.loads(line)
    except ValueError:
        text = line.decode("utf-8", "replace").strip()
        if not text:
            return None
        return {"level": "INFO", "component": "", "message": text, "timestamp": None}
    if not isinstance(data, dict):
        return None
    timestamp = data.get("timestamp")
    return {
        "level": str(data.get("level", "INFO")),
        "component": str(data.get("component", "")),
        "message": str(data.get("message", "")),
        "timestamp": None if timestamp is None else str(timestamp),
    }


class LogTailer:
    """Publish the lines appended to ``path`` as ``log`` events until stopped.

    Parameters
    ----------
    path
        The log file (it may not exist yet).
    publish
        The host's publish function.
    poll_s
        Seconds between reads of the file. Each wake takes the GIL from the kernel's
        thread, so a backtest host polls less often than a live one.
    flush
        Called before each read to have the writer's buffer flushed (None: not asked).
    line_time
        Events carry the time in each line (when Nautilus wrote it), not the read time.
    """

    def __init__(
        self,
        path: Path,
        publish: Publish,
        *,
        poll_s: float = POLL_S,
        flush: Callable[[], None] | None = flush_nautilus_log,
        line_time: bool = True,
    ) -> None:
        self.path = path
        self._publish = publish
        self._poll_s = poll_s
        self._flush = flush
        self._line_time = line_time
        self._offset = 0
        self._partial = b""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="gateway-logtail", daemon=True)
        self.lines = 0
        self._lock = threading.Lock()

    def start(self) -> LogTailer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop polling and publish everything the file holds now (call after the kernel)."""
        self._stop.set()
        self._thread.join(timeout=5)
        self._flush_and_settle()
        self.poll(final=True)

    def _flush_and_settle(self, limit_s: float = 0.5, quiet_s: float = 0.05) -> None:
        # The flush is a message to Nautilus's logging thread, done when that thread gets
        # to it: wait until the file stops growing, so the last lines (a failure's
        # "Error on ..." among them) are read before the host reports how it ended.
        if self._flush is None:
            return
        try:
            self._flush()
        except Exception:
            return
        deadline = time.monotonic() + limit_s
        size = -1
        while time.monotonic() < deadline:
            try:
                now = self.path.stat().st_size
            except OSError:
                return
            if now == size:
                return
            size = now
            time.sleep(quiet_s)

    def _loop(self) -> None:
        while not self._stop.wait(self._poll_s):
            if self._flush is not None:
                try:
                    self._flush()
                except Exception:  # a failing flush only delays lines; never stop tailing
                    self._flush = None
            self.poll()

    def poll(self, *, final: bool = False) -> int:
        """Read and publish new complete lines; return how many were published."""
        with self._lock:
            try:
                with self.path.open("rb") as fh:
                    fh.seek(self._offset)
                    chunk = fh.read()
            except FileNotFoundError:
                return 0
            if not chunk and not (final and self._partial):
                return 0  # (a last line without its newline still goes out when final)
            self._offset += len(chunk)
            data = self._partial + chunk
            lines = data.split(b"\n")
            self._partial = lines.pop()
            if final and self._partial:
                lines.append(self._partial)
                self._partial = b""
            count = 0
            for raw in lines:
                payload = parse_log_line(raw)
                if payload is not None:
                    stamp = payload["timestamp"]
                    ts = timestamp_ns(stamp) if self._line_time and stamp else None
                    self._publish("log", LOG_LINE, payload, ts)
                    count += 1
            self.lines += count
            return count

    def last_lines(self, n: int = 20, *, scan: int = 400) -> list[str]:
        """The last ``n`` lines of the file as text (for error reports), in file order.

        A failing node logs its error, then a screenful of shutdown lines (STOPPED,
        DISPOSED …): so of the last ``scan`` lines the warnings and errors are kept first
        (up to half of ``n``), then the newest lines fill the rest.
        """
        try:
            text = self.path.read_bytes()[-256_000:].decode("utf-8", "replace")
        except OSError:
            return []
        parsed_lines = []
        for raw in text.splitlines()[-scan:]:
            parsed = parse_log_line(raw.encode())
            if parsed:
                parsed_lines.append(parsed)
        serious = [
            i
            for i, p in enumerate(parsed_lines)
            if str(p.get("level", "")).upper() in ("WARN", "WARNING", "ERROR")
        ][-(n // 2) :]
        newest = list(range(max(0, len(parsed_lines) - (n - len(serious))), len(parsed_lines)))
        keep = [parsed_lines[i] for i in sorted(set(serious) | set(newest))]
        return [f"{p['level']} {p['component']}: {p['message']}" for p in keep]
