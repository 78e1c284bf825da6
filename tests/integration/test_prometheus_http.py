"""Scrape the metrics endpoint over real HTTP on loopback and parse what it serves."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families as parse_text

from engine.telemetry.prometheus import MetricsRegistry, serve
from tests.unit.test_prometheus import make_sample


def fetch(url: str, accept: str | None = None) -> tuple[str, str]:
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.read().decode(), response.headers["Content-Type"]


def test_scrape_over_http_labels_every_node_and_strategy() -> None:
    reg = MetricsRegistry()
    reg.update("alpha", make_sample(1.0))
    reg.update("beta", make_sample(2.0))
    with serve(reg, port=0) as server:
        assert server.host == "127.0.0.1"
        assert server.url == f"http://127.0.0.1:{server.port}/metrics"
        text, content_type = fetch(server.url)
        assert content_type.startswith("text/plain")
        samples = [s for f in parse_text(text) for s in f.samples]
        strategy = {
            (s.labels["node"], s.labels["strategy"]): s.value
            for s in samples
            if s.name == "gateway_strategy_pnl" and s.labels["kind"] == "realized"
        }
        assert strategy == {
            ("alpha", "EMACross-000"): -100.5,
            ("alpha", "Other-001"): -100.5,
            ("beta", "EMACross-000"): -201.0,
            ("beta", "Other-001"): -201.0,
        }
        # An update between scrapes shows in the next one.
        reg.update("alpha", make_sample(4.0))
        text, _ = fetch(server.url)
        values = {
            s.labels["node"]: s.value
            for f in parse_text(text)
            for s in f.samples
            if s.name == "gateway_pnl" and s.labels["kind"] == "realized"
        }
        assert values == {"alpha": -402.0, "beta": -201.0}


def test_openmetrics_negotiated_over_http() -> None:
    reg = MetricsRegistry()
    reg.update("alpha", make_sample())
    with serve(reg, port=0) as server:
        text, content_type = fetch(server.url, "application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    families = {f.name: f for f in parse_om(text)}  # type: ignore[no-untyped-call]
    published = families["gateway_msgbus_published"]
    assert published.type == "counter"
    assert [(s.name, s.value) for s in published.samples] == [
        ("gateway_msgbus_published_total", 1234)
    ]


def test_loopback_only_and_shutdown_frees_the_port() -> None:
    reg = MetricsRegistry()
    server = serve(reg, port=0)
    port = server.port
    text, _ = fetch(server.url)
    assert text == ""
    # Bound to loopback by default, not to every interface.
    assert server.address == ("127.0.0.1", port)
    server.shutdown()
    with pytest.raises(urllib.error.URLError):
        fetch(f"http://127.0.0.1:{port}/metrics")
    with socket.socket() as sock:  # the port can be bound again
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))


def test_bad_port_is_refused_with_the_value() -> None:
    with pytest.raises(ValueError, match=r"metrics port: got 70000, expected 0\.\.65535"):
        serve(MetricsRegistry(), port=70000)
