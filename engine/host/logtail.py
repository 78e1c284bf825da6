"""Tail Nautilus's JSON log file into ``log`` events.

Nautilus's logger lives in Rust and writes the file from its own thread; Python never sees
the lines, so the host reads the file back. The tailer runs on a thread, reads whatever
was appended since the last poll, and publishes one ``LogLine`` per complete line.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import msgspec

from engine.host.events import LOG_LINE, Publish

POLL_S = 0.1


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
    """

    def __init__(self, path: Path, publish: Publish, *, poll_s: float = POLL_S) -> None:
        self.path = path
        self._publish = publish
        self._poll_s = poll_s
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
        self.poll(final=True)

    def _loop(self) -> None:
        while not self._stop.wait(self._poll_s):
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
                    self._publish("log", LOG_LINE, payload)
                    count += 1
            self.lines += count
            return count

    def last_lines(self, n: int = 20) -> list[str]:
        """The last ``n`` lines of the file as text (for error reports)."""
        try:
            text = self.path.read_bytes()[-64_000:].decode("utf-8", "replace")
        except OSError:
            return []
        out = []
        for raw in text.splitlines()[-n:]:
            parsed = parse_log_line(raw.encode())
            if parsed:
                out.append(f"{parsed['level']} {parsed['component']}: {parsed['message']}")
        return out
