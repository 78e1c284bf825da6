"""Alert rules: validation, raise/resolve with duration and hysteresis, runtime changes."""

from __future__ import annotations

from typing import Any

import pytest

from engine.telemetry.alerts import (
    ALERT_RAISED,
    ALERT_RESOLVED,
    GIB,
    AlertEngine,
    AlertEvent,
    AlertRule,
    default_rules,
    parse_rules,
    resolve_path,
)

S = 1_000_000_000  # one second in ns


def engine(*rules: AlertRule) -> AlertEngine:
    return AlertEngine(rules, notify_default=False)


def sample(ts_s: float, **parts: Any) -> dict[str, Any]:
    return {"ts_ns": int(ts_s * S), **parts}


def rss(ts_s: float, gib: float) -> dict[str, Any]:
    return sample(ts_s, process={"rss_bytes": gib * GIB})


MEMORY = AlertRule(
    name="mem", metric="process.rss_bytes", threshold=2 * GIB, clear_threshold=1.8 * GIB
)


def test_raises_when_threshold_crossed_and_resolves_below_clear_threshold() -> None:
    eng = engine(MEMORY)
    assert eng.evaluate("n1", rss(0, 1.0)) == []
    [raised] = eng.evaluate("n1", rss(1, 2.5))
    assert raised.type == ALERT_RAISED
    assert raised.kind == "alert"
    assert raised.payload["alert_id"] == "n1:mem:process.rss_bytes"
    assert raised.payload["value"] == 2.5 * GIB
    assert raised.payload["severity"] == "warning"
    # Between clear threshold and threshold: hysteresis keeps it raised, no flapping.
    assert eng.evaluate("n1", rss(2, 1.9)) == []
    assert eng.evaluate("n1", rss(3, 2.1)) == []
    assert [a["alert_id"] for a in eng.active()] == ["n1:mem:process.rss_bytes"]
    [resolved] = eng.evaluate("n1", rss(4, 1.5))
    assert resolved.type == ALERT_RESOLVED
    assert resolved.payload["reason"] == "cleared"
    assert resolved.payload["duration_s"] == pytest.approx(3.0)
    assert eng.active() == []


def test_for_secs_requires_the_condition_to_hold_continuously() -> None:
    rule = MEMORY.model_copy(update={"for_secs": 10.0})
    eng = engine(rule)
    assert eng.evaluate("n1", rss(0, 3)) == []
    assert eng.evaluate("n1", rss(5, 3)) == []
    assert eng.evaluate("n1", rss(6, 1)) == []  # dipped: the clock restarts
    assert eng.evaluate("n1", rss(7, 3)) == []
    assert eng.evaluate("n1", rss(16, 3)) == []
    [raised] = eng.evaluate("n1", rss(17, 3))
    assert raised.type == ALERT_RAISED
    assert raised.payload["raised_ts_ns"] == 17 * S


def test_clear_for_secs_requires_the_clear_condition_to_hold() -> None:
    rule = MEMORY.model_copy(update={"clear_for_secs": 5.0})
    eng = engine(rule)
    eng.evaluate("n1", rss(0, 3))
    assert eng.evaluate("n1", rss(1, 1)) == []
    assert eng.evaluate("n1", rss(3, 2.5)) == []  # back above: clearing restarts
    assert eng.evaluate("n1", rss(4, 1)) == []
    assert eng.evaluate("n1", rss(8, 1)) == []
    [resolved] = eng.evaluate("n1", rss(9, 1))
    assert resolved.type == ALERT_RESOLVED


def test_absent_or_null_metric_leaves_an_alert_as_it_is() -> None:
    rule = AlertRule(name="p99", metric="latency_ms.submit_to_accept.p99", threshold=500.0)
    eng = engine(rule)
    lat = {"submit_to_accept": {"p99": 900.0}}
    assert eng.evaluate("n1", sample(0, latency_ms=lat))[0].type == ALERT_RAISED
    assert eng.evaluate("n1", sample(1, latency_ms={"submit_to_accept": {"p99": None}})) == []
    assert eng.evaluate("n1", sample(2, process={"rss_bytes": 1})) == []
    assert len(eng.active("n1")) == 1


