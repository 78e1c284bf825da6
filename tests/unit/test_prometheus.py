"""The Prometheus collector: every figure of a sample, labelled by node and strategy."""

from __future__ import annotations

from typing import Any

from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families as parse_text

from engine.telemetry.prometheus import MetricsRegistry


def make_sample(node_scale: float = 1.0) -> dict[str, Any]:
    usd = {"realized": -100.5 * node_scale, "unrealized": 20.25, "total": -80.25 * node_scale}
    return {
        "schema": 1,
        "ts_ns": 1_700_000_000_000_000_000,
        "pnl": {
            "total": {"USD": usd},
            "by_venue": {"SIM": {"USD": usd}},
            "by_instrument": {
                "EUR/USD.SIM": {
                    "venue": "SIM",
                    "currency": "USD",
                    **usd,
                    "net_exposure": 110_000.0,
                    "exposure_currency": "USD",
                    "net_position": 100_000.0,
                }
            },
            "by_strategy": {"EMACross-000": {"USD": usd}, "Other-001": {"USD": usd}},
        },
        "accounts": {
            "SIM": {
                "account_id": "SIM-001",
                "type": "MARGIN",
                "equity": {"USD": 999_919.75},
                "balance_total": {"USD": 999_899.5},
                "balance_free": {"USD": 990_000.0},
                "balance_locked": {"USD": 9_899.5},
                "margin_init": {},
                "margin_maint": {"USD": 3_300.0},
                "net_exposure": {"USD": 110_000.0},
            }
        },
        "drawdown": {"USD": {"equity": 1.0, "peak": 2.0, "abs": 1.0, "pct": 4.5}},
        "orders": {
            "total": 7,
            "by_status": {"FILLED": 6, "CANCELED": 1},
            "by_strategy": {"EMACross-000": {"FILLED": 6, "CANCELED": 1}},
        },
        "positions": {
            "open": 1,
            "closed": 2,
            "by_strategy": {"EMACross-000": {"open": 1, "closed": 2}},
        },
        "latency_ms": {
            "submit_to_accept": {"p50": 2.0, "p99": 40.0, "max": 50.0, "count": 10},
            "submit_to_fill": {"p50": None, "p99": None, "max": None, "count": 0},
            "window": 1000,
            "pending": 0,
        },
        "bus": {
            "pub_count": 1234,
            "sent_count": 5,
            "req_count": 1,
            "res_count": 1,
            "pub_rate": 99.5,
        },
        "engines": {
            "data": {"data_count": 1000, "command_count": 3, "data_qsize": 4, "cmd_qsize": 0},
            "exec": {"command_count": 7, "event_count": 20, "evt_qsize": None},
        },
        "feed": {"data_count": 1000, "data_rate": 10.0, "data_idle_s": 0.5},
        "loop": {"lag_ms": 1.5, "lag_max_ms": 3.0},
        "process": {"pid": 1, "cpu_percent": 12.5, "rss_bytes": 300_000_000, "num_threads": 4},
    }


def scrape(registry: MetricsRegistry) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    body, content_type = registry.exposition()
    assert content_type.startswith("text/plain")
    out = {}
    for family in parse_text(body.decode()):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def key(name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return name, frozenset(labels.items())


def test_every_section_of_a_sample_is_exposed_with_its_labels() -> None:
    reg = MetricsRegistry()
    reg.update("alpha", make_sample())
    got = scrape(reg)
    n = {"node": "alpha"}
    assert got[key("gateway_pnl", **n, currency="USD", kind="realized")] == -100.5
    assert got[key("gateway_venue_pnl", **n, venue="SIM", currency="USD", kind="total")] == -80.25
    inst = {"instrument": "EUR/USD.SIM", "venue": "SIM"}
    assert (
        got[key("gateway_instrument_pnl", **n, **inst, currency="USD", kind="unrealized")] == 20.25
    )
    assert got[key("gateway_instrument_net_exposure", **n, **inst, currency="USD")] == 110_000.0
    assert got[key("gateway_instrument_net_position", **n, **inst)] == 100_000.0
    for sid in ("EMACross-000", "Other-001"):
        assert (
            got[key("gateway_strategy_pnl", **n, strategy=sid, currency="USD", kind="total")]
            == -80.25
        )
    assert got[key("gateway_account_equity", **n, venue="SIM", currency="USD")] == 999_919.75
    assert got[key("gateway_account_margin_maint", **n, venue="SIM", currency="USD")] == 3_300.0
    assert got[key("gateway_drawdown_percent", **n, currency="USD")] == 4.5
    orders = key("gateway_orders", **n, strategy="EMACross-000", status="CANCELED")
    assert got[orders] == 1
    assert got[key("gateway_positions", **n, strategy="EMACross-000", state="closed")] == 2
    lat = {"stage": "submit_to_accept"}
    assert got[key("gateway_order_latency_seconds", **n, **lat, quantile="0.99")] == 0.04
    assert got[key("gateway_msgbus_published_total", **n)] == 1234
    assert got[key("gateway_msgbus_publish_rate", **n)] == 99.5
    assert got[key("gateway_engine_count_total", **n, engine="exec", counter="event")] == 20
    assert got[key("gateway_engine_queue_size", **n, engine="data", queue="data")] == 4
    assert got[key("gateway_event_loop_lag_seconds", **n)] == 0.0015
    assert got[key("gateway_feed_idle_seconds", **n)] == 0.5
    assert got[key("gateway_process_resident_memory_bytes", **n)] == 300_000_000
    assert got[key("gateway_process_cpu_percent", **n)] == 12.5
    assert got[key("gateway_sample_timestamp_seconds", **n)] == 1_700_000_000.0


def test_missing_figures_are_left_out_not_zeroed() -> None:
    reg = MetricsRegistry()
    sample = make_sample()
    sample["loop"] = None  # a backtest has no event loop
    reg.update("bt", sample)
    got = scrape(reg)
    names = {name for name, _ in got}
    assert "gateway_event_loop_lag_seconds" not in names
    fill = [
        k
        for k in got
        if k[0] == "gateway_order_latency_seconds" and ("stage", "submit_to_fill") in k[1]
    ]
    assert fill == []  # no fills yet: no percentile
    assert key("gateway_engine_queue_size", node="bt", engine="exec", queue="evt") not in got


def test_nodes_are_labelled_apart_and_removed_nodes_disappear() -> None:
    reg = MetricsRegistry()
    reg.update("a", make_sample(1.0))
    reg.update("b", make_sample(2.0))
    got = scrape(reg)
    assert got[key("gateway_pnl", node="a", currency="USD", kind="realized")] == -100.5
    assert got[key("gateway_pnl", node="b", currency="USD", kind="realized")] == -201.0
    reg.update("a", make_sample(3.0))  # the latest sample replaces the previous one
    reg.remove("b")
    got = scrape(reg)
    assert got[key("gateway_pnl", node="a", currency="USD", kind="realized")] == -301.5
    assert {dict(labels).get("node") for _, labels in got} == {"a"}
    assert reg.nodes() == ["a"]


def test_empty_registry_scrapes_to_nothing() -> None:
    assert scrape(MetricsRegistry()) == {}


def test_openmetrics_when_asked_for() -> None:
    reg = MetricsRegistry()
    reg.update("a", make_sample())
    body, content_type = reg.exposition("application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    text = body.decode()
    assert text.endswith("# EOF\n")
    families = {f.name: f for f in parse_om(text)}  # type: ignore[no-untyped-call]
    assert families["gateway_msgbus_published"].type == "counter"
    assert families["gateway_strategy_pnl"].type == "gauge"
