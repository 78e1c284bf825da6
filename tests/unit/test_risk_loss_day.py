"""The day's PnL and the equity peak survive a restart; a new day (in the configured time
zone) starts the day's PnL again, never the peak. Clocks are injected."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nautilus_trader.model.currencies import USD
from nautilus_trader.model.objects import Money

from engine.risk import store
from engine.risk.guard import STORE_EVERY_NS, RiskGuard
from engine.risk.limits import RiskLimits
from engine.risk.loss_day import LossBaseline, LossTracker, trading_day, zone
from engine.risk.store import RiskState, RiskStateError
from engine.workspace import Workspace

D = Decimal


def ns(iso: str) -> int:
    return int(dt.datetime.fromisoformat(iso).timestamp() * 1e9)


def test_a_restart_the_same_day_carries_the_days_loss_and_the_peak() -> None:
    run1 = LossTracker(None)
    run1.measure(ns("2026-12-07T08:00:00+00:00"), {"USD": D(0)}, {"USD": D(1_000_000)})
    run1.measure(ns("2026-12-07T09:00:00+00:00"), {"USD": D(500)}, {"USD": D(1_000_500)})
    daily, dd = run1.measure(ns("2026-12-07T10:00:00+00:00"), {"USD": D(-900)}, {"USD": D(999_100)})
    assert daily == {"USD": D(-900)} and dd == {"USD": D(1_400)}
    stored = run1.baseline()
    assert stored.day == "2026-12-07" and stored.peak == {"USD": D(1_000_500)}

    # The next run's portfolio starts empty (a sandbox venue) or restored: either way only
    # what happens after its start is added to what was carried.
    for start_total in (D(0), D(-900)):
        run2 = LossTracker(LossBaseline.from_dict(json.loads(json.dumps(stored.to_dict()))))
        t = ns("2026-12-07T10:05:00+00:00")
        daily, dd = run2.measure(t, {"USD": start_total}, {"USD": D(1_000_000)})
        assert daily == {"USD": D(-900)} and dd == {"USD": D(500)}
        daily, _ = run2.measure(t + 1, {"USD": start_total - 50}, {"USD": D(999_950)})
        assert daily == {"USD": D(-950)}


def test_a_new_day_starts_the_days_pnl_at_zero_and_keeps_the_peak() -> None:
    run = LossTracker(None)
    run.measure(ns("2026-12-07T23:59:00+00:00"), {"USD": D(0)}, {"USD": D(1_000_000)})
    daily, _ = run.measure(ns("2026-12-07T23:59:59+00:00"), {"USD": D(-700)}, {"USD": D(999_300)})
    assert daily == {"USD": D(-700)} and run.day == "2026-12-07"
    daily, dd = run.measure(ns("2026-12-08T00:00:01+00:00"), {"USD": D(-700)}, {"USD": D(999_300)})
    assert daily == {"USD": D(0)} and dd == {"USD": D(700)} and run.day == "2026-12-08"
    daily, _ = run.measure(ns("2026-12-08T00:10:00+00:00"), {"USD": D(-750)}, {"USD": D(999_250)})
    assert daily == {"USD": D(-50)}
    # A restart on a later day than the stored one starts that day at 0.
    later = LossTracker(run.baseline())
    daily, dd = later.measure(ns("2026-12-09T01:00:00+00:00"), {"USD": D(0)}, {"USD": D(999_250)})
    assert daily == {"USD": D(0)} and dd == {"USD": D(750)}


def test_the_day_is_the_configured_time_zones() -> None:
    t = ns("2026-12-08T03:00:00+00:00")  # still the 7th in New York
    assert trading_day(t, zone("UTC")) == "2026-12-08"
    assert trading_day(t, zone("America/New_York")) == "2026-12-07"
    run = LossTracker(None, "America/New_York")
    run.measure(ns("2026-12-07T20:00:00+00:00"), {"USD": D(0)}, {})
    daily, _ = run.measure(t, {"USD": D(-100)}, {})
    assert daily == {"USD": D(-100)}  # no rollover at UTC midnight
    daily, _ = run.measure(ns("2026-12-08T05:00:01+00:00"), {"USD": D(-100)}, {})
    assert daily == {"USD": D(0)} and run.day == "2026-12-08"  # New York's midnight
    with pytest.raises(ValueError, match="IANA time zone"):
        zone("Mars/Olympus")


@given(
    st.one_of(
        st.none(),
        st.text(max_size=20),
        st.integers(),
        st.lists(st.integers(), max_size=3),
        st.dictionaries(
            st.sampled_from(["day", "timezone", "day_pnl", "equity_peak", "x"]),
            st.one_of(
                st.text(max_size=12),
                st.integers(),
                st.floats(),
                st.none(),
                st.dictionaries(st.text(max_size=4), st.one_of(st.text(max_size=8), st.floats())),
            ),
            max_size=4,
        ),
    )
)
def test_any_stored_baseline_is_read_or_refused_with_a_value_error(raw: Any) -> None:
    try:
        baseline = LossBaseline.from_dict(raw)
    except ValueError as exc:
        assert "loss_baseline" in str(exc)
        return
    assert all(v.is_finite() for v in (*baseline.day_pnl.values(), *baseline.peak.values()))
    assert LossBaseline.from_dict(baseline.to_dict()) == baseline


def test_a_damaged_baseline_in_risk_json_stops_the_node_from_guessing(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / ".gateway").ensure()
    store.save(ws, "n1", RiskState("HALTED", RiskLimits(), loss=LossBaseline("2026-12-07")))
    assert store.load(ws, "n1") == RiskState(
        "HALTED", RiskLimits(), loss=LossBaseline("2026-12-07")
    )
    data = json.loads(store.state_path(ws, "n1").read_text())
    data["loss_baseline"]["day_pnl"] = {"USD": "lots"}
    store.state_path(ws, "n1").write_text(json.dumps(data))
    with pytest.raises(RiskStateError, match="day_pnl"):
        store.load(ws, "n1")


# -- the guard: measured from the kernel, stored, continued by the next host -------------


class _Kernel:
    """The parts of a Nautilus kernel the guard's loss measures read."""

    def __init__(self) -> None:
        self.pnl = D(0)
        self.equity = D(1_000_000)
        account = SimpleNamespace(id=SimpleNamespace(get_issuer=lambda: "SIM"))
        self.cache = SimpleNamespace(
            accounts=lambda: [account],
            orders_open_count=lambda: 0,
            orders_inflight_count=lambda: 0,
            positions_open=lambda **_: [],
        )
        self.portfolio = SimpleNamespace(
            total_pnls=lambda _v: {USD: Money(self.pnl, USD)},
            equity=lambda _v: {USD: Money(self.equity, USD)},
        )
        self.risk_engine = SimpleNamespace(trading_state=None)


