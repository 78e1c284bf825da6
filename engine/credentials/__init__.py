"""Secrets of adapter profiles in the OS keyring (or an opt-in encrypted file).

Public API: :class:`CredentialStore`, :class:`Secret`, :func:`mask`, backend choice
(:func:`read_settings`, :func:`write_settings`, :func:`diagnose`) and the errors.
"""

from engine.credentials.backend import (
    ENV_BACKEND,
    ENV_FILE,
    ENV_PASSPHRASE,
    SERVICE,
    BackendChoice,
    BackendSettings,
    BackendStatus,
    PassphraseProvider,
    diagnose,
    open_backend,
    read_settings,
    settings_path,
    write_settings,
)
from engine.credentials.errors import (
    CredentialsError,
    KeyringUnavailableError,
    PassphraseError,
)
from engine.credentials.secret import Secret, mask
from engine.credentials.store import CredentialStore, entry_name

__all__ = [
    "ENV_BACKEND",
    "ENV_FILE",
    "ENV_PASSPHRASE",
    "SERVICE",
    "BackendChoice",
    "BackendSettings",
    "BackendStatus",
    "CredentialStore",
    "CredentialsError",
    "KeyringUnavailableError",
    "PassphraseError",
    "PassphraseProvider",
    "Secret",
    "diagnose",
    "entry_name",
    "mask",
    "open_backend",
    "read_settings",
    "settings_path",
    "write_settings",
]
