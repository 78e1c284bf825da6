"""Fixtures for integration tests (real processes, sockets, keyring, Redis)."""

from __future__ import annotations

# --- real keyring (issue 7): D-Bus session + gnome-keyring Secret Service -------------
from tests.integration.keyring_session import keyring_env, secret_service

# --- a real redis-server on a free port (issue 19) ----------------------------------------
from tests.integration.redis_support import redis_server

__all__ = ["keyring_env", "redis_server", "secret_service"]
