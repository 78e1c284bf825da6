"""A threaded HTTP server on 127.0.0.1:0 that stops cleanly; the venues subclass it."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit


class StandinServer:
    """Base of the REST stand-ins: ``url``, ``start()``, ``stop()``, a context manager.

    Attributes
    ----------
    keys : dict[str, str]
        api_key -> api_secret of the accounts the venue knows.
    denied : set[str]
        Keys that exist but lack the permission the account call needs.
    clock_offset_ms : int
        Added to the real time: a venue whose clock runs ahead (or behind).
    requests : list[tuple[str, str]]
        (method, path) of every request seen, for assertions.
    """

    def __init__(self) -> None:
        self.keys: dict[str, str] = {}
        self.denied: set[str] = set()
        self.clock_offset_ms = 0
        self.requests: list[tuple[str, str]] = []
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                standin.requests.append(("GET", parts.path))
                status, body = standin.handle(
                    parts.path, parts.query, {k.lower(): v for k, v in self.headers.items()}
                )
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @staticmethod
    def params(query: str) -> dict[str, str]:
        return dict(parse_qsl(query, keep_blank_values=True))

    def handle(self, path: str, query: str, headers: dict[str, str]) -> tuple[int, Any]:
        raise NotImplementedError