def test_nodes_are_independent_and_wildcards_track_each_match() -> None:
    rule = AlertRule(name="dd", metric="drawdown.*.pct", threshold=10.0, clear_threshold=8.0)
    eng = engine(rule)
    dd = {"USD": {"pct": 12.0}, "EUR": {"pct": 3.0}}
    [raised] = eng.evaluate("a", sample(0, drawdown=dd))
    assert raised.payload["metric"] == "drawdown.USD.pct"
    assert eng.evaluate("b", sample(0, drawdown={"USD": {"pct": 1.0}})) == []
    [eur] = eng.evaluate("a", sample(1, drawdown={"USD": {"pct": 11.0}, "EUR": {"pct": 20.0}}))
    assert eur.payload["alert_id"] == "a:dd:drawdown.EUR.pct"
    assert sorted(a["metric"] for a in eng.active("a")) == ["drawdown.EUR.pct", "drawdown.USD.pct"]
    assert eng.active("b") == []


def test_failed_node_rule_from_state_changes_only() -> None:
    eng = AlertEngine(notify_default=False)  # the defaults
    [raised] = eng.node_state("n1", "failed", 5 * S)
    assert raised.payload["rule"] == "node-failed"
    assert raised.payload["severity"] == "critical"
    # A metrics sample has no "node" key: it must not resolve the state alert.
    assert eng.evaluate("n1", sample(6, process={"rss_bytes": 1})) == []
    [resolved] = eng.node_state("n1", "running", 7 * S)
    assert resolved.type == ALERT_RESOLVED
    assert resolved.payload["duration_s"] == pytest.approx(2.0)


def test_defaults_cover_drawdown_latency_memory_stale_feed_failed_node() -> None:
    rules = {r.name: r for r in default_rules()}
    assert set(rules) == {
        "drawdown",
        "latency-p99",
        "memory",
        "stale-feed",
        "node-failed",
        "trading-halted",
        "trading-reducing",
    }
    eng = AlertEngine(notify_default=False)
    events = eng.evaluate(
        "n1",
        sample(
            0,
            drawdown={"USD": {"pct": 25.0}},
            feed={"data_idle_s": 120.0},
            latency_ms={"submit_to_accept": {"p99": 50.0}},
            process={"rss_bytes": 100 * 1024**2},
        ),
    )
    assert sorted(e.payload["rule"] for e in events) == ["drawdown", "stale-feed"]
    assert all(e.payload["clear_threshold"] < e.payload["threshold"] for e in events)


def test_trading_state_rules_raise_on_halt_and_resolve_on_resume() -> None:
    eng = AlertEngine(notify_default=False)
    [raised] = eng.risk_state("n1", "HALTED", 1 * S)
    assert (raised.type, raised.payload["rule"], raised.payload["severity"]) == (
        "AlertRaised",
        "trading-halted",
        "critical",
    )
    events = eng.risk_state("n1", "REDUCING", 2 * S)
    assert {(e.type, e.payload["rule"]) for e in events} == {
        ("AlertResolved", "trading-halted"),
        ("AlertRaised", "trading-reducing"),
    }
    [resolved] = eng.risk_state("n1", "ACTIVE", 3 * S)
    assert (resolved.type, resolved.payload["rule"]) == ("AlertResolved", "trading-reducing")
    # Metric samples do not touch the risk rules.
    assert eng.evaluate("n1", sample(4, process={"rss_bytes": 1})) == []


def test_set_rules_keeps_unchanged_and_resolves_changed_or_removed() -> None:
    keep = AlertRule(name="keep", metric="feed.data_idle_s", threshold=10.0)
    eng = engine(MEMORY, keep)
    eng.evaluate("n1", sample(0, process={"rss_bytes": 3 * GIB}, feed={"data_idle_s": 60.0}))
    assert len(eng.active()) == 2
    stricter = MEMORY.model_copy(update={"threshold": 4.0 * GIB, "clear_threshold": 3.5 * GIB})
    [resolved] = eng.set_rules([stricter, keep], 1 * S)
    assert resolved.payload["reason"] == "rule_changed"
    assert [a["rule"] for a in eng.active()] == ["keep"]
    # The new definition applies at once: 3 GiB is below the new threshold.
    assert eng.evaluate("n1", sample(2, process={"rss_bytes": 3 * GIB})) == []
    [removed] = eng.set_rules([stricter], 3 * S)
    assert removed.payload == removed.payload | {"rule": "keep", "reason": "rule_removed"}
    assert eng.rules == [stricter]


