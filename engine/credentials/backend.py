"""Which keyring holds the secrets: the OS keyring by default, an encrypted file on opt-in.

The choice comes from ``$GATEWAY_KEYRING_BACKEND`` (``system`` or ``cryptfile``) when set,
else from ``<workspace>/keyring.json`` (``{"backend": "cryptfile"}``, written by
``gateway adapters keyring --use cryptfile``), else ``system``.

``system`` accepts only a native OS keyring (Secret Service, KWallet, macOS Keychain,
Windows Credential Locker). keyring's own default may chain to file backends from other
packages, plaintext ones included; those are refused rather than used silently.

``cryptfile`` is keyrings.cryptfile (Argon2 + AES-GCM) in ``$GATEWAY_KEYRING_FILE`` or
``$XDG_DATA_HOME/nautilus-gateway/secrets.cfg`` (mode 0600). Its passphrase comes from
``$GATEWAY_KEYRING_PASSPHRASE`` or from a prompt the caller supplies; it is never stored.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from engine.atomic import atomic_write_text
from engine.credentials.errors import (
    CredentialsError,
    KeyringUnavailableError,
    PassphraseError,
)
from engine.envvars import ENV_PASSPHRASE as ENV_PASSPHRASE  # re-exported
from engine.migrate.versions import NewerVersion, check_version
from engine.workspace import Workspace

SERVICE: Final = "nautilus-gateway"
ENV_BACKEND: Final = "GATEWAY_KEYRING_BACKEND"
ENV_FILE: Final = "GATEWAY_KEYRING_FILE"
SETTINGS_NAME: Final = "keyring.json"
_PROBE_USER: Final = "__gateway_probe__"

# keyring's own modules that are real OS keyrings; anything else (fail, null, chainer,
# third-party file backends) is not accepted as "system".
_NATIVE_MODULES: Final = (
    "keyring.backends.SecretService",
    "keyring.backends.libsecret",
    "keyring.backends.kwallet",
    "keyring.backends.macOS",
    "keyring.backends.Windows",
)

NO_KEYRING_HELP: Final = (
    "No usable OS keyring was found{detail}.\n"
    "On a desktop, log in to a session with a running, unlocked keyring.\n"
    "On a headless server (SSH), either start a Secret Service in a D-Bus session:\n"
    "    dbus-run-session -- $SHELL    # or: eval $(dbus-launch --sh-syntax)\n"
    '    read -rs PW; printf %s "$PW" | gnome-keyring-daemon --unlock --components=secrets\n'
    "  (Debian/Ubuntu: apt-get install gnome-keyring dbus)\n"
    "or opt into the encrypted file backend:\n"
    "    gateway adapters keyring --use cryptfile  # or GATEWAY_KEYRING_BACKEND=cryptfile\n"
    "  and give its passphrase at the prompt or in GATEWAY_KEYRING_PASSPHRASE."
)

PassphraseProvider = Callable[[], str | None]


class BackendChoice(StrEnum):
    """The keyring backends a user may choose."""

    SYSTEM = "system"
    CRYPTFILE = "cryptfile"


@dataclass(frozen=True, slots=True)
class BackendSettings:
    """The chosen backend, where the choice came from, and the encrypted file's path."""

    choice: BackendChoice
    source: str
    cryptfile_path: Path


@dataclass(frozen=True, slots=True)
class BackendStatus:
    """What :func:`diagnose` found: usable or not, and what to do about it."""

    choice: BackendChoice
    source: str
    backend: str | None
    usable: bool
    message: str
    location: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "choice": self.choice.value,
            "source": self.source,
            "backend": self.backend,
            "usable": self.usable,
            "message": self.message,
            "location": self.location,
        }


def settings_path(workspace: Workspace) -> Path:
    """Return the path of the workspace's keyring choice file."""
    return workspace.root / SETTINGS_NAME


def default_cryptfile_path() -> Path:
    """Return ``$GATEWAY_KEYRING_FILE`` or ``$XDG_DATA_HOME/nautilus-gateway/secrets.cfg``."""
    explicit = os.environ.get(ENV_FILE)
    if explicit:
        return Path(explicit).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "nautilus-gateway" / "secrets.cfg"


def _parse_choice(value: str, where: str) -> BackendChoice:
    try:
        return BackendChoice(value.strip().lower())
    except ValueError:
        allowed = ", ".join(c.value for c in BackendChoice)
        raise CredentialsError(
            f"{where}: keyring backend {value!r} is not one of: {allowed}"
        ) from None


