"""Unexpected errors inside the console: shown, logged under the workspace, survived.

Textual ends the app on any exception that escapes a handler, a worker or a timer, and
prints a traceback with local variables (which can hold a secret typed into a form). A
trader then loses what they were typing. The console instead:

- shows a notification naming the error,
- appends the traceback, without locals and with the values of password fields masked,
  to ``<workspace>/logs/console.log`` (rotated, at most :data:`MAX_BYTES` a file),
- and goes on, with every field as the user left it.

A handler's exception would also stop its widget's message loop for good (Textual breaks
out of it after the app handled the error), leaving a screen that ignores every key, so
:func:`guard_message_handlers` catches it where the message is dispatched instead.
"""

from __future__ import annotations

import os
import traceback
from asyncio import CancelledError
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from textual.app import App
from textual.message import Message
from textual.message_pump import MessagePump
from textual.notifications import SeverityLevel
from textual.widgets import Input
from textual.worker import WorkerFailed

from widgets.plain_text import plain

LOG_NAME = "console.log"
MAX_BYTES = 1_000_000
MASK = "***"


class ErrorLog:
    """An append-only error log file with one rotated predecessor (``console.log.1``)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, error: BaseException, secrets: Iterable[str] = ()) -> None:
        """Append ``error``'s traceback, each of ``secrets`` masked (never raises)."""
        text = "".join(traceback.format_exception(error))
        when = datetime.now(UTC).isoformat(timespec="seconds")
        entry = mask(f"--- {when} {type(error).__name__}\n{text}\n", secrets)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.exists() and self.path.stat().st_size > MAX_BYTES:
                self.path.replace(self.path.with_name(self.path.name + ".1"))
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8", errors="replace") as out:
                out.write(entry)
        except OSError:
            pass  # a read-only workspace: the notification still tells the user


def mask(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each non-empty secret replaced by ``***``."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def summary(error: BaseException, limit: int = 300) -> str:
    """One line naming the error, for a notification."""
    message = " ".join(str(error).split())
    line = f"{type(error).__name__}: {message}" if message else type(error).__name__
    return line if len(line) <= limit else line[: limit - 1] + "…"


_original_dispatch: Any = None


def guard_message_handlers() -> None:
    """Route a message handler's exception to its app's ``report_error``, if it has one.

    Textual's own path (``App._handle_exception``, then the pump's loop ends) stays for
    apps without it. Idempotent.
    """
    global _original_dispatch
    if _original_dispatch is not None:
        return
    _original_dispatch = MessagePump._dispatch_message

    async def dispatch(self: MessagePump, message: Message) -> None:
        try:
            await _original_dispatch(self, message)
        except CancelledError:
            raise
        except Exception as error:
            report = getattr(self.app, "report_error", None)
            if report is None:
                raise
            report(error)

    MessagePump._dispatch_message = dispatch  # type: ignore[method-assign]


class SurvivingApp(App[None]):
    """An App that reports unexpected errors (see the module) instead of exiting."""

    def __init__(self) -> None:
        super().__init__()
        self.error_log: ErrorLog | None = None  # set by the app once it knows its workspace
        self.errors_reported = 0
        self._reporting = False
        guard_message_handlers()

    def _handle_exception(self, error: Exception) -> None:
        # Workers, timers, callbacks and start-up come through here; before the app runs
        # (CSS, compose of the first screen) and while it exits, Textual's own exit stays.
        if not self._running or self._closing or self._reporting:
            super()._handle_exception(error)
            return
        self.report_error(error)

    def report_error(self, error: BaseException) -> None:
        """Show ``error``, log it, and carry on."""
        if isinstance(error, WorkerFailed):
            error = error.error
        self._reporting = True
        try:
            self.errors_reported += 1
            secrets = self.typed_secrets()
            where = ""
            if self.error_log is not None:
                self.error_log.write(error, secrets)
                where = f"; details in {self.error_log.path}"
            self.log.error(f"unexpected error: {error!r}")
            self.notify(
                mask(f"Unexpected error (the console goes on): {summary(error)}{where}", secrets),
                severity="error",
                timeout=20,
                markup=False,
            )
        finally:
            self._reporting = False

    def typed_secrets(self) -> list[str]:
        """What password fields on any open screen hold now (masked in reports)."""
        found = []
        for screen in self.screen_stack:
            for field in screen.query(Input):
                if field.password and field.value:
                    found.append(field.value)
        return found

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Notify with plain text by default: messages carry node and user text (a "[/]"
        in one would raise as markup) and never control sequences."""
        super().notify(
            plain(message, one_line=False),
            title=plain(title),
            severity=severity,
            timeout=timeout,
            markup=markup,
        )

    def action_help_quit(self) -> None:
        # Textual's, with the markup it relies on spelled out (notify's default is off here).
        for key, active in self.active_bindings.items():
            if active.binding.action in ("quit", "app.quit"):
                title = "Do you want to quit?"
                self.notify(f"Press [b]{key}[/b] to quit the app", title=title, markup=True)
                return
