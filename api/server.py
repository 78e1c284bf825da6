"""Run the API server on uvicorn: loopback by default, TLS required anywhere else."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from engine.services import ServiceError, Services

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8700


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, tls_cert: Path | None, tls_key: Path | None) -> None:
    """Refuse a non-loopback address without a TLS certificate and key (tokens would leak)."""
    if (tls_cert is None) != (tls_key is None):
        raise ServiceError.invalid(
            "--tls-key" if tls_key is None else "--tls-cert",
            None,
            "expected both --tls-cert and --tls-key, or neither",
        )
    if not is_loopback(host) and tls_cert is None:
        raise ServiceError.invalid(
            "--host",
            host,
            "expected a loopback address (127.0.0.1, ::1, localhost), or --tls-cert and "
            "--tls-key to serve elsewhere: bearer tokens must not cross a network in clear",
        )
    for name, path in (("--tls-cert", tls_cert), ("--tls-key", tls_key)):
        if path is not None and not path.is_file():
            raise ServiceError.invalid(name, str(path), "expected a readable PEM file")


def probe_listen(host: str, port: int) -> None:
    """Raise ``OSError`` now if ``host:port`` cannot be listened on (in use, no such address)."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))


def serve(
    services: Services,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    rate: float | None = None,
    ws_queue: int | None = None,
) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM)."""
    import uvicorn

    from api.app import DEFAULT_RATE, create_app
    from engine.services.events import QUEUE_MESSAGES

    check_bind(host, tls_cert, tls_key)
    app = create_app(services, rate=rate or DEFAULT_RATE, ws_queue=ws_queue or QUEUE_MESSAGES)
    uvicorn.run(
        app,
        host=host,
        port=port,
        ssl_certfile=str(tls_cert) if tls_cert else None,
        ssl_keyfile=str(tls_key) if tls_key else None,
        log_level="warning",
        access_log=False,  # query strings may hold node ids, never tokens; keep it quiet
        ws="websockets-sansio",
        ws_max_size=1 << 20,
    )
