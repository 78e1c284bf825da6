"""Secrets in the keyring: one entry per profile and field, ``<profile>:<field>``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from engine.credentials.backend import (
    SERVICE,
    BackendSettings,
    PassphraseProvider,
    open_backend,
    read_settings,
)
from engine.credentials.errors import CredentialsError
from engine.credentials.secret import Secret
from engine.workspace import Workspace


def entry_name(profile: str, field: str) -> str:
    """Return the keyring username for one secret field of one profile."""
    return f"{profile}:{field}"


class CredentialStore:
    """Read, write and delete profile secrets in one keyring backend.

    The backend is opened lazily, so building a store never prompts or touches D-Bus.
    Errors from the backend are re-raised as :class:`CredentialsError` whose message
    names the profile and field but never the value.
    """

    def __init__(
        self,
        settings: BackendSettings,
        passphrase: PassphraseProvider | None = None,
        backend: Any = None,
    ) -> None:
        self.settings = settings
        self._passphrase = passphrase
        self._backend = backend

    @classmethod
    def for_workspace(
        cls, workspace: Workspace | None, passphrase: PassphraseProvider | None = None
    ) -> CredentialStore:
        """Return a store using the backend the workspace (or environment) chose."""
        return cls(read_settings(workspace), passphrase)

    @property
    def backend(self) -> Any:
        """The opened keyring backend (opened on first use)."""
        if self._backend is None:
            self._backend = open_backend(self.settings, self._passphrase)
        return self._backend

    def get(self, profile: str, field: str) -> Secret | None:
        """Return the stored secret, or ``None`` when the entry does not exist."""
        try:
            value = self.backend.get_password(SERVICE, entry_name(profile, field))
        except CredentialsError:
            raise
        except Exception as exc:
            raise CredentialsError(
                f"cannot read {field} of profile {profile!r} from the keyring: {type(exc).__name__}"
            ) from None
        return None if value is None else Secret(value)

    def get_many(self, profile: str, fields: Iterable[str]) -> dict[str, Secret]:
        """Return the stored secrets among ``fields`` (missing ones are left out)."""
        found: dict[str, Secret] = {}
        for field in fields:
            secret = self.get(profile, field)
            if secret is not None:
                found[field] = secret
        return found

    def set(self, profile: str, field: str, secret: Secret) -> None:
        """Store ``secret`` as ``<profile>:<field>``, replacing any previous value."""
        try:
            self.backend.set_password(SERVICE, entry_name(profile, field), secret.reveal())
        except CredentialsError:
            raise
        except Exception as exc:
            raise CredentialsError(
                f"cannot store {field} of profile {profile!r} in the keyring: {type(exc).__name__}"
            ) from None

    def set_many(self, profile: str, secrets: Mapping[str, Secret]) -> None:
        """Store several fields of one profile."""
        for field, secret in secrets.items():
            self.set(profile, field, secret)

    def delete(self, profile: str, field: str) -> bool:
        """Delete one entry; return whether it existed."""
        from keyring.errors import PasswordDeleteError

        name = entry_name(profile, field)
        try:
            # No read first: on the encrypted file each read costs an Argon2 derivation.
            self.backend.delete_password(SERVICE, name)
        except PasswordDeleteError:
            return False
        except CredentialsError:
            raise
        except Exception as exc:
            raise CredentialsError(
                f"cannot delete {field} of profile {profile!r} from the keyring: "
                f"{type(exc).__name__}"
            ) from None
        return True

    def delete_many(self, profile: str, fields: Iterable[str]) -> list[str]:
        """Delete the given fields of a profile; return the ones that existed."""
        return [field for field in fields if self.delete(profile, field)]
