"""Alert rules: defaults, workspace settings and node configs, and a dead host's journal."""

from __future__ import annotations

import json
import os

import pytest

from engine.config.store import ConfigStore
from engine.demo import demo_backtest
from engine.journal import JournalReader
from engine.manager import mark_dead
from engine.runs import create_run, new_run_id, read_meta, update_meta
from engine.telemetry.host_hooks import resolve_previous_failure
from engine.telemetry.rules import RulesInvalid, RulesWatcher, effective_rules
from engine.workspace import Workspace


def test_node_rules_replace_workspace_rules_which_replace_defaults(workspace: Workspace) -> None:
    workspace.settings_path.write_text(
        json.dumps(
            {
                "theme": "dark",
                "alerts": [
                    {"name": "memory", "metric": "process.rss_bytes", "op": ">", "threshold": 1e9},
                    {
                        "name": "big-loss",
                        "metric": "pnl.total.*.total",
                        "op": "<",
                        "threshold": -500,
                    },
                ],
            }
        )
    )
    node = ConfigStore(workspace)
    doc = demo_backtest() | {
        "alerts": [
            {"name": "big-loss", "metric": "pnl.total.*.total", "op": "<", "threshold": -100}
        ]
    }
    config = node.save(doc).config
    assert config is not None
    rules = {r.name: r for r in effective_rules(workspace, config.alerts)}
    assert rules["memory"].threshold == 1e9  # workspace replaced the default
    assert rules["big-loss"].threshold == -100  # the node replaced the workspace's
    assert "node-failed" in rules and "latency-p99" in rules  # defaults kept


def test_node_config_alert_errors_name_the_field(workspace: Workspace) -> None:
    from engine.config.validate import validate_node

    doc = demo_backtest() | {
        "alerts": [{"name": "x", "metric": "pnl", "op": ">", "threshold": "high"}]
    }
    paths = [i.path for i in validate_node(doc, workspace, deep=False).errors]
    assert paths and all(p.startswith("alerts[0]") for p in paths)


def test_watcher_sees_settings_change_and_reports_a_bad_file(workspace: Workspace) -> None:
    watcher = RulesWatcher(workspace)
    assert "memory" in {r.name for r in watcher.prime()}
    assert watcher.changed() is None
    workspace.settings_path.write_text(
        json.dumps(
            {
                "alerts": [
                    {
                        "name": "memory",
                        "metric": "process.rss_bytes",
                        "threshold": 1,
                        "enabled": False,
                    }
                ]
            }
        )
    )
    changed = watcher.changed()
    assert changed is not None
    assert {r.name: r for r in changed}["memory"].enabled is False
    workspace.settings_path.write_text(json.dumps({"alerts": [{"name": "bad"}]}))
    with pytest.raises(RulesInvalid, match=r"settings\.alerts\[0\]\.metric"):
        watcher.changed()


def test_a_dead_host_is_journaled_failed_with_the_node_failed_alert(workspace: Workspace) -> None:
    ConfigStore(workspace).save(demo_backtest())
    run = create_run(workspace, "demo-backtest", "backtest")
    update_meta(run.path, state="running", pid=999_999)
    (run.path / "host.out").write_text("last words\n")
    meta = mark_dead(run.path, -9)
    assert meta is not None and meta.state == "failed" and meta.exit_code == -9
    with JournalReader(run.path) as reader:
        events = reader.read()
    kinds = [(e.kind, e.type) for e in events]
    assert ("node", "NodeError") in kinds
    state = next(e for e in events if e.type == "NodeStateChanged")
    assert state.payload["state"] == "failed" and state.payload["previous"] == "running"
    alert = next(e for e in events if e.kind == "alert")
    assert alert.type == "AlertRaised" and "node-failed" in json.dumps(alert.payload)
    # A second caller (the supervisor and a `ps` racing) adds nothing.
    mark_dead(run.path, -9)
    with JournalReader(run.path) as reader:
        assert len(reader.read()) == len(events)
    assert read_meta(run.path).state == "failed"  # type: ignore[union-attr]


def test_a_settings_rewrite_with_the_same_rules_is_no_change(workspace: Workspace) -> None:
    # The console rewrites settings.json for each theme switch: the rules stay as they
    # were, so a running node must not journal AlertRulesChanged (a row in the alerts pane).
    rule = {"name": "memory", "metric": "process.rss_bytes", "threshold": 1, "enabled": False}
    workspace.settings_path.write_text(json.dumps({"theme": "gateway-dark", "alerts": [rule]}))
    watcher = RulesWatcher(workspace)
    watcher.prime()
    for n, theme in enumerate(("gateway-light", "gateway-contrast", "gateway-dark"), 1):
        workspace.settings_path.write_text(json.dumps({"theme": theme, "alerts": [rule]}))
        os.utime(workspace.settings_path, ns=(n * 10**9, n * 10**9))  # a new stamp each time
        assert watcher.changed() is None
    workspace.settings_path.write_text(json.dumps({"alerts": [{**rule, "threshold": 2}]}))
    changed = watcher.changed()
    assert changed is not None
    assert {r.name: r for r in changed}["memory"].threshold == 2


def test_a_node_running_again_resolves_the_failure_its_dead_run_raised(
    workspace: Workspace,
) -> None:
    ConfigStore(workspace).save(demo_backtest())
    dead = create_run(workspace, "demo-backtest", "backtest")
    update_meta(dead.path, state="running", pid=999_999)
    mark_dead(dead.path, -9)
    with JournalReader(dead.path) as reader:
        raised = next(e for e in reader.read() if e.type == "AlertRaised")
    later = new_run_id()
    while later <= dead.run_id:
        later = new_run_id()
    now = raised.ts_ns + 5_000_000_000
    (resolved,) = resolve_previous_failure(workspace, "demo-backtest", later, [], now)
    assert resolved.type == "AlertResolved"
    assert resolved.payload["alert_id"] == raised.payload["alert_id"]
    assert resolved.payload["reason"] == "cleared" and resolved.payload["duration_s"] == 5.0
    # The dead run's own view, and a previous run that ended otherwise: nothing to resolve.
    assert resolve_previous_failure(workspace, "demo-backtest", dead.run_id, [], now) == []
    update_meta(dead.path, state="completed")
    assert resolve_previous_failure(workspace, "demo-backtest", later, [], now) == []
