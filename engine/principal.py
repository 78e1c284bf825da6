"""Who sent a command: every command that changes something carries a principal.

The console and the CLI act for the local OS user; the HTTP API and the MCP server act for
the name of the token that authenticated the request. ``via`` says which front end.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from typing import Literal

type FrontEnd = Literal["cli", "console", "api", "mcp", "node"]


@dataclass(frozen=True, slots=True)
class Principal:
    """A named actor and the front end it acted through."""

    name: str
    via: FrontEnd

    def __str__(self) -> str:
        return f"{self.name}@{self.via}"

    @classmethod
    def local(cls, via: FrontEnd) -> Principal:
        """The OS user running this process (the console's or the CLI's user)."""
        try:
            name = getpass.getuser()
        except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER (containers)
            name = f"uid{os.getuid()}"
        return cls(name=name, via=via)
