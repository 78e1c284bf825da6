"""Fixtures for integration tests (real processes, sockets, keyring)."""

from __future__ import annotations

# --- real keyring (issue 7): D-Bus session + gnome-keyring Secret Service -------------
from tests.integration.keyring_session import keyring_env, secret_service

__all__ = ["keyring_env", "secret_service"]
