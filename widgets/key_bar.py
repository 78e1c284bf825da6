"""A one-line bar of the keys that work now: a light stand-in for Textual's Footer.

Footer recomposes a widget per key whenever the focus moves, which costs tens of
milliseconds per keystroke on a busy screen; this bar re-renders one line of text.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.app import App
from textual.color import Color, ColorParseError
from textual.screen import Screen
from textual.widgets import Static


class KeyBar(Static):
    """Shown keys of the focused widget, its ancestors, the screen and the app.

    Its size never changes, so it updates without a relayout of the screen (a relayout
    on every focus change cost ~20 ms a key on a busy screen).
    """

    DEFAULT_CSS = """
    KeyBar { dock: bottom; height: 1; padding: 0 1; background: $panel; color: $text; }
    """

    def __init__(
        self,
        *,
        lead: frozenset[str] = frozenset({"app.order-buy", "app.order-sell"}),
        id: str | None = None,
    ) -> None:
        """``lead``: ids of the app's keys that come right after the screen's and pane's."""
        super().__init__("", id=id, markup=False)
        self._text = Text()
        self.lead = lead

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._changed)
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._changed(self.screen))
        self._changed(self.screen)

    def _key_style(self) -> Style:
        value = self.app.theme_variables.get(
            "footer-key-foreground"
        ) or self.app.theme_variables.get("accent", "")
        try:
            return Style(color=Color.parse(value).rich_color, bold=True)
        except ColorParseError:
            return Style(bold=True)

    def on_resize(self) -> None:
        self._changed(self.screen)

    def _changed(self, screen: Screen[object]) -> None:
        key_style = self._key_style()
        parts: list[tuple[int, Text]] = []
        seen: set[str] = set()
        for active in screen.active_bindings.values():
            binding = active.binding
            if not binding.show or binding.action in seen or not binding.description:
                continue
            seen.add(binding.action)
            key = self.app.get_key_display(binding)
            part = Text.assemble((key, key_style), " ", binding.description)
            if not active.enabled:
                part.stylize("dim")
            parts.append((self._rank(active.node, binding.id or ""), part))
        text = Text("  ").join(fit_keys(parts, self.size.width))
        if text != self._text:
            self._text = text
            self.update(text, layout=False)

    def _rank(self, node: object, binding_id: str) -> int:
        """What the bar shows first: the focused pane's and the screen's actions, then the
        app's lead keys (buy, sell), ? (it lists every key), the pane's filters, the rest."""
        if isinstance(node, App):
            return 1 if binding_id in self.lead else KEYS_RANK if binding_id == "app.keys" else 5
        if isinstance(node, Screen):
            return 0
        return 3 if binding_id.startswith(("table.", "filter.")) else 0


KEYS_RANK = 2


def fit_keys(parts: list[tuple[int, Text]], width: int) -> list[Text]:
    """The most important ``(rank, label)`` parts that fit ``width`` cells whole, two spaces
    apart, in rank order; the ? label (rank 2) always keeps its place."""
    ordered = [p for _rank, p in sorted(parts, key=lambda rp: rp[0])]
    if width <= 0:
        return ordered
    reserved = sum(p.cell_len + 2 for r, p in parts if r == KEYS_RANK)
    room = width + 2 - reserved  # the first part has no gap before it
    shown: list[Text] = []
    for rank, part in sorted(parts, key=lambda rp: rp[0]):
        if rank == KEYS_RANK:
            shown.append(part)
        elif part.cell_len + 2 <= room:
            room -= part.cell_len + 2
            shown.append(part)
    return shown
