"""Adapter profiles for every front end: listed and shown without a secret, changes audited.

``engine.adapters.AdapterService`` stores profiles and their keys (in the OS keyring). This
service is what the console, the CLI and the HTTP API call: it records every add, edit and
removal in the audit log (which secret fields were set, never a value), turns the engine's
errors into the one error model, and shows a profile's secrets only as stored or missing.
A masked secret (``****abcd``) is for a person at the machine: :meth:`masked`.
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from pydantic import Field

from engine.adapters import (
    AdapterProfile,
    AdapterService,
    ProfileCorrupt,
    ProfileExists,
    ProfileInvalid,
    ProfileNotFound,
)
from engine.adapters.service import ProfileView, required_secret_fields
from engine.credentials import CredentialsError, Secret
from engine.principal import Principal
from engine.services.audit import audited
from engine.services.errors import ServiceError
from engine.services.models import _Model
from engine.workspace import Workspace

URL_FIELDS = ("base_url_http", "base_url_ws")  # a profile's endpoint overrides


class AdapterSummary(_Model):
    """One stored profile, or why its file cannot be read."""

    name: str
    kind: str | None = None
    environment: str | None = None
    account_type: str | None = None
    description: str | None = None
    error: str | None = None


class AdapterDetail(_Model):
    """A profile's settings and which of its secrets are stored; never a secret's value."""

    name: str
    kind: str
    environment: str
    account_type: str | None = None
    description: str = ""
    urls: dict[str, str] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)
    secrets_stored: dict[str, bool] = Field(
        default_factory=dict, description="Each secret field: whether the keyring holds it."
    )
    missing: list[str] = Field(default_factory=list, description="Required fields not stored.")
    keyring_error: str | None = Field(None, description="Why the keyring could not be read.")


class AdapterRemoved(_Model):
    name: str
    secrets_deleted: list[str]


class AdapterProbe(_Model):
    """What a connection test found (``engine.adapters.probe``)."""

    name: str
    ok: bool
    result: dict[str, Any]


class AdapterProfiles:
    """Adapter profiles of one workspace, for the front ends."""

    def __init__(
        self,
        workspace: Workspace,
        passphrase: Callable[[], str | None] | None = None,
        *,
        engine: AdapterService | None = None,
    ) -> None:
        self.workspace = workspace
        self.engine = engine or AdapterService(workspace, passphrase=passphrase)

    # -- reads -----------------------------------------------------------------------
    def list(self) -> builtins.list[AdapterSummary]:
        rows = []
        for item in self.engine.profiles():
            p = item.profile
            if p is None:
                rows.append(AdapterSummary(name=item.name, error=item.error))
            else:
                rows.append(
                    AdapterSummary(
                        name=p.name,
                        kind=p.kind.value,
                        environment=p.env.value,
                        account_type=p.account_type,
                        description=p.description,
                    )
                )
        return rows

    def get(self, name: str) -> AdapterProfile:
        with _errors(name):
            return self.engine.get(name)

    def show(self, name: str) -> AdapterDetail:
        """The profile and, per secret field, whether it is stored (no value, not masked)."""
        with _errors(name):
            profile = self.engine.get(name)
        stored: dict[str, bool] = {}
        keyring_error = None
        fields = profile.info.all_secret_fields
        if fields:
            try:
                held = self.engine.secrets(name)
                stored = {f: f in held for f in fields}
            except CredentialsError as exc:
                keyring_error = str(exc)
        data = profile.to_json_dict()
        return AdapterDetail(
            name=profile.name,
            kind=profile.kind.value,
            environment=profile.env.value,
            account_type=profile.account_type,
            description=profile.description,
            urls={k: str(data[k]) for k in URL_FIELDS if data.get(k)},
            options=dict(profile.options),
            secrets_stored=stored,
            missing=[f for f in required_secret_fields(profile) if not stored.get(f)]
            if keyring_error is None
            else [],
            keyring_error=keyring_error,
        )

    def masked(self, name: str, *, with_secrets: bool = True) -> ProfileView:
        """The profile with its secrets masked, for a person at this machine."""
        with _errors(name):
            return self.engine.view(name, with_secrets=with_secrets)

    # -- writes (audited) --------------------------------------------------------------
    def add(
        self, who: Principal, profile: AdapterProfile, secrets: Mapping[str, Secret]
    ) -> AdapterProfile:
        """Store a new profile and its secrets."""

        def call() -> AdapterProfile:
            with _errors(profile.name):
                return self.engine.add(profile, secrets)

        return audited(
            self.workspace,
            who,
            "adapters.add",
            {"adapter": profile.name},
            {
                "kind": profile.kind.value,
                "environment": profile.env.value,
                "credential_fields": sorted(secrets),
            },
            call,
            lambda p: {"kind": p.kind.value},
        )

    def update(
        self,
        who: Principal,
        name: str,
        changes: Mapping[str, Any] | None = None,
        *,
        set_options: Mapping[str, Any] | None = None,
        unset_options: Iterable[str] = (),
        secrets: Mapping[str, Secret] | None = None,
    ) -> AdapterProfile:
        """Change fields, options and/or secrets of a profile."""
        unset = builtins.list(unset_options)

        def call() -> AdapterProfile:
            with _errors(name):
                return self.engine.update(
                    name,
                    changes,
                    set_options=set_options,
                    unset_options=unset,
                    secrets=secrets,
                )

        return audited(
            self.workspace,
            who,
            "adapters.update",
            {"adapter": name},
            {
                "changes": dict(changes or {}),
                "set_options": dict(set_options or {}),
                "unset_options": unset,
                "credential_fields": sorted(secrets or {}),
            },
            call,
            lambda p: {"kind": p.kind.value, "environment": p.env.value},
        )

    def replace(
        self,
        who: Principal,
        name: str,
        document: Mapping[str, Any],
        secrets: Mapping[str, Secret] | None = None,
    ) -> AdapterProfile:
        """Make a stored profile match an edited whole document (the console's form).

        Only what differs is changed: fields, options set and options removed.
        """
        with _errors(name):
            old = self.engine.get(name)
        before = old.to_json_dict()
        changes: dict[str, Any] = {}
        for key in (*URL_FIELDS, "environment", "account_type", "description"):
            value = document.get(key, "" if key == "description" else None)
            if value != before.get(key, "" if key == "description" else None):
                changes[key] = value
        options = dict(document.get("options") or {})
        set_options = {k: v for k, v in options.items() if old.options.get(k) != v}
        unset = [k for k in old.options if k not in options]
        return self.update(
            who, name, changes, set_options=set_options, unset_options=unset, secrets=secrets
        )

    def remove(self, who: Principal, name: str) -> AdapterRemoved:
        """Delete a profile (readable or corrupt) and its secrets."""

        def call() -> AdapterRemoved:
            with _errors(name):
                deleted = self.engine.remove(name)
            return AdapterRemoved(name=name, secrets_deleted=deleted)

        return audited(
            self.workspace,
            who,
            "adapters.remove",
            {"adapter": name},
            {},
            call,
            lambda r: {"credential_fields_deleted": r.secrets_deleted},
        )

    # -- the connection test -----------------------------------------------------------
    async def probe(self, name: str, timeout_s: float = 5.0) -> AdapterProbe:
        """Reach the profile's venue and check its keys (in a thread: it blocks)."""
        from engine.adapters.probe import ProbeMissingSecrets, probe

        def run() -> AdapterProbe:
            with _errors(name):
                profile = self.engine.get(name)
                secrets = self.engine.secrets(name) if profile.info.all_secret_fields else {}
                try:
                    result = probe(profile, secrets, timeout=timeout_s)
                except ProbeMissingSecrets as exc:
                    raise ServiceError(
                        "conflict",
                        str(exc),
                        field="name",
                        value=name,
                        expected="a profile with its secrets stored",
                    ) from None
            return AdapterProbe(name=name, ok=result.ok, result=result.to_dict())

        return await asyncio.to_thread(run)


@contextmanager
def _errors(name: str) -> Iterator[None]:
    """The engine's adapter errors as the one error model (the cause kept for the CLI)."""
    try:
        yield
    except ProfileInvalid as exc:
        first = exc.issues[0] if exc.issues else None
        raise ServiceError(
            "invalid",
            "; ".join(i.render() for i in exc.issues) or str(exc),
            field=first.field if first else "",
            value=first.value if first else None,
            expected=first.message if first else "",
        ) from exc
    except ProfileNotFound as exc:
        raise ServiceError(
            "not_found", str(exc), field="name", value=name, expected="a stored adapter profile"
        ) from exc
    except ProfileExists as exc:
        raise ServiceError(
            "conflict", str(exc), field="name", value=name, expected="a name not taken"
        ) from exc
    except ProfileCorrupt as exc:
        raise ServiceError("failed", str(exc), field="name", value=name) from exc
    except CredentialsError as exc:
        raise ServiceError("unreachable", f"keyring: {exc}", field="name", value=name) from exc
