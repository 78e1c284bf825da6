"""The live event log: follow mode with a count of new events, filters, bounded memory."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import var
from textual.widgets import Input, Log, Static

from widgets.data import EVENT_KINDS, LOG_LEVELS, EventLine


def clock(ts_ns: int) -> str:
    """``HH:MM:SS`` (UTC) of a nanosecond timestamp."""
    secs = ts_ns // 1_000_000_000
    hh, rem = divmod(secs % 86_400, 3600)
    mm, ss = divmod(rem, 60)
    return f"{hh:02d}:{mm:02d}:{ss:02d}"


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which events the log shows; ``None`` means any."""

    node_id: str | None = None
    kind: str | None = None
    min_level: str = "DEBUG"
    text: str = ""

    def matches(self, line: EventLine) -> bool:
        if self.node_id is not None and line.node_id != self.node_id:
            return False
        if self.kind is not None and line.kind != self.kind:
            return False
        if _level_rank(line.level) < _level_rank(self.min_level):
            return False
        return not self.text or self.text.lower() in line.render().lower()

    def describe(self) -> str:
        parts = []
        if self.node_id:
            parts.append(f"node={self.node_id}")
        if self.kind:
            parts.append(f"kind={self.kind}")
        if self.min_level != "DEBUG":
            parts.append(f"level>={self.min_level}")
        if self.text:
            parts.append(f"text={self.text!r}")
        return " ".join(parts) or "all events"


def _level_rank(level: str) -> int:
    try:
        return LOG_LEVELS.index(level.upper())
    except ValueError:
        return 1


def _cycle(options: Sequence[str | None], current: str | None) -> str | None:
    index = options.index(current) if current in options else -1
    return options[(index + 1) % len(options)]


class _TailLog(Log):
    """A Log that tells its parent when the user leaves or reaches the end."""

    class Moved(Message):
        def __init__(self, at_end: bool) -> None:
            super().__init__()
            self.at_end = at_end

    follow = False  # kept at the end by the parent while it follows

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if round(old_value) != round(new_value):
            self.post_message(self.Moved(self.is_vertical_scroll_end))

    def on_resize(self) -> None:
        if self.follow:  # shorter now (the search field opened): the end moved down
            self.scroll_to_end()

    def scroll_to_end(self) -> None:
        """Go to the last line now, and again once a pending layout has settled.

        Not Log's ``write_lines(scroll_end=True)``: it scrolls only if the view is at the
        end already, so once a resize left the view short of the end it never scrolled
        again while the status said "following".
        """
        self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.call_after_refresh(self._settle_at_end)

    def _settle_at_end(self) -> None:
        if self.follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)


