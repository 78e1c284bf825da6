"""Keys are handled in the order they arrive, each by the widget focused when its turn comes.

Textual forwards every key to the focused widget's queue as soon as the app reads it. A
key that widget does not take itself (tab, backspace, enter, escape: bindings) is only
acted on once it has bubbled back up to the app, one queue hop per ancestor, and by then
the keys behind it in a burst (a paste, keys SSH delivers together) were already forwarded
to the old focus and handled first: ``100000<Tab>1.0850`` put ``1.0850`` into the quantity,
and digits typed after twelve backspaces were typed, then deleted by them. A plain Textual
app does the same with the same burst.

So the app lets one key (or paste) through at a time: the next is forwarded only once the
last has finished its trip, that is once a marker posted behind it has followed it up the
same chain of queues (it stops early where the key was stopped). After a screen change
the next key also waits for the new screen to mount, as its on_mount is what focuses the
field the keys are meant for.
A trip that stalls (its widget removed under it) releases the next key after
:data:`STALL_S`, so the keyboard never locks.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

from textual import events
from textual.message_pump import MessagePump
from textual.screen import Screen

from console.errors import SurvivingApp

# Longer than any key's trip on a loaded machine; only a lost marker waits this long.
STALL_S = 1.0
# How long keys wait for a screen that is still mounting (a broken one must not hold them).
MOUNT_WAIT_S = 10.0

_Typed = events.Key | events.Paste


class KeyOrderApp(SurvivingApp):
    """An App whose keys and pastes reach widgets strictly one after another."""

    def __init__(self) -> None:
        super().__init__()
        self._keys_waiting: deque[_Typed] = deque()
        self._key_trip = 0  # the trip in flight, 0 when none
        self._key_trips = 0
        self._key_stall: asyncio.TimerHandle | None = None
        self._keys_screen: Screen[object] | None = None  # the screen the last key went to
        self._screen_since = 0.0

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, _Typed) and not event.is_forwarded:
            self._keys_waiting.append(event)
            if not self._key_trip:
                await self._send_keys()
            return
        await super().on_event(event)

    async def _send_keys(self) -> None:
        while self._keys_waiting and not self._key_trip:
            try:
                screen = self.screen
            except Exception:  # no screen yet: Textual's own handling decides
                await super().on_event(self._keys_waiting.popleft())
                continue
            now = time.monotonic()
            if screen is not self._keys_screen or (
                not screen.is_mounted and now - self._screen_since < MOUNT_WAIT_S
            ):
                # A screen pushed (or back on top): its on_mount asks the app to focus the
                # field the keys are meant for. A marker through its queue, then the app's,
                # lets that run first (a form slower to mount than STALL_S is waited for).
                if screen is not self._keys_screen:
                    self._keys_screen, self._screen_since = screen, now
                self._start_trip(screen, None)
                return
            event = self._keys_waiting.popleft()
            target = self.focused or screen
            try:
                await super().on_event(event)
            except Exception as error:  # a priority binding's action failed
                self.report_error(error)
                continue
            if event.is_forwarded:
                self._start_trip(target, event)
            # else handled on the spot (a priority binding) or dropped

    def _start_trip(self, target: MessagePump, event: _Typed | None) -> None:
        self._key_trips += 1
        self._key_trip = self._key_trips
        self._key_stall = asyncio.get_running_loop().call_later(
            STALL_S, self._release_soon, self._key_trip
        )
        self._follow(target, self._key_trip, event)

    def _follow(self, node: MessagePump, trip: int, event: _Typed | None) -> None:
        # Posted behind the key, the marker runs once `node` has handled it (and, if the
        # key bubbles, has posted it to its parent ahead of the marker's next hop).
        if not node.call_later(self._passed, node, trip, event):
            self._release_soon(trip)  # the node is closing: the key goes no further

    async def _passed(self, node: MessagePump, trip: int, event: _Typed | None) -> None:
        if trip != self._key_trip:
            return
        parent = node._parent
        if node is self:
            await self._release(trip)
        elif event is None or parent is None or (event._stop_propagation and parent is not self):
            # Done here. (A screen's key is stopped as it goes to the app, when the app sent
            # it, yet still reaches the app: the bindings run there, so it is followed.)
            self._release_soon(trip)
        else:
            self._follow(parent, trip, event)

    def _release_soon(self, trip: int) -> None:
        self.call_later(self._release, trip)

    async def _release(self, trip: int) -> None:
        if trip != self._key_trip:
            return
        self._key_trip = 0
        if self._key_stall is not None:
            self._key_stall.cancel()
            self._key_stall = None
        await self._send_keys()