def read_settings(workspace: Workspace | None) -> BackendSettings:
    """Return the backend choice from the environment, the workspace file, or the default."""
    path = default_cryptfile_path()
    env = os.environ.get(ENV_BACKEND)
    if env:
        return BackendSettings(_parse_choice(env, f"${ENV_BACKEND}"), f"${ENV_BACKEND}", path)
    if workspace is not None:
        file = settings_path(workspace)
        if file.is_file():
            try:
                data = json.loads(file.read_text(encoding="utf-8"))
                check_version(data, "schema_version", str(file), 1, missing=1)
                value = data["backend"]
                if not isinstance(value, str):
                    raise TypeError("backend must be a string")
            except NewerVersion as exc:  # a newer gateway's choice: refused, left as it is
                raise CredentialsError(str(exc)) from None
            except (ValueError, KeyError, TypeError) as exc:
                raise CredentialsError(
                    f'{file}: expected {{"backend": "system" | "cryptfile"}} ({exc})'
                ) from None
            return BackendSettings(_parse_choice(value, str(file)), str(file), path)
    return BackendSettings(BackendChoice.SYSTEM, "default", path)


def write_settings(workspace: Workspace, choice: BackendChoice) -> Path:
    """Store ``choice`` in the workspace's ``keyring.json`` and return its path."""
    path = settings_path(workspace)
    doc = {"schema_version": 1, "backend": choice.value}  # engine.migrate.kinds.KEYRING_CHOICE
    atomic_write_text(path, json.dumps(doc, indent=2) + "\n")
    return path


def _native_candidates() -> tuple[list[Any], list[str]]:
    """Return (native backends by priority, names of every backend keyring offered)."""
    import keyring
    from keyring.backends.chainer import ChainerBackend

    try:
        chosen = keyring.get_keyring()
    except Exception as exc:  # a bad keyringrc or PYTHON_KEYRING_BACKEND
        raise KeyringUnavailableError(NO_KEYRING_HELP.format(detail=f" ({exc})")) from None
    offered = list(chosen.backends) if isinstance(chosen, ChainerBackend) else [chosen]
    names = [type(b).__module__ + "." + type(b).__name__ for b in offered]
    native = [b for b in offered if type(b).__module__.startswith(_NATIVE_MODULES)]
    return native, names


def _open_system() -> Any:
    native, names = _native_candidates()
    if not native:
        detail = f" (keyring offered: {', '.join(names) or 'nothing'})"
        raise KeyringUnavailableError(NO_KEYRING_HELP.format(detail=detail))
    backend = native[0]
    try:
        # A cheap read proves the service answers and the collection is unlocked.
        backend.get_password(SERVICE, _PROBE_USER)
    except Exception as exc:
        detail = f" ({type(backend).__name__}: {exc})"
        raise KeyringUnavailableError(NO_KEYRING_HELP.format(detail=detail)) from None
    return backend


def _open_cryptfile(path: Path, passphrase: PassphraseProvider | None) -> Any:
    from keyrings.cryptfile.cryptfile import CryptFileKeyring  # type: ignore[import-untyped]

    secret = os.environ.get(ENV_PASSPHRASE) or (passphrase() if passphrase else None)
    if not secret or not secret.strip():
        raise PassphraseError(
            f"the encrypted keyring {path} needs a passphrase: set ${ENV_PASSPHRASE} "
            "or run the command in a terminal to be prompted"
        )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    backend = CryptFileKeyring()
    backend.file_path = str(path)
    try:
        backend.keyring_key = secret  # creates the file, or checks the passphrase
    except ValueError:
        raise PassphraseError(f"wrong passphrase for the encrypted keyring {path}") from None
    return backend


def open_backend(settings: BackendSettings, passphrase: PassphraseProvider | None = None) -> Any:
    """Return a ready keyring backend for ``settings``.

    Parameters
    ----------
    settings : BackendSettings
        From :func:`read_settings`.
    passphrase : callable, optional
        Asked for the encrypted file's passphrase when ``$GATEWAY_KEYRING_PASSPHRASE``
        is unset (a hidden prompt in the CLI, a masked input in the console).

    Raises
    ------
    KeyringUnavailableError
        No native keyring answers; the message tells the user what to do.
    PassphraseError
        The encrypted file backend got no passphrase, or a wrong one.
    """
    if settings.choice is BackendChoice.CRYPTFILE:
        return _open_cryptfile(settings.cryptfile_path, passphrase)
    return _open_system()


def diagnose(settings: BackendSettings) -> BackendStatus:
    """Check the chosen backend without prompting and say whether it can be used."""
    if settings.choice is BackendChoice.CRYPTFILE:
        path = settings.cryptfile_path
        has_pass = bool(os.environ.get(ENV_PASSPHRASE))
        exists = path.is_file()
        message = f"encrypted file {path} ({'exists' if exists else 'created on first use'}); " + (
            "passphrase from $" + ENV_PASSPHRASE if has_pass else "passphrase asked at use"
        )
        return BackendStatus(
            settings.choice, settings.source, "CryptFileKeyring", True, message, str(path)
        )
    try:
        backend = _open_system()
    except KeyringUnavailableError as exc:
        return BackendStatus(settings.choice, settings.source, None, False, str(exc))
    name = f"{type(backend).__module__.rsplit('.', 1)[-1]}.{type(backend).__name__}"
    return BackendStatus(settings.choice, settings.source, name, True, f"OS keyring ({name})")
