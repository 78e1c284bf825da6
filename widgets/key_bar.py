"""A one-line bar of the keys that work now: a light stand-in for Textual's Footer.

Footer recomposes a widget per key whenever the focus moves, which costs tens of
milliseconds per keystroke on a busy screen; this bar re-renders one line of text.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
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

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self._text = Text()

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

    def _changed(self, screen: Screen[object]) -> None:
        key_style = self._key_style()
        parts: list[Text] = []
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
            parts.append(part)
        text = Text("  ").join(parts)
        if text != self._text:
            self._text = text
            self.update(text, layout=False)
