"""``python -m engine.host --workspace DIR --node NODE --mode MODE --run-id RUN``.

Started detached by the NodeManager. Takes no secrets on its command line: a live node
reads them from the OS keyring itself.

``python -m engine.host --standby MODE --workspace DIR --run-id RUN`` starts a standby
host: it imports what a host of MODE needs, then takes its node as one JSON line on stdin
(``engine.host.standby``); it exits 0 if stdin closes first.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path

from engine.host.standby import STANDBY_MODES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.host", description=__doc__)
    parser.add_argument("--workspace", required=True, type=Path)
    parser.add_argument("--node")
    parser.add_argument("--mode", choices=["backtest", "sandbox", "live"])
    parser.add_argument("--run-id")
    parser.add_argument("--standby", choices=STANDBY_MODES, metavar="MODE")
    args = parser.parse_args(argv)
    if args.standby:
        if not args.run_id:
            parser.error("--standby needs --run-id")
        if not _take_standby_run(args):
            return 0  # no run came: nothing was started, nothing to record
    elif not (args.node and args.mode and args.run_id):
        parser.error("--node, --mode and --run-id are required (or --standby MODE)")
    from engine.host.host import main_host

    try:
        code = main_host(
            args.workspace, args.node, args.run_id, args.mode, standby=bool(args.standby)
        )
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


def _take_standby_run(args: argparse.Namespace) -> bool:
    """Standby: import ahead, then wait for the run on stdin; False if none comes."""
    from engine.host.standby import redirect_output, take_run, warm_imports
    from engine.runs import HOST_OUTPUT, run_path
    from engine.workspace import Workspace

    warm_imports(args.standby)
    run = take_run(sys.stdin.buffer)
    if run is None:
        return False
    args.node, args.mode = run["node_id"], args.standby
    redirect_output(run_path(Workspace(args.workspace), args.node, args.run_id) / HOST_OUTPUT)
    return True


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
