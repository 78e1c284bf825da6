"""An Input whose editing keys act in the order they were typed, for order tickets.

Textual's ``Input`` inserts a printable key as soon as it handles the key, but runs its
editing bindings (backspace, delete, arrows, home/end, enter) only when the key has
bubbled back up to the app, after the keys queued behind it. A burst of keys — a paste,
a fast typist, keystrokes batched by a laggy SSH link — is then applied out of order:
``1.000001`` followed by eight backspaces and ``1.07`` became ``1.0000``, and the order
went out at 1.00000. Here the Input runs its own bindings while it handles the key, in
the order the keys came.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input


class OrderedInput(Input):
    """``Input`` that applies its own key bindings in key order (see the module)."""

    async def _on_key(self, event: events.Key) -> None:
        if not event.is_printable:
            for binding in self._bindings.key_to_bindings.get(event.key, ()):
                name = binding.action.split("(", 1)[0]
                if hasattr(self, f"action_{name}"):
                    event.stop()
                    event.prevent_default()
                    await self.run_action(binding.action)
                    return
        await super()._on_key(event)
