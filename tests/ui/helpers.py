"""Small waits for console pilot tests (no fixed sleeps where a condition exists)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from textual.pilot import Pilot


async def wait_for(pilot: Pilot[None], condition: Callable[[], bool], timeout: float = 20) -> None:  # noqa: ASYNC109
    """Let the app run until ``condition()`` holds; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {condition}")
        await pilot.pause(0.05)
