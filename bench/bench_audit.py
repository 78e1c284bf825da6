"""The audit log: appends per second (fsync'd, one process, then two appending at once), and
``verify`` of a 1,000,000-entry log. Target: verify < 1 s.

The 1M-entry log is written directly (same line format, same hashing) rather than through
1M fsync'd appends, which would take the disk's time, not the code's; it is sealed every
1,000 entries by the appender's own sealer, as appends seal it.
"""

from __future__ import annotations

import multiprocessing
import statistics
import tempfile
import time
from pathlib import Path

N_APPENDS = 500
N_VERIFY = 1_000_000
RUNS = 3


def _append_many(directory: str, name: str, n: int) -> None:
    from engine.audit.log import AuditLog
    from engine.principal import Principal

    log, who = AuditLog(Path(directory)), Principal(name, "api")
    for i in range(n):
        log.append(
            who,
            "orders.submit",
            target={"node_id": "demo-sandbox"},
            request={"line": f"buy {i + 1} EUR/USD.SIM limit 1.0850 gtc"},
            result={"ok": True, "client_order_ids": [f"O-20261207-{i:06d}"]},
        )


def _write_log(directory: Path, n: int) -> int:
    """Write ``n`` entries and seal them every 1,000 with the appender's own sealer."""
    from engine.audit.record import GENESIS, AuditEntry, line_bytes
    from engine.audit.sealer import seal_pending
    from engine.audit.seals import SEAL_EVERY

    directory.mkdir(parents=True, exist_ok=True)
    prev, size = GENESIS, 0
    with (directory / "audit.jsonl").open("wb") as fh:
        chunk: list[bytes] = []
        for seq in range(1, n + 1):
            entry = AuditEntry(
                1, seq, prev, "2026-12-07T09:30:00.123456+00:00", "ana", "api", "orders.submit",
                {"node_id": "demo-sandbox"},
                {"line": "buy 100000 EUR/USD.SIM limit 1.0850 gtc"},
                {"ok": True, "client_order_ids": [f"O-20261207-{seq:06d}"]},
            )  # fmt: skip
            data, prev = line_bytes(entry)
            chunk.append(data)
            size += len(data)
            if len(chunk) == SEAL_EVERY:
                fh.write(b"".join(chunk))
                fh.flush()
                chunk.clear()
                seal_pending(directory / "audit.jsonl", directory / "seals.jsonl", seq, SEAL_EVERY)
        fh.write(b"".join(chunk))
    return size


def main() -> None:
    from engine.audit.log import AuditLog
    from engine.audit.verify import verify

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        _append_many(str(root / "one"), "ana", N_APPENDS)
        one = N_APPENDS / (time.perf_counter() - start)
        ctx = multiprocessing.get_context("spawn")
        procs = [
            ctx.Process(target=_append_many, args=(str(root / "two"), f"p{i}", N_APPENDS // 2))
            for i in range(2)
        ]
        start = time.perf_counter()
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        two = N_APPENDS / (time.perf_counter() - start)
        assert verify(AuditLog(root / "two")).ok
        print(f"appends (fsync each): {one:,.0f}/s from one process; {two:,.0f}/s from two")

        size = _write_log(root / "big", N_VERIFY)
        log = AuditLog(root / "big")
        sealed = _times(log, None, sealed=True)
        one_thread = _times(log, 1, sealed=True)
        log.paths.seals.rename(root / "seals.jsonl")  # as a log from before seals
        walked = _times(log, None, sealed=False)
        print(
            f"verify {N_VERIFY:,} entries ({size / 2**20:.0f} MiB), sealed every 1,000: median "
            f"{statistics.median(sealed):.3f} s ({min(sealed):.3f}-{max(sealed):.3f}, "
            f"{RUNS} runs); "
            f"one thread {statistics.median(one_thread):.3f} s; without seals (every line "
            f"walked, one process a core) {statistics.median(walked):.2f} s "
            f"({min(walked):.2f}-{max(walked):.2f})"
        )


def _times(log: object, workers: int | None, *, sealed: bool) -> list[float]:
    from engine.audit.log import AuditLog
    from engine.audit.verify import verify

    assert isinstance(log, AuditLog)
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        report = verify(log, workers=workers)
        times.append(time.perf_counter() - start)
        assert report.ok and report.entries == N_VERIFY, report
        assert report.sealed == (N_VERIFY if sealed else 0), report
    return times


if __name__ == "__main__":
    main()
