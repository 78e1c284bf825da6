"""Secrets in memory, masking, backend choice, and the store over a keyring backend."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path

import pytest
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

from engine.credentials import (
    SERVICE,
    BackendChoice,
    CredentialsError,
    CredentialStore,
    PassphraseError,
    Secret,
    mask,
    open_backend,
    read_settings,
    write_settings,
)
from engine.workspace import Workspace


class MemoryKeyring(KeyringBackend):
    """A real keyring backend (keyring's interface) that keeps entries in a dict."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.entries.pop((service, username), None) is None:
            raise PasswordDeleteError("not found")


def test_mask_shows_ends_only_when_long_enough() -> None:
    assert mask("abcdefghijklmnopwxyz") == "abcd…wxyz"
    assert mask("short-value") == "••••"
    assert mask("") == "" and mask(None) == ""


def test_secret_never_shows_its_value() -> None:
    s = Secret("hunter2-very-secret")
    for text in (repr(s), str(s), f"{s}", f"{s!r}", "{}".format(s), repr([s]), repr({"k": s})):  # noqa: UP032
        assert "hunter2" not in text
    assert s.reveal() == "hunter2-very-secret" and s.masked() == "hunt…cret"
    with pytest.raises(TypeError):
        pickle.dumps(s)
    with pytest.raises(TypeError):
        copy.deepcopy(s)
    assert Secret("a") == Secret("a") and Secret("a") != Secret("b")


def test_backend_choice_env_then_workspace_file_then_default(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GATEWAY_KEYRING_BACKEND", raising=False)
    assert read_settings(workspace).choice is BackendChoice.SYSTEM
    path = write_settings(workspace, BackendChoice.CRYPTFILE)
    settings = read_settings(workspace)
    assert settings.choice is BackendChoice.CRYPTFILE and settings.source == str(path)
    monkeypatch.setenv("GATEWAY_KEYRING_BACKEND", "system")
    assert read_settings(workspace).choice is BackendChoice.SYSTEM
    monkeypatch.setenv("GATEWAY_KEYRING_BACKEND", "plaintext")
    with pytest.raises(CredentialsError, match=r"plaintext.*system, cryptfile"):
        read_settings(workspace)


def test_bad_workspace_keyring_file_names_the_file(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GATEWAY_KEYRING_BACKEND", raising=False)
    (workspace.root / "keyring.json").write_text('{"backend": 3}')
    with pytest.raises(CredentialsError, match=r"keyring\.json"):
        read_settings(workspace)


def test_cryptfile_needs_a_passphrase_and_checks_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GATEWAY_KEYRING_PASSPHRASE", raising=False)
    monkeypatch.setenv("GATEWAY_KEYRING_FILE", str(tmp_path / "v" / "secrets.cfg"))
    monkeypatch.setenv("GATEWAY_KEYRING_BACKEND", "cryptfile")
    settings = read_settings(None)
    with pytest.raises(PassphraseError, match="GATEWAY_KEYRING_PASSPHRASE"):
        open_backend(settings)
    store = CredentialStore(settings, passphrase=lambda: "right")
    store.set("p", "api_secret", Secret("value-123456789"))
    assert CredentialStore(settings, lambda: "right").get("p", "api_secret") == Secret(
        "value-123456789"
    )
    with pytest.raises(PassphraseError, match="wrong passphrase"):
        CredentialStore(settings, lambda: "wrong").get("p", "api_secret")


def test_store_entries_are_per_profile_and_field() -> None:
    backend = MemoryKeyring()
    store = CredentialStore(read_settings(None), backend=backend)
    store.set_many("bn", {"api_key": Secret("k" * 20), "api_secret": Secret("s" * 20)})
    assert set(backend.entries) == {(SERVICE, "bn:api_key"), (SERVICE, "bn:api_secret")}
    assert store.get_many("bn", ["api_key", "api_secret", "password"]).keys() == {
        "api_key",
        "api_secret",
    }
    assert store.delete_many("bn", ["api_key", "api_secret", "password"]) == [
        "api_key",
        "api_secret",
    ]
    assert backend.entries == {}


def test_backend_failures_do_not_carry_the_value() -> None:
    class Broken(MemoryKeyring):
        def set_password(self, service: str, username: str, password: str) -> None:
            raise RuntimeError(f"cannot store {password}")

    store = CredentialStore(read_settings(None), backend=Broken())
    with pytest.raises(CredentialsError) as info:
        store.set("bn", "api_secret", Secret("TOPSECRET-VALUE"))
    assert "TOPSECRET" not in str(info.value) and "api_secret" in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
