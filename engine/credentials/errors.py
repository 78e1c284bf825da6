"""Errors of the credentials layer; their messages are safe to show (no secret in them)."""

from __future__ import annotations


class CredentialsError(Exception):
    """A keyring operation failed; the message says what to do."""


class KeyringUnavailableError(CredentialsError):
    """No usable keyring backend: no Secret Service, locked, or an insecure one configured."""


class PassphraseError(CredentialsError):
    """The encrypted-file keyring needs a passphrase and got none, or a wrong one."""
