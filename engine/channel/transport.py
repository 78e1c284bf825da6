"""How node channel bytes move: a small interface, with a Unix domain socket behind it.

A later transport (Redis streams, for nodes on other machines) implements the same
:class:`Transport` protocol; the host and client speak frames over whatever it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import stat
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol

from engine.channel.errors import ChannelError, StaleSocketError

ConnectionHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
_MAX_SUN_PATH = 100  # sun_path is 108 bytes on Linux; keep a margin


class Transport(Protocol):
    """A byte-stream transport between one node host and its clients."""

    async def serve(self, handler: ConnectionHandler) -> asyncio.AbstractServer:
        """Start accepting clients, each handled by ``handler``."""
        ...

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Open a connection to the host."""
        ...

    def cleanup(self) -> None:
        """Remove what :meth:`serve` left behind (socket files ...)."""
        ...


class UnixSocketTransport:
    """A Unix domain socket at ``path`` (mode 0600, in a directory of mode 0700)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._dir_fd: int | None = None

    # Linux limits socket paths to 108 bytes; a longer one is reached through the
    # directory's /proc/self/fd link, which bind() and connect() both resolve.
    def _address(self) -> str:
        full = os.fsencode(self.path)
        if len(full) <= _MAX_SUN_PATH:
            return str(self.path)
        if self._dir_fd is None:
            self._dir_fd = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
        return f"/proc/self/fd/{self._dir_fd}/{self.path.name}"

    def _close_dir_fd(self) -> None:
        if self._dir_fd is not None:
            os.close(self._dir_fd)
            self._dir_fd = None

    def prepare(self) -> None:
        """Create the private directory and clear a stale socket of a dead host.

        Raises
        ------
        ChannelError
            Another live host listens on the path, or the path is not a socket.
        """
        parent = self.path.parent
        parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        info = parent.stat()
        if info.st_mode & 0o077 and info.st_uid == os.getuid():
            parent.chmod(0o700)
        try:
            mode = self.path.lstat().st_mode
        except FileNotFoundError:
            return
        if not stat.S_ISSOCK(mode):
            raise ChannelError(f"channel socket path {self.path} exists and is not a socket")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.settimeout(1.0)
            probe.connect(self._address())
        except (ConnectionRefusedError, FileNotFoundError):
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()  # a dead host's socket
            return
        except OSError as exc:
            raise ChannelError(f"channel socket {self.path} cannot be probed: {exc}") from None
        finally:
            probe.close()
        raise ChannelError(f"another node host is already listening on {self.path}")

    async def serve(self, handler: ConnectionHandler) -> asyncio.AbstractServer:
        """Bind the socket (0600) and serve ``handler``."""
        self.prepare()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(self._address())
            os.chmod(self.path, 0o600)
            sock.setblocking(False)
            return await asyncio.start_unix_server(handler, sock=sock, limit=1 << 20)
        except BaseException:
            sock.close()
            raise

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Connect to the host.

        Raises
        ------
        StaleSocketError
            The socket exists but nothing listens on it: its host died.
        ChannelError
            There is no socket at the path, or it cannot be opened.
        """
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            await asyncio.get_running_loop().sock_connect(sock, self._address())
        except FileNotFoundError:
            sock.close()
            raise ChannelError(
                f"no node host at {self.path}: the socket does not exist (is the node running?)"
            ) from None
        except ConnectionRefusedError:
            sock.close()
            raise StaleSocketError(
                f"stale socket {self.path}: the node host that created it is not running"
            ) from None
        except OSError as exc:
            sock.close()
            raise ChannelError(f"cannot connect to node host at {self.path}: {exc}") from None
        finally:
            self._close_dir_fd()
        return await asyncio.open_unix_connection(sock=sock, limit=1 << 20)

    def cleanup(self) -> None:
        """Remove the socket file."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._close_dir_fd()
