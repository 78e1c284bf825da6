"""``python -m engine.host --workspace DIR --node NODE --mode MODE --run-id RUN``.

Started detached by the NodeManager. Takes no secrets on its command line: a live node
reads them from the OS keyring itself.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.host", description=__doc__)
    parser.add_argument("--workspace", required=True, type=Path)
    parser.add_argument("--node", required=True)
    parser.add_argument("--mode", required=True, choices=["backtest", "sandbox", "live"])
    parser.add_argument("--run-id", required=True)
    args = parser.parse_args(argv)
    from engine.host.host import main_host

    try:
        code = main_host(args.workspace, args.node, args.run_id, args.mode)
    except Exception as exc:  # the host could not even start: leave a trace in the run dir
        _record_startup_failure(args, exc)
        traceback.print_exc()
        return 1
    if args.mode == "backtest":
        # The run is over and everything is on disk (journal closed, results, meta): skip
        # tearing down the interpreter, ~0.2 s with Nautilus, pandas and arrow loaded,
        # that `gateway launch` would wait for. Live hosts exit normally (atexit hooks).
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _record_startup_failure(args: argparse.Namespace, exc: Exception) -> None:
    from engine.runs import ERROR_FILE, run_path, update_meta, utc_now_iso, write_json
    from engine.workspace import Workspace

    try:
        run_dir = run_path(Workspace(args.workspace), args.node, args.run_id)
        write_json(
            run_dir / ERROR_FILE,
            {"error": type(exc).__name__, "message": str(exc), "phase": "host"},
        )
        update_meta(run_dir, state="failed", ended=utc_now_iso(), exit_code=1, error=str(exc))
    except Exception:
        pass


if __name__ == "__main__":
    sys.exit(main())
