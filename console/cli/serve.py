"""`gateway serve`: the HTTP/WebSocket API (FastAPI on uvicorn), see docs/api.md."""

from __future__ import annotations

from pathlib import Path

import click

from console.cli.context import EXIT_INVALID, fail, get_workspace, pass_workspace_option


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8700, show_default=True, type=click.IntRange(0, 65535))
@click.option("--tls-cert", type=click.Path(path_type=Path), help="TLS certificate (PEM).")
@click.option("--tls-key", type=click.Path(path_type=Path), help="TLS private key (PEM).")
@click.option(
    "--rate-limit",
    "rate",
    type=click.FloatRange(min=0.1, max=1e6),
    default=50.0,
    show_default=True,
    help="Requests a second per token (bursts of twice that); over it: 429.",
)
@click.option(
    "--ws-queue",
    type=click.IntRange(1, 10_000),
    default=64,
    show_default=True,
    help="Messages (up to 1000 events each) held per WebSocket client; beyond: a gap notice.",
)
@pass_workspace_option
def serve(
    host: str, port: int, tls_cert: Path | None, tls_key: Path | None, rate: float, ws_queue: int
) -> None:
    """Serve the REST and WebSocket API until Ctrl-C; loopback only unless TLS is given."""
    from api.server import check_bind, probe_listen
    from api.server import serve as run
    from engine.services import ServiceError, Services

    try:
        check_bind(host, tls_cert, tls_key)
        probe_listen(host, port)
    except ServiceError as exc:
        fail(exc.message, EXIT_INVALID)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror}", EXIT_INVALID)
    scheme = "https" if tls_cert else "http"
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"serving {scheme}://{shown}:{port} (docs: /docs; Ctrl-C to stop)", err=True)
    try:
        run(
            Services(get_workspace()),
            host,
            port,
            tls_cert=tls_cert,
            tls_key=tls_key,
            rate=rate,
            ws_queue=ws_queue,
        )
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror}", EXIT_INVALID)
