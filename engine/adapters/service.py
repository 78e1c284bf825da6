"""Profiles and their secrets together: what the CLI, the console and the node host call.

Secrets are written to the keyring before the profile file, and a profile file is
deleted only after its secrets are gone, so a failing keyring leaves nothing half done.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.adapters.kinds import ALL_SECRET_FIELDS, KindInfo
from engine.adapters.model import AdapterProfile, ProfileInvalid, ProfileIssue, parse_profile
from engine.adapters.store import ListedProfile, ProfileStore
from engine.credentials import CredentialStore, PassphraseProvider, Secret
from engine.workspace import Workspace


@dataclass(frozen=True, slots=True)
class ProfileView:
    """A profile with its secrets masked, for display (``show``, the console form)."""

    profile: AdapterProfile
    secrets: dict[str, str | None]  # field -> masked value, None when not stored
    missing: list[str] = field(default_factory=list)  # required fields not stored

    def to_dict(self) -> dict[str, Any]:
        return {**self.profile.to_json_dict(), "secrets": self.secrets, "missing": self.missing}


def required_secret_fields(profile: AdapterProfile) -> tuple[str, ...]:
    """Return the secret fields ``profile`` cannot work without."""
    info = profile.info
    if profile.option("dockerized_gateway"):
        return info.secret_fields + info.optional_secret_fields
    return info.secret_fields


def check_secrets(
    profile: AdapterProfile, secrets: Mapping[str, Secret], *, complete: bool
) -> None:
    """Raise :class:`ProfileInvalid` naming each bad secret field (never its value).

    Parameters
    ----------
    complete : bool
        Whether ``secrets`` must hold every required field (adding) or may hold a subset
        (editing, where the rest are already stored).
    """
    info: KindInfo = profile.info
    issues: list[ProfileIssue] = []
    for name, secret in secrets.items():
        if name not in info.all_secret_fields:
            allowed = ", ".join(info.all_secret_fields) or "none"
            issues.append(
                ProfileIssue(f"secrets.{name}", f"not a secret of {info.label}; expected {allowed}")
            )
        elif not secret:
            issues.append(ProfileIssue(f"secrets.{name}", "must not be empty"))
        elif any(c.isspace() or not c.isprintable() for c in secret.reveal()):
            issues.append(
                ProfileIssue(f"secrets.{name}", "contains whitespace or control characters")
            )
    if complete:
        for name in required_secret_fields(profile):
            if name not in secrets:
                issues.append(ProfileIssue(f"secrets.{name}", f"required for {info.label}"))
    if issues:
        raise ProfileInvalid(issues)


class AdapterService:
    """Create, read, update, delete and resolve adapter profiles of one workspace.

    Parameters
    ----------
    workspace : Workspace
        Where profiles live (``adapters/``) and which keyring backend it chose.
    credentials : CredentialStore, optional
        Defaults to the workspace's choice; opened lazily, so reading profiles never
        touches the keyring.
    passphrase : callable, optional
        Asked for the encrypted-file keyring's passphrase when one is needed.
    """

    def __init__(
        self,
        workspace: Workspace,
        credentials: CredentialStore | None = None,
        passphrase: PassphraseProvider | None = None,
    ) -> None:
        self.workspace = workspace
        self.store = ProfileStore(workspace)
        self._credentials = credentials
        self._passphrase = passphrase

    @property
    def credentials(self) -> CredentialStore:
        if self._credentials is None:
            self._credentials = CredentialStore.for_workspace(self.workspace, self._passphrase)
        return self._credentials

    # -- reads -----------------------------------------------------------------------

    def get(self, name: str) -> AdapterProfile:
        return self.store.get(name)

    def profiles(self) -> list[ListedProfile]:
        """Return every stored profile (a corrupt file carries its error instead)."""
        return self.store.list()

    def secrets(self, name: str) -> dict[str, Secret]:
        """Return the stored secrets of profile ``name`` (for the probe and node launch)."""
        profile = self.store.get(name)
        return self.credentials.get_many(profile.name, profile.info.all_secret_fields)

    def view(self, name: str, *, with_secrets: bool = True) -> ProfileView:
        """Return the profile with masked secrets (``with_secrets=False`` skips the keyring)."""
        profile = self.store.get(name)
        if not with_secrets:
            return ProfileView(profile, {})
        stored = self.secrets(name)
        fields = profile.info.all_secret_fields
        masked = {f: (stored[f].masked() if f in stored else None) for f in fields}
        missing = [f for f in required_secret_fields(profile) if f not in stored]
        return ProfileView(profile, masked, missing)

    # -- writes ----------------------------------------------------------------------

    def add(self, profile: AdapterProfile, secrets: Mapping[str, Secret]) -> AdapterProfile:
        """Store a new profile and its secrets.

        Raises
        ------
        ProfileExists
            The name is taken.
        ProfileInvalid
            A secret is missing, unknown or malformed (the field is named, not the value).
        CredentialsError
            The keyring refused; nothing was written.
        """
        from engine.adapters.store import ProfileExists

        if self.store.exists(profile.name):
            raise ProfileExists(profile.name)
        check_secrets(profile, secrets, complete=True)
        self.credentials.set_many(profile.name, secrets)
        try:
            self.store.create(profile)
        except BaseException:
            self.credentials.delete_many(profile.name, secrets)
            raise
        return profile

    def update(
        self,
        name: str,
        changes: Mapping[str, Any] | None = None,
        *,
        set_options: Mapping[str, Any] | None = None,
        unset_options: Iterable[str] = (),
        secrets: Mapping[str, Secret] | None = None,
    ) -> AdapterProfile:
        """Change fields, options and/or secrets of profile ``name``; return the new profile.

        ``changes`` maps top-level fields (``environment``, ``account_type``,
        ``base_url_http``, …; ``None`` clears one) to new values. Secrets a changed kind
        no longer uses are deleted from the keyring.
        """
        old = self.store.get(name)
        data = old.to_json_dict()
        for key, value in (changes or {}).items():
            if key == "name":
                raise ProfileInvalid([ProfileIssue("name", "cannot be changed; add a new profile")])
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
        options = dict(data.get("options", {}))
        for key in unset_options:
            if key not in options:
                raise ProfileInvalid([ProfileIssue(f"options.{key}", "is not set")])
            options.pop(key)
        options.update(set_options or {})
        data["options"] = options
        new = parse_profile(data)
        new_secrets = dict(secrets or {})
        check_secrets(new, new_secrets, complete=False)
        if new_secrets:
            self.credentials.set_many(name, new_secrets)
        stale = set(old.info.all_secret_fields) - set(new.info.all_secret_fields)
        if stale:
            self.credentials.delete_many(name, sorted(stale))
        self.store.save(new)
        return new

    def remove(self, name: str) -> list[str]:
        """Delete profile ``name`` (readable or corrupt) and its secrets.

        Secrets go first: if the keyring fails, the profile stays and the call can be
        retried. Returns the secret fields that were deleted.
        """
        from engine.adapters.store import ProfileNotFound

        if not self.store.exists(name):
            raise ProfileNotFound(name)
        deleted = self.credentials.delete_many(name, ALL_SECRET_FIELDS)
        self.store.delete(name)
        return deleted