class EventLog(Vertical, can_focus=False):
    """Events of every node, newest last.

    Follows new events while the view is at the end; scrolled up, it holds still and
    counts what arrived. ``max_lines`` bounds memory however long it runs.
    """

    BORDER_TITLE = "Events"
    DEFAULT_CSS = """
    EventLog { height: 1fr; }
    EventLog > #event-status { height: 1; padding: 0 1; background: $boost; color: $text-muted; }
    EventLog > #event-status.-paused { color: $text-warning; }
    EventLog > Input { display: none; height: 3; }
    EventLog.-searching > Input { display: block; }
    EventLog > _TailLog { height: 1fr; }
    """
    BINDINGS = [
        Binding("slash", "search", "Find", tooltip="Filter events by text", id="events.search"),
        Binding("k", "cycle_kind", "Kind", tooltip="Cycle the kind filter", id="events.kind"),
        Binding("n", "cycle_node", "Node", tooltip="Cycle the node filter", id="events.node"),
        Binding(
            "w", "cycle_level", "Level", tooltip="Cycle the minimum log level", id="events.level"
        ),
        Binding("x", "clear_filter", "All", tooltip="Clear every filter", id="events.clear"),
        Binding(
            "end,f",
            "follow",
            "Follow",
            tooltip="Jump to the newest event and follow again",
            id="events.follow",
        ),
    ]

    filter: var[EventFilter] = var(EventFilter, init=False)
    following: var[bool] = var(True, init=False)
    pending: var[int] = var(0, init=False)

    class FilterChanged(Message):
        """The user changed the filter."""

        def __init__(self, event_filter: EventFilter) -> None:
            super().__init__()
            self.filter = event_filter

    def __init__(
        self, max_lines: int = 5000, *, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.max_lines = max_lines
        self._lines: deque[EventLine] = deque(maxlen=max_lines)
        self._node_ids: list[str] = []
        self.received = 0
        self.skipped = 0

    def compose(self) -> ComposeResult:
        yield Static(id="event-status", markup=False)
        yield Input(placeholder="text to find; Enter applies, Esc clears", id="event-search")
        yield _TailLog(max_lines=self.max_lines, auto_scroll=False, id="event-lines")

    def on_mount(self) -> None:
        self.log_widget.follow = self.following
        self._update_status()

    @property
    def log_widget(self) -> _TailLog:
        return self.query_one(_TailLog)

    @property
    def shown_lines(self) -> list[str]:
        """The lines on display (after filtering), oldest first."""
        return list(self.log_widget.lines)

    def focus(self, scroll_visible: bool = True) -> EventLog:
        self.log_widget.focus(scroll_visible)
        return self

    # -- data ---------------------------------------------------------------------
    def add_events(self, lines: Sequence[EventLine], skipped: int = 0) -> None:
        """Append a batch of events; call once per UI tick, not once per event.

        ``skipped`` counts routine events of a burst the caller did not turn into lines.
        """
        if skipped:
            self.skipped += skipped
            self._update_status()
        if not lines:
            return
        self.received += len(lines)
        self._lines.extend(lines)
        for line in lines:
            if line.node_id not in self._node_ids:
                self._node_ids.append(line.node_id)
        shown = [line.render() for line in lines[-self.max_lines :] if self.filter.matches(line)]
        if not shown:
            return
        log = self.log_widget
        log.write_lines(shown, scroll_end=False)
        if self.following:
            log.scroll_to_end()
        else:
            self.pending += len(shown)

    def set_filter(self, event_filter: EventFilter) -> None:
        self.filter = event_filter

    def watch_filter(self, event_filter: EventFilter) -> None:
        log = self.log_widget
        log.clear()
        log.write_lines(
            [line.render() for line in self._lines if event_filter.matches(line)], scroll_end=False
        )
        self.following = True
        log.scroll_to_end()
        self.pending = 0
        self._update_status()
        self.post_message(self.FilterChanged(event_filter))

    def watch_following(self, following: bool) -> None:
        self.log_widget.follow = following
        self._update_status()

    def watch_pending(self) -> None:
        self._update_status()

    def _update_status(self) -> None:
        statuses = self.query("#event-status").results(Static)
        status = next(statuses, None)
        if status is None:
            return
        if self.following:
            text = f"following · {self.filter.describe()}"
        else:
            text = f"paused · {self.pending} new · {self.filter.describe()} · End follows"
        if self.skipped:
            text += f" · {self.skipped:,} routine events of bursts not shown (in the journal)"
        status.update(text, layout=False)  # one fixed line: a relayout costs ~20 ms
        status.set_class(not self.following, "-paused")

    @on(_TailLog.Moved)
    def _moved(self, event: _TailLog.Moved) -> None:
        event.stop()
        self.following = event.at_end
        if event.at_end:
            self.pending = 0

    # -- actions ------------------------------------------------------------------
    def action_search(self) -> None:
        self.add_class("-searching")
        search = self.query_one(Input)
        search.value = self.filter.text
        search.focus()

    @on(Input.Submitted, "#event-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.remove_class("-searching")
        self.filter = replace(self.filter, text=event.value.strip())
        self.log_widget.focus()

    def on_key(self, event: events.Key) -> None:
        if event.key == "escape" and self.has_class("-searching"):
            event.stop()
            self.remove_class("-searching")
            self.filter = replace(self.filter, text="")
            self.log_widget.focus()

    def action_cycle_kind(self) -> None:
        self.filter = replace(self.filter, kind=_cycle((None, *EVENT_KINDS), self.filter.kind))

    def action_cycle_node(self) -> None:
        self.filter = replace(
            self.filter, node_id=_cycle((None, *self._node_ids), self.filter.node_id)
        )

    def action_cycle_level(self) -> None:
        level = _cycle(LOG_LEVELS, self.filter.min_level)
        self.filter = replace(self.filter, min_level=level or "DEBUG")

    def action_clear_filter(self) -> None:
        self.filter = EventFilter()

    def action_follow(self) -> None:
        self.following = True
        self.log_widget.scroll_to_end()
        self.pending = 0