def _guard(kernel: _Kernel, stored: RiskState, clock: list[int], saved: list[RiskState]) -> Any:
    return RiskGuard(kernel, stored, persist=saved.append, clock_ns=lambda: clock[0])


def test_the_guard_stores_the_days_loss_and_a_new_host_halts_on_it_again() -> None:
    limits = RiskLimits(max_daily_loss=D(1000))
    clock = [ns("2026-12-07T10:00:00+00:00")]
    saved: list[RiskState] = []
    kernel = _Kernel()
    guard = _guard(kernel, RiskState("ACTIVE", limits), clock, saved)
    guard._mirror = lambda _s: None  # no Nautilus risk engine here
    assert guard.evaluate() is None and saved[-1].loss is not None  # first measure stored
    kernel.pnl, kernel.equity = D(-900), D(999_100)
    clock[0] += 1
    assert guard.evaluate() is None
    assert saved[-1].loss.day_pnl == {"USD": D(0)}  # within STORE_EVERY_NS: not yet
    clock[0] += STORE_EVERY_NS
    guard.evaluate()
    assert saved[-1].loss.day_pnl == {"USD": D(-900)}
    assert saved[-1].loss.peak == {"USD": D(1_000_000)}

    # kill -9; the next host's portfolio starts empty: 100 more lost crosses the limit.
    kernel2 = _Kernel()
    guard2 = _guard(kernel2, saved[-1], clock, saved)
    guard2._mirror = lambda _s: None
    assert guard2.evaluate() is None
    kernel2.pnl = D(-100)
    reason = guard2.evaluate()
    assert reason is not None and "1000 USD lost today" in reason, reason
    assert guard2.state.trading_state == "HALTED" and saved[-1].trading_state == "HALTED"
    assert saved[-1].loss.day_pnl == {"USD": D(-1000)}

    # The next day (UTC) the loss starts again from 0; the halt stays until resumed.
    clock[0] = ns("2026-12-08T00:00:00.5+00:00")
    guard2.set_trading_state("ACTIVE", "test")
    assert guard2.evaluate() is None
    assert guard2.usage()["daily_pnl"] == {"USD": "0"}
    assert saved[-1].loss.day == "2026-12-08"  # a new day is stored at once


@given(st.one_of(st.text(max_size=30), st.sampled_from(["UTC", "Europe/London", "Asia/Tokyo"])))
def test_a_configured_day_timezone_is_taken_or_refused_naming_its_field(name: str) -> None:
    import copy

    from engine.config.validate import validate_node
    from engine.demo import demo_sandbox

    doc = copy.deepcopy(demo_sandbox())
    doc["risk"] = {"day_timezone": name}
    report = validate_node(doc, Workspace(Path("/nonexistent/.gateway")), deep=False)
    try:
        zone(name)
    except ValueError:
        assert not report.ok
        assert [i.path for i in report.issues] == ["risk.day_timezone"], report.issues
        assert "IANA time zone" in report.issues[0].render()
    else:
        assert report.ok, [i.render() for i in report.issues]
