"""The console's non-visual parts: form fields, the envelope feed, settings, theme files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from console.feed import ALERTS_KEPT, CLOSED_ORDERS_KEPT, FeedState, step
from console.form_fields import field_for, flatten, parse_text, unflatten
from console.settings import ConsoleSettings, load_settings, save_settings
from engine.demo import demo_backtest, demo_sandbox
from engine.events.envelope import Envelope
from tests.ui.conftest import sample_envelopes
from themes.loader import ThemeFileError, load_theme_file, load_themes


@pytest.mark.parametrize("make", [demo_backtest, demo_sandbox])
def test_form_fields_round_trip_a_node_document(make: object) -> None:
    doc = make()  # type: ignore[operator]
    fields = flatten(doc)
    assert "strategies[0].config.trade_size" in [f.path for f in fields]
    assert unflatten([(f.path, parse_text(f.text, f.kind)) for f in fields]) == doc


def test_issue_paths_land_on_their_field_or_the_enclosing_one() -> None:
    paths = ["node_id", "data[0].instrument_ids", "strategies[0].config.trade_size"]
    assert field_for("strategies[0].config.trade_size", paths) == paths[2]
    assert field_for("data[0].instrument_ids[0]", paths) == "data[0].instrument_ids"
    assert field_for("venues", paths) is None
    assert field_for("node_idx", paths) is None


def test_text_that_does_not_parse_stays_text_for_the_validator() -> None:
    assert parse_text("12", "number") == 12
    assert parse_text("twelve", "number") == "twelve"
    assert parse_text("", "null") is None
    assert parse_text("0012", "str") == "0012"


def test_feed_builds_orders_positions_alerts_and_node_state() -> None:
    state = FeedState()
    batch = state.apply(sample_envelopes())
    orders = {o.client_order_id: o for o in state.orders.values()}
    assert orders["O-0001"].status == "FILLED" and orders["O-0001"].filled == "100000"
    assert orders["O-0002"].status == "ACCEPTED" and orders["O-0002"].price == "1.10500"
    assert state.open_orders("demo-sandbox") == 1
    # Active first (the drawdown rule, the REDUCING trading state), then the denial.
    assert [(a.state, a.severity) for a in batch.alerts] == [
        ("active", "warning"),
        ("active", "warning"),
        ("event", "error"),
    ]
    assert state.nodes["demo-sandbox"].state == "running"
    assert state.nodes["demo-sandbox"].pnl == "10.00 USD"  # the node list's PnL column
    snap = batch.metrics[0]
    assert snap.pnl == (("USD", 10.0),) and snap.equity == (("USD", 1_000_010.0),)
    assert snap.pnl_history == (0.0, 40.0, -20.0, 120.0, 10.0)
    assert snap.latency_p99_ms == 8.0 and snap.latency_history[-1] == 8.0
    assert snap.orders_open == 1 and snap.positions_open == 1
    assert snap.rss_bytes == 196 * 1_048_576 and len(snap.rss_history) == 5
    assert all(e.kind != "metric" for e in batch.events)  # metrics go to their pane only
    assert state.instruments["demo-sandbox"] == "EUR/USD.SIM"


def test_an_ended_run_keeps_when_it_ended_and_a_new_run_clears_it() -> None:
    state = FeedState()
    stream = sample_envelopes()
    state.apply(stream)
    running = state.nodes["demo-sandbox"]
    assert running.since_ns == stream[1].ts_ns and running.until_ns is None

    def node_event(seq: int, run_id: str, ts_ns: int, new: str) -> Envelope:
        payload = {"state": new, "mode": "sandbox"}
        return Envelope(seq, ts_ns, "demo-sandbox", run_id, "node", "NodeStateChanged", payload)

    end = stream[-1].ts_ns + 60_000_000_000
    state.apply([node_event(len(stream) + 1, "run-1", end, "stopped")])
    stopped = state.nodes["demo-sandbox"]
    assert (stopped.state, stopped.since_ns, stopped.until_ns) == ("stopped", running.since_ns, end)
    state.apply([node_event(1, "run-2", end + 5, "running")])
    again = state.nodes["demo-sandbox"]
    assert (again.since_ns, again.until_ns) == (end + 5, None)


def test_resolved_alerts_leave_the_active_list_and_history_is_bounded() -> None:
    state = FeedState()
    state.apply(sample_envelopes())
    resolved = Envelope(
        30,
        1,
        "demo-sandbox",
        "run-1",
        "alert",
        "AlertResolved",
        {
            "alert_id": "demo-sandbox:drawdown:drawdown.USD.pct",
            "severity": "warning",
            "message": "drawdown resolved on demo-sandbox",
            "duration_s": 42.0,
        },
    )
    active = Envelope(
        31, 2, "demo-sandbox", "run-1", "risk", "TradingStateChanged", {"state": "ACTIVE"}
    )
    rows = state.apply([resolved, active]).alerts
    assert [r.state for r in rows] == ["event", "resolved", "resolved"]
    assert rows[1].message.endswith("(after 42 s)")
    denials = [
        Envelope(i, i, "n", "r", "order", "OrderDenied", {"client_order_id": f"O-{i}"})
        for i in range(100, 1000)
    ]
    assert len(state.apply(denials).alerts) == ALERTS_KEPT


def test_modify_and_cancel_rejections_return_the_order_to_working() -> None:
    state = FeedState()
    payload = {
        "client_order_id": "O-1",
        "order_side": "BUY",
        "order_type": "STOP_LIMIT",
        "quantity": "100",
        "options": {"price": "1.1", "trigger_price": "1.2"},
    }
    envs = [
        Envelope(1, 1, "n", "r", "order", "OrderInitialized", payload),
        Envelope(2, 2, "n", "r", "order", "OrderAccepted", {"client_order_id": "O-1"}),
        Envelope(3, 3, "n", "r", "order", "OrderPendingUpdate", {"client_order_id": "O-1"}),
        Envelope(4, 4, "n", "r", "order", "OrderModifyRejected", {"client_order_id": "O-1"}),
    ]
    state.apply(envs)
    row = state.orders["n/O-1"]
    assert (row.status, row.price, row.trigger_price) == ("ACCEPTED", "1.1", "1.2")


def test_feed_keeps_a_bounded_number_of_closed_orders() -> None:
    state = FeedState()
    envs = [
        Envelope(i, i, "n", "r", "order", "OrderCanceled", {"client_order_id": f"O-{i}"})
        for i in range(1, CLOSED_ORDERS_KEPT * 3)
    ]
    state.apply(envs)
    assert len(state.orders) == CLOSED_ORDERS_KEPT


def test_settings_round_trip_and_invalid_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    assert load_settings(path).settings == ConsoleSettings()
    save_settings(path, ConsoleSettings(theme="gateway-light", keymap={"node.launch": "L"}))
    loaded = load_settings(path)
    assert loaded.error is None and loaded.settings.keymap == {"node.launch": "L"}
    path.write_text('{"ui": {"refresh_hz": 500}}')
    bad = load_settings(path)
    assert not bad.writable
    assert bad.error is not None and "ui.refresh_hz" in bad.error and "500" in bad.error
    path.write_text("{nope")
    assert "invalid JSON at line 1" in (load_settings(path).error or "")


def test_theme_files_load_and_a_bad_one_names_the_field(tmp_path: Path) -> None:
    names = {t.name for t in load_themes().themes}
    assert {"gateway-dark", "gateway-light", "gateway-high-contrast"} <= names
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "bad", "primary": "#fff", "colour": "x"}))
    with pytest.raises(ThemeFileError, match="unknown field 'colour'"):
        load_theme_file(bad)
    bad.write_text(json.dumps({"name": "bad", "primary": "#fff", "error": "reddish"}))
    with pytest.raises(ThemeFileError, match=r"'error': expected a colour.*'reddish'"):
        load_theme_file(bad)
    result = load_themes(tmp_path)
    assert len(result.errors) == 1 and "bad.json" in result.errors[0]


def test_console_start_up_does_not_import_nautilus() -> None:
    code = (
        "import sys, console.app, console.cli.tui; "
        "print(sorted(m for m in sys.modules if m.startswith('nautilus_trader'))[:3])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
        timeout=60,
    )
    assert out.stdout.strip() == "[]"


def test_quick_settings_agree_with_the_validated_model(tmp_path: Path) -> None:
    from console.quick_settings import QuickSettings, peek_settings

    assert ConsoleSettings().quick() == QuickSettings()
    path = tmp_path / "settings.json"
    model = ConsoleSettings.model_validate(
        {
            "theme": "t",
            "keymap": {"a": "b"},
            "event_log": {"max_lines": 200},
            "ui": {"refresh_hz": 5},
        }
    )
    save_settings(path, model)
    assert peek_settings(path) == model.quick()


def test_metrics_totals_sum_pnl_per_currency_across_nodes() -> None:
    from widgets.data import MetricSnapshot
    from widgets.metrics_pane import totals

    a = MetricSnapshot("a", pnl=(("USD", 10.0),), orders_open=1, rss_bytes=100)
    b = MetricSnapshot("b", pnl=(("EUR", -3.0), ("USD", 5.5)), orders_open=None, rss_bytes=50)
    total = totals([a, b])
    assert total.pnl == (("EUR", -3.0), ("USD", 15.5))
    assert (total.orders_open, total.rss_bytes) == (1, 150)


def test_component_state_lines_name_the_component() -> None:
    from console.feed import _summary

    line = _summary("ComponentStateChanged", {"component_id": "EMACross-000", "state": "RUNNING"})
    assert line.startswith("ComponentStateChanged component_id=EMACross-000")


def test_a_burst_folded_in_steps_equals_the_whole_burst_folded_at_once() -> None:
    burst = [
        Envelope(
            seq, seq, "n1", "r1", "order", "OrderFilled" if seq % 3 else "OrderAccepted",
            {"client_order_id": f"O-{seq % 7}", "instrument_id": "EUR/USD.SIM",
             "order_side": "BUY", "quantity": "300", "last_qty": "1", "last_px": "1.1"},
        )
        for seq in range(1, 2501)
    ]  # fmt: skip
    whole = FeedState().apply(burst)
    folding = FeedState().folding(burst, step=1000)
    steps = 0
    while (stepped := step(folding)) is None:
        steps += 1
    assert steps == 3  # a turn after 1,000 and 2,000 envelopes, and before the rows
    assert stepped.orders == whole.orders and len(stepped.orders) == 7
    assert stepped.events == whole.events and stepped.skipped_lines == whole.skipped_lines


def test_a_partly_filled_order_whose_modify_is_rejected_reads_alike_in_console_and_cli() -> None:
    # Issue 17: the console folded this to ACCEPTED while `gateway orders list` said
    # PARTIALLY_FILLED. The console now renders the engine's fold.
    from engine.orders.status import fold_orders

    def env(seq: int, type_: str, **payload: object) -> Envelope:
        return Envelope(seq, seq, "n", "r", "order", type_, {"client_order_id": "O-1", **payload})

    stream = [
        env(
            1,
            "OrderInitialized",
            order_side="BUY",
            order_type="LIMIT",
            quantity="100",
            options={"price": "1.1"},
            instrument_id="EUR/USD.SIM",
        ),
        env(2, "OrderAccepted"),
        env(3, "OrderFilled", last_qty="40", last_px="1.1"),
        env(4, "OrderPendingUpdate"),
        env(5, "OrderModifyRejected", reason="too late"),
    ]
    (engine_row,) = fold_orders(stream)
    state = FeedState()
    state.apply(stream)
    shown = state.orders["n/O-1"]
    assert engine_row.status == shown.status == "PARTIALLY_FILLED"
    assert (shown.filled, shown.quantity, shown.price) == ("40", "100", "1.1")
