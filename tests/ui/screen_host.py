"""A tiny host app that pushes one screen, for pilot and snapshot tests of single screens."""

from __future__ import annotations

from typing import Any

from textual.app import App
from textual.screen import Screen

from themes.loader import BUILTIN_DIR, DEFAULT_THEME, load_themes

_UNSET = object()


class ScreenHost(App[None]):
    """Push `screen` on mount (in `theme`) and keep what it dismissed with in `result`."""

    CSS_PATH = str(BUILTIN_DIR / "console.tcss")

    def __init__(self, screen: Screen[Any], theme: str = DEFAULT_THEME) -> None:
        super().__init__()
        self.first_screen = screen
        self.result: Any = _UNSET
        for loaded in load_themes().themes:
            self.register_theme(loaded)
        self.theme_name = theme

    def on_mount(self) -> None:
        self.theme = self.theme_name
        self.push_screen(self.first_screen, self._dismissed)

    def _dismissed(self, result: Any) -> None:
        self.result = result

    @property
    def dismissed(self) -> bool:
        return self.result is not _UNSET
