"""The event log keeps following after its size changed, and still pauses when scrolled up.

It once said "following" and showed nothing new for minutes: Textual's Log scrolls on
write only when the view is at the end already, and opening the search field (or a
smaller terminal) had left the view short of the end.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot

from widgets.data import EventLine
from widgets.event_log import EventLog


class _LogApp(App[None]):
    def compose(self) -> ComposeResult:
        yield EventLog(max_lines=200)


class _Lines:
    def __init__(self) -> None:
        self.seq = 0

    def __call__(self, n: int) -> list[EventLine]:
        out = []
        for _ in range(n):
            self.seq += 1
            out.append(EventLine(self.seq, 0, "n", "log", "LogLine", f"line {self.seq}", "INFO"))
        return out


def _newest_shown(log: EventLog) -> str:
    view = log.log_widget
    last_visible = int(view.scroll_y) + view.size.height - 1
    return view.lines[min(last_visible, len(view.lines) - 1)]


async def _search_open_then_closed(pilot: Pilot[None], log: EventLog, lines: _Lines) -> None:
    await pilot.press("slash")
    await pilot.pause()
    assert log.has_class("-searching")
    log.add_events(lines(5))
    await pilot.pause()
    await pilot.press("escape")
    await pilot.pause()


async def _terminal_shrunk_then_grown(pilot: Pilot[None], log: EventLog, lines: _Lines) -> None:
    await pilot.resize_terminal(80, 12)
    await pilot.pause()
    log.add_events(lines(5))
    await pilot.pause()
    await pilot.resize_terminal(80, 20)
    await pilot.pause()


async def _hidden_then_shown(pilot: Pilot[None], log: EventLog, lines: _Lines) -> None:
    log.display = False
    await pilot.pause()
    log.add_events(lines(30))
    await pilot.pause()
    log.display = True
    await pilot.pause()


Resize = Callable[[Pilot[None], EventLog, _Lines], Awaitable[None]]


@pytest.mark.parametrize(
    "resize", [_search_open_then_closed, _terminal_shrunk_then_grown, _hidden_then_shown]
)
async def test_following_shows_the_newest_line_after_a_resize(resize: Resize) -> None:
    app = _LogApp()
    lines = _Lines()
    async with app.run_test(size=(80, 20)) as pilot:
        log = app.query_one(EventLog)
        log.focus()
        log.add_events(lines(50))
        await pilot.pause()
        await resize(pilot, log, lines)
        for _ in range(3):
            log.add_events(lines(5))
            await pilot.pause()
            assert log.following
            assert _newest_shown(log).endswith(f"line {lines.seq}")


async def test_scrolling_up_pauses_and_end_follows_again() -> None:
    app = _LogApp()
    lines = _Lines()
    async with app.run_test(size=(80, 20)) as pilot:
        log = app.query_one(EventLog)
        log.focus()
        log.add_events(lines(50))
        await pilot.pause()
        await pilot.press("pageup")
        await pilot.pause()
        assert not log.following
        top = log.log_widget.scroll_y
        log.add_events(lines(7))
        await pilot.pause()
        assert log.log_widget.scroll_y == top and log.pending == 7  # held still, counted
        await pilot.press("end")
        await pilot.pause()
        assert log.following and log.pending == 0
        log.add_events(lines(3))
        await pilot.pause()
        assert _newest_shown(log).endswith(f"line {lines.seq}")
