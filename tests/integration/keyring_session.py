"""A real Secret Service for tests: gnome-keyring in a private D-Bus session.

`secret_service` (session scope) starts ``dbus-daemon --session`` and
``gnome-keyring-daemon --unlock --components=secrets`` (password on stdin) with an
isolated HOME / XDG dirs under a tmp dir, and returns the environment that points at
them. `keyring_env` (function scope) applies that environment to this process, so
in-process code and subprocesses alike use the real keyring through SecretStorage.

Under CI (``CI=true``) a daemon that cannot start fails the test instead of skipping it:
keyring tests must never pass silently by not running.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

KEYRING_PASSWORD = "gateway-test-keyring"
_STARTUP_TIMEOUT = 10.0


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"real keyring required in CI: {reason}")
    pytest.skip(f"real keyring unavailable: {reason} (run `make system-deps`)")


def _service_ready(env: dict[str, str]) -> bool:
    probe = (
        "import secretstorage, sys\n"
        "c = secretstorage.dbus_init()\n"
        "sys.exit(0 if secretstorage.check_service_availability(c) else 1)\n"
    )
    python = shutil.which("python3") or "python3"
    venv_python = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "python"
    if venv_python.exists():
        python = str(venv_python)
    result = subprocess.run([python, "-c", probe], env=env, capture_output=True, check=False)
    return result.returncode == 0


@pytest.fixture(scope="session")
def secret_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Start D-Bus + gnome-keyring; yield the env vars that select them."""
    for tool in ("dbus-daemon", "gnome-keyring-daemon"):
        if shutil.which(tool) is None:
            _unavailable(f"{tool} not installed")
    root = tmp_path_factory.mktemp("keyring-home")
    runtime = root / "run"
    runtime.mkdir(mode=0o700)
    overrides = {
        "HOME": str(root),
        "XDG_DATA_HOME": str(root / "data"),
        "XDG_CONFIG_HOME": str(root / "config"),
        "XDG_CACHE_HOME": str(root / "cache"),
        "XDG_RUNTIME_DIR": str(runtime),
    }
    env = {**os.environ, **overrides}
    env.pop("GATEWAY_KEYRING_BACKEND", None)
    env.pop("PYTHON_KEYRING_BACKEND", None)
    bus = subprocess.run(
        ["dbus-daemon", "--session", "--fork", "--print-address=1", "--print-pid=1"],
        env=env, capture_output=True, text=True, check=False, timeout=_STARTUP_TIMEOUT,
    )  # fmt: skip
    lines = bus.stdout.split()
    if bus.returncode != 0 or len(lines) < 2:
        _unavailable(f"dbus-daemon failed: {bus.stderr.strip()}")
    address, bus_pid = lines[0], int(lines[1])
    env["DBUS_SESSION_BUS_ADDRESS"] = address
    overrides["DBUS_SESSION_BUS_ADDRESS"] = address
    daemon = subprocess.Popen(
        ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
        env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert daemon.stdin is not None
        daemon.stdin.write(KEYRING_PASSWORD.encode())
        daemon.stdin.close()
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while not _service_ready(env):
            if daemon.poll() is not None or time.monotonic() > deadline:
                err = daemon.stderr.read().decode() if daemon.stderr else ""
                _unavailable(f"gnome-keyring-daemon did not start: {err.strip()}")
            time.sleep(0.1)
        yield overrides
    finally:
        daemon.terminate()
        try:
            daemon.wait(5)
        except subprocess.TimeoutExpired:
            daemon.kill()
        os.kill(bus_pid, signal.SIGTERM)


@pytest.fixture
def keyring_env(secret_service: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Point this process (and its children) at the test Secret Service."""
    for key, value in secret_service.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("GATEWAY_KEYRING_BACKEND", raising=False)
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    return secret_service
