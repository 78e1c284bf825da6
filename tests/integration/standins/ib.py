"""A TWS API handshake stand-in: answers ``API\\0`` + ``v100..176`` like TWS/IB Gateway.

``mode="ok"`` replies with a length-prefixed ``server_version\\0connection_time\\0``;
``mode="close"`` accepts the connection and closes it during the handshake, as TWS does
when the client's IP is not trusted.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from typing import Literal


class IBStandin:
    """A one-thread TCP server on 127.0.0.1:0 speaking the TWS API greeting."""

    SERVER_VERSION = 176
    CONNECTION_TIME = "20250101 12:00:00 Europe/London"

    def __init__(self, mode: Literal["ok", "close"] = "ok") -> None:
        self.mode = mode
        self.greetings: list[bytes] = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                with contextlib.suppress(OSError):
                    self._greet(conn)

    def _greet(self, conn: socket.socket) -> None:
        prefix = conn.recv(4, socket.MSG_WAITALL)
        if prefix != b"API\0":
            return
        (size,) = struct.unpack(">I", conn.recv(4, socket.MSG_WAITALL))
        versions = conn.recv(size, socket.MSG_WAITALL)
        self.greetings.append(prefix + versions)
        if self.mode == "close":
            return
        text = f"{self.SERVER_VERSION}\0{self.CONNECTION_TIME}\0".encode()
        conn.sendall(struct.pack(">I", len(text)) + text)

    def start(self) -> IBStandin:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._sock.close()

    def __enter__(self) -> IBStandin:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