def test_forget_node_resolves_its_alerts() -> None:
    eng = engine(MEMORY)
    eng.evaluate("n1", rss(0, 3))
    eng.evaluate("n2", rss(0, 3))
    [resolved] = eng.forget_node("n1", 1 * S)
    assert resolved.payload["node_id"] == "n1"
    assert resolved.payload["reason"] == "node_forgotten"
    assert [a["node_id"] for a in eng.active()] == ["n2"]


def test_disabled_rule_never_raises() -> None:
    eng = engine(MEMORY.model_copy(update={"enabled": False}))
    assert eng.evaluate("n1", rss(0, 9)) == []


def test_notifier_gets_events_of_rules_with_a_target_only() -> None:
    seen: list[tuple[str, AlertEvent]] = []
    hooked = MEMORY.model_copy(update={"webhook_url": "http://127.0.0.1:9/hook"})
    plain = AlertRule(name="idle", metric="feed.data_idle_s", threshold=1.0)
    eng = AlertEngine([hooked, plain], notifier=lambda r, e: seen.append((r.name, e)))
    eng.evaluate("n1", sample(0, process={"rss_bytes": 3 * GIB}, feed={"data_idle_s": 5.0}))
    assert [(name, e.type) for name, e in seen] == [("mem", ALERT_RAISED)]


def test_a_failing_notifier_does_not_stop_alerting() -> None:
    def boom(_rule: AlertRule, _event: AlertEvent) -> None:
        raise RuntimeError("down")

    eng = AlertEngine([MEMORY.model_copy(update={"command": ("true",)})], notifier=boom)
    assert [e.type for e in eng.evaluate("n1", rss(0, 3))] == [ALERT_RAISED]


@pytest.mark.parametrize(
    ("raw", "field", "fragment"),
    [
        ({"name": "x", "metric": "a.b", "threshold": "high"}, "threshold", "expected a number"),
        ({"name": "x", "metric": "a", "threshold": 5, "op": "~"}, "op", "'~'"),
        (
            {"name": "x", "metric": "a", "threshold": 5, "clear_threshold": 6},
            "clear_threshold",
            "at most",
        ),
        (
            {"name": "x", "metric": "a", "op": "<", "threshold": 5, "clear_threshold": 4},
            "clear_threshold",
            "at least",
        ),
        ({"name": "x", "metric": "a", "threshold": 5, "for_secs": -1}, "for_secs", "-1"),
        ({"name": "x", "metric": "a", "threshold": 5, "severity": "loud"}, "severity", "loud"),
        (
            {"name": "x", "metric": "a", "threshold": 5, "webhook_url": "ftp://h"},
            "webhook_url",
            "http",
        ),
        ({"name": "x", "metric": "a", "threshold": 5, "command": []}, "command", "argv"),
        ({"name": "x", "metric": "a..b", "threshold": 5}, "metric", "a..b"),
        ({"name": "x", "metric": "a", "threshold": 5, "colour": "red"}, "colour", "red"),
    ],
)
def test_parse_rules_names_field_value_and_expectation(
    raw: dict[str, Any], field: str, fragment: str
) -> None:
    with pytest.raises(ValueError) as info:
        parse_rules([{"name": "ok", "metric": "a", "threshold": 1}, raw], where="settings.alerts")
    message = str(info.value)
    assert f"settings.alerts[1].{field}: got " in message
    assert fragment in message


def test_parse_rules_rejects_duplicate_names() -> None:
    rule = {"name": "dup", "metric": "a", "threshold": 1}
    with pytest.raises(ValueError, match=r"alerts\[1\]\.name: got 'dup', expected a unique"):
        parse_rules([rule, rule])


def test_parse_rules_round_trips_the_defaults() -> None:
    dumped = [r.model_dump(mode="json") for r in default_rules()]
    assert parse_rules(dumped) == default_rules()


def test_resolve_path_wildcards() -> None:
    doc = {"a": {"x": {"v": 1}, "y": {"v": 2}, "z": 3}}
    assert list(resolve_path(doc, "a.*.v")) == [("a.x.v", 1), ("a.y.v", 2)]
    assert list(resolve_path(doc, "a.q")) == []
