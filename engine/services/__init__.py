"""The service core every front end calls: the HTTP API today, the CLI and console next.

Each service is a thin layer over the engine's own functions (ConfigStore, NodeManager,
runs, audit, telemetry): it takes typed requests, returns typed responses
(``engine.services.models``) and raises one error type (``engine.services.errors``) that
each front end maps to its own form (an exit code, an HTTP status, an inline message).
Every call that changes something takes a ``Principal`` and records an audit entry with
its outcome.
"""

from engine.services.core import Services
from engine.services.errors import ServiceError

__all__ = ["ServiceError", "Services"]
