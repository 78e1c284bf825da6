"""Run every ``bench/bench_*.py`` module's ``main()`` in turn and print their figures."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
import traceback
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks named in ``argv`` (module names or suffixes), else all of them."""
    wanted = argv if argv is not None else sys.argv[1:]
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    if wanted:
        names = [n for n in names if n in wanted or n.removeprefix("bench_") in wanted]
    failed = 0
    for name in names:
        print(f"== {name}", flush=True)
        start = time.perf_counter()
        try:
            importlib.import_module(f"bench.{name}").main()
        except Exception:
            failed += 1
            traceback.print_exc()
            print(f"== {name} FAILED", flush=True)
            continue
        print(f"== {name} done in {time.perf_counter() - start:.1f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
