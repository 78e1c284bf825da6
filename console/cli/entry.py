"""The `gateway` executable: start a standby host for a backtest launch, then the CLI.

It is also the last resort for errors no command expected: one line on stderr naming a
log file, exit 1. The traceback goes to that file (under the workspace's ``logs/``, or a
temp directory when there is no writable workspace), never to the terminal.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import NoReturn

EXIT_FAILURE = 1
_SECRET_OPTION = ("secret", "key", "password", "passphrase", "token")


def main() -> None:
    """Run the `gateway` command (``console.cli.main``)."""
    argv = sys.argv[1:]
    try:
        from console.cli.prestart import prestart

        prestart(argv)  # before click and the engine are imported
        from console.cli.main import main as cli_main

        cli_main()
    except BrokenPipeError:
        # The reader went away (`gateway runs list | head`): nothing left to tell anyone.
        _silence_stdout()
        sys.exit(EXIT_FAILURE)
    except OSError as exc:
        if exc.filename is None:
            _crash(argv, exc)
        # A file system that refuses (read-only, full, no permission): the path and the
        # reason are the whole story, a traceback would add nothing.
        print(f"error: {os_error_text(exc)}", file=sys.stderr)
        sys.exit(EXIT_FAILURE)
    except Exception as exc:  # the last resort: see the module doc
        _crash(argv, exc)


def _crash(argv: list[str], exc: Exception) -> NoReturn:
    log = write_crash_log(argv, exc)
    where = f"details in {log}" if log else "no log file could be written"
    print(f"error: unexpected {type(exc).__name__}: {_one_line(exc)} ({where})", file=sys.stderr)
    sys.exit(EXIT_FAILURE)


_WRITE_ERRNOS = {errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT}


def os_error_text(exc: OSError) -> str:
    """``cannot write PATH: read-only file system`` (the path relative to the cwd if in it)."""
    path = Path(os.fsdecode(exc.filename))
    with contextlib.suppress(ValueError, OSError):
        path = path.absolute().relative_to(Path.cwd())
    verb = "write" if exc.errno in _WRITE_ERRNOS else "use"
    reason = (exc.strerror or type(exc).__name__).lower()
    return f"cannot {verb} {path}: {reason}"


def write_crash_log(argv: list[str], exc: BaseException) -> Path | None:
    """Write the traceback of ``exc`` to a new log file and return its path (None: none)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    text = f"gateway {' '.join(_redacted(argv))}\n{stamp} pid {os.getpid()}\n\n" + "".join(
        traceback.format_exception(exc)
    )
    for directory in _log_dirs(argv):
        try:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            path = directory / f"cli-{stamp}-{os.getpid()}.log"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError:
            continue
        return path
    return None


def _log_dirs(argv: list[str]) -> list[Path]:
    # Only a workspace that already exists: a crash must not create ./.gateway somewhere.
    dirs = []
    workspace = _workspace_arg(argv) or os.environ.get("GATEWAY_HOME") or ".gateway"
    root = Path(workspace).expanduser()
    if root.is_dir():
        dirs.append(root / "logs")
    dirs.append(Path(tempfile.gettempdir()) / f"gateway-{os.getuid()}")
    return dirs


def _workspace_arg(argv: list[str]) -> str | None:
    found = None
    for i, arg in enumerate(argv):
        if arg in ("-w", "--workspace") and i + 1 < len(argv):
            found = argv[i + 1]
        elif arg.startswith("--workspace="):
            found = arg.partition("=")[2]
        elif arg.startswith("-w") and len(arg) > 2 and not arg.startswith("--"):
            found = arg[2:]
    return found


def _redacted(argv: list[str]) -> list[str]:
    # Secrets never come on the command line by design; still, an option named like one
    # keeps its value out of the log.
    out = []
    hide = False
    for arg in argv:
        name, eq, _ = arg.partition("=")
        secret = name.startswith("-") and any(w in name.lower() for w in _SECRET_OPTION)
        if hide:
            out.append("***")
        elif secret and eq:
            out.append(f"{name}=***")
        else:
            out.append(arg)
        hide = secret and not eq
    return out


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:199] + "…"


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
