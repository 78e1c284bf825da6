"""`gateway metrics` and `gateway metrics serve` on a real backtest run's journal."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from engine.runs import latest_run
from tests.integration.backtest_support import small_workspace
from tests.integration.cli import GATEWAY, gateway


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("metrics") / ".gateway"
    small_workspace(root)
    r = gateway("launch", "demo-backtest", "--headless", workspace=root)
    assert r.code == 0, r.err
    return root


def test_latest_sample_equals_the_run_results(finished_run: Path) -> None:
    r = gateway("metrics", "demo-backtest", "--json", workspace=finished_run)
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    sample = doc["sample"]
    assert sample["reason"] == "final"
    from engine.workspace import Workspace

    run = latest_run(Workspace(finished_run), "demo-backtest")
    assert run is not None and doc["run_id"] == run.run_id
    stats = run.stats()
    assert stats is not None
    # The same numbers as Nautilus's own results for the run, not invented ones.
    assert sample["pnl"]["total"]["USD"]["realized"] == pytest.approx(stats["pnl"]["USD"])
    assert sample["orders"]["total"] == stats["total_orders"]
    text = gateway("metrics", "demo-backtest", workspace=finished_run).out
    assert f"realized {stats['pnl']['USD']:,.2f}" in text


def test_unknown_node_is_invalid_input(finished_run: Path) -> None:
    r = gateway("metrics", "no-such-node", workspace=finished_run)
    assert r.code == 2 and "no run 'no-such-node'" in r.err


def _default_sigint() -> None:
    # Ctrl-C as on a terminal: a shell's background job (a CI runner's, say) starts with
    # SIGINT ignored, and Python then installs no KeyboardInterrupt handler.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_prometheus_endpoint_serves_the_run_over_http(
    finished_run: Path, stop: signal.Signals
) -> None:
    import os

    env = {**os.environ, "GATEWAY_HOME": str(finished_run)}
    proc = subprocess.Popen(
        [*GATEWAY, "metrics", "serve", "--port", "0", "--interval", "0.2"],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=_default_sigint,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        url = re.search(r"http://\S+", line)
        assert url, line
        body = ""
        for _ in range(50):  # the first poll lands within the interval
            with urllib.request.urlopen(url.group(0), timeout=5) as resp:
                body = resp.read().decode()
            if 'node="demo-backtest"' in body:
                break
            import time

            time.sleep(0.1)
        families = {f.name: f for f in text_string_to_metric_families(body)}
        labelled = [
            s
            for f in families.values()
            for s in f.samples
            if s.labels.get("node") == "demo-backtest"
        ]
        assert labelled, sorted(families)
    finally:
        proc.send_signal(stop)
        # Drain stderr while waiting: a child blocked on a full pipe would never exit.
        try:
            _, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
            pytest.fail(f"metrics serve did not exit within 10 s of {stop.name}; stderr: {err}")
    assert proc.returncode == 0, f"serve exits cleanly on {stop.name}; stderr: {err[-2000:]}"
