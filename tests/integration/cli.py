"""Run the real `gateway` entry point in a subprocess, as a user or a script would."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GATEWAY = [sys.executable, "-m", "console"]


@dataclass
class Result:
    code: int
    out: str
    err: str


def gateway(
    *args: str,
    workspace: Path,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> Result:
    full_env = {**os.environ, "GATEWAY_HOME": str(workspace), "NO_COLOR": "1", **(env or {})}
    proc = subprocess.run(
        [*GATEWAY, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def json_arg(data: Any) -> str:
    import json

    return json.dumps(data)
