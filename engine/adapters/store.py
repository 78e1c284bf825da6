"""Profiles on disk: ``<workspace>/adapters/<name>.json``, one file per profile."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from engine.adapters.model import (
    AdapterProfile,
    ProfileInvalid,
    ProfileIssue,
    is_valid_name,
    parse_profile,
)
from engine.atomic import atomic_write_text
from engine.json_input import JsonInputError, parse_json
from engine.migrate.versions import VersionError, check_version
from engine.workspace import Workspace

PROFILE_VERSION = 1  # AdapterProfile.version; engine.migrate.kinds.ADAPTER_PROFILE


class ProfileError(Exception):
    """Base of the store's errors."""


class ProfileNotFound(ProfileError, LookupError):
    """No profile with that name."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"no adapter profile named {name!r}")


class ProfileExists(ProfileError):
    """A profile with that name already exists."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"an adapter profile named {name!r} already exists")


class ProfileCorrupt(ProfileError):
    """A profile file cannot be read as a valid profile; the message names the file."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


@dataclass(frozen=True, slots=True)
class ListedProfile:
    """One entry of :meth:`ProfileStore.list`: a profile, or why its file is unreadable."""

    name: str
    path: Path
    profile: AdapterProfile | None
    error: str | None = None


def check_name(name: str) -> str:
    """Return ``name`` if it is a valid profile name, else raise :class:`ProfileInvalid`."""
    if not isinstance(name, str) or not is_valid_name(name):
        raise ProfileInvalid(
            [
                ProfileIssue(
                    "name", "expected lower-case letters, digits and inner hyphens (max 64)", name
                )
            ]
        )
    return name


class ProfileStore:
    """Create, read, update and delete profiles in a workspace's adapters directory.

    Writes are atomic (temp file, fsync, rename), so a reader never sees a torn file and
    a stored valid profile is never replaced by an invalid one.
    """

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.directory = workspace.adapters_dir

    def path(self, name: str) -> Path:
        """Return the file of profile ``name`` (validated, so it stays in the directory)."""
        return self.directory / f"{check_name(name)}.json"

    def exists(self, name: str) -> bool:
        return self.path(name).is_file()

    def names(self) -> list[str]:
        """Return the names of the stored profiles, sorted."""
        if not self.directory.is_dir():
            return []
        return sorted(
            p.stem for p in self.directory.glob("*.json") if p.is_file() and is_valid_name(p.stem)
        )

    def get(self, name: str) -> AdapterProfile:
        """Return profile ``name``.

        Raises
        ------
        ProfileNotFound
            No file for ``name``.
        ProfileCorrupt
            The file is not JSON, not a valid profile, or names another profile.
        """
        path = self.path(name)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise ProfileNotFound(name) from None
        except OSError as exc:
            raise ProfileCorrupt(path, f"cannot read: {exc.strerror}") from None
        try:
            data = parse_json(raw)
        except JsonInputError as exc:
            raise ProfileCorrupt(path, f"not valid JSON: {exc}") from None
        try:  # a newer gateway's profile is refused by name, not as "version: Input should be 1"
            check_version(data, "version", "profile", PROFILE_VERSION, missing=PROFILE_VERSION)
        except VersionError as exc:
            raise ProfileCorrupt(path, str(exc).removeprefix("profile: ")) from None
        try:
            profile = parse_profile(data)
        except ProfileInvalid as exc:
            raise ProfileCorrupt(path, f"not a valid profile: {exc}") from None
        if profile.name != name:
            raise ProfileCorrupt(path, f"holds profile {profile.name!r}, expected {name!r}")
        return profile

    def list(self) -> list[ListedProfile]:
        """Return every profile file, readable or not (a corrupt one carries its error)."""
        listed: list[ListedProfile] = []
        for name in self.names():
            path = self.path(name)
            try:
                listed.append(ListedProfile(name, path, self.get(name)))
            except ProfileError as exc:
                listed.append(ListedProfile(name, path, None, str(exc)))
        return listed

    def create(self, profile: AdapterProfile) -> Path:
        """Store a new profile; raise :class:`ProfileExists` if the name is taken."""
        if self.exists(profile.name):
            raise ProfileExists(profile.name)
        return self._write(profile)

    def save(self, profile: AdapterProfile) -> Path:
        """Store ``profile``, replacing any previous version."""
        return self._write(profile)

    def delete(self, name: str) -> None:
        """Delete profile ``name``; raise :class:`ProfileNotFound` if absent."""
        try:
            self.path(name).unlink()
        except FileNotFoundError:
            raise ProfileNotFound(name) from None

    def _write(self, profile: AdapterProfile) -> Path:
        path = self.path(profile.name)
        text = json.dumps(profile.to_json_dict(), indent=2) + "\n"
        atomic_write_text(path, text)
        return path
