"""A Prometheus / OpenMetrics endpoint over the latest ``MetricsSample`` of every node.

A custom collector turns the samples into metric families at scrape time, so a scrape
costs nothing between scrapes and always shows the latest figures. Every series has a
``node`` label; strategy, instrument, venue and currency labels where the figure has them.
The endpoint answers OpenMetrics to a scraper that asks for it (``Accept:
application/openmetrics-text``) and the classic text format otherwise.

Families (all gauges unless marked counter)::

    gateway_pnl{node,currency,kind}                          kind: realized|unrealized|total
    gateway_venue_pnl{node,venue,currency,kind}
    gateway_instrument_pnl{node,instrument,venue,currency,kind}
    gateway_instrument_net_exposure{node,instrument,venue,currency}
    gateway_instrument_net_position{node,instrument,venue}
    gateway_strategy_pnl{node,strategy,currency,kind}
    gateway_account_equity / _balance_total / _balance_free / _balance_locked /
        _margin_init / _margin_maint{node,venue,currency}
    gateway_drawdown_percent{node,currency}
    gateway_orders{node,strategy,status}
    gateway_positions{node,strategy,state}                   state: open|closed
    gateway_order_latency_seconds{node,stage,quantile}        quantile: 0.5|0.99|1 (max)
    gateway_msgbus_published (counter), gateway_msgbus_publish_rate{node}
    gateway_engine_count (counter){node,engine,counter}
    gateway_engine_queue_size{node,engine,queue}
    gateway_feed_idle_seconds{node}, gateway_event_loop_lag_seconds{node}
    gateway_process_cpu_percent{node}, gateway_process_resident_memory_bytes{node}
    gateway_sample_timestamp_seconds{node}
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import (
    CONTENT_TYPE_LATEST,
    choose_encoder,
    generate_latest,
    make_asgi_app,
)
from prometheus_client.registry import Collector

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9464
_PNL_KINDS = ("realized", "unrealized", "total")
_ACCOUNT_FIELDS = (
    "equity",
    "balance_total",
    "balance_free",
    "balance_locked",
    "margin_init",
    "margin_maint",
)


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _gauge(name: str, doc: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=labels)


class _Families:
    # Families created once per scrape, filled from every node's sample.
    def __init__(self) -> None:
        self.items: dict[str, GaugeMetricFamily | CounterMetricFamily] = {}

    def gauge(self, name: str, doc: str, labels: list[str]) -> GaugeMetricFamily:
        fam = self.items.get(name)
        if fam is None:
            fam = self.items[name] = _gauge(name, doc, labels)
        assert isinstance(fam, GaugeMetricFamily)
        return fam

    def counter(self, name: str, doc: str, labels: list[str]) -> CounterMetricFamily:
        fam = self.items.get(name)
        if fam is None:
            fam = self.items[name] = CounterMetricFamily(name, doc, labels=labels)
        assert isinstance(fam, CounterMetricFamily)
        return fam

    def add(
        self, fam: GaugeMetricFamily | CounterMetricFamily, labels: list[str], value: Any
    ) -> None:
        number = _num(value)
        if number is not None:
            fam.add_metric(labels, number)


def _pnl_rows(fams: _Families, node: str, sample: Mapping[str, Any]) -> None:
    pnl = sample.get("pnl") or {}
    total = fams.gauge("gateway_pnl", "PnL across venues", ["node", "currency", "kind"])
    for ccy, row in (pnl.get("total") or {}).items():
        for kind in _PNL_KINDS:
            fams.add(total, [node, ccy, kind], row.get(kind))
    venue = fams.gauge("gateway_venue_pnl", "PnL per venue", ["node", "venue", "currency", "kind"])
    for name, per_ccy in (pnl.get("by_venue") or {}).items():
        for ccy, row in per_ccy.items():
            for kind in _PNL_KINDS:
                fams.add(venue, [node, name, ccy, kind], row.get(kind))
    inst = fams.gauge(
        "gateway_instrument_pnl",
        "PnL per instrument",
        ["node", "instrument", "venue", "currency", "kind"],
    )
    exposure = fams.gauge(
        "gateway_instrument_net_exposure",
        "Net exposure per instrument",
        ["node", "instrument", "venue", "currency"],
    )
    position = fams.gauge(
        "gateway_instrument_net_position",
        "Net position (quantity) per instrument",
        ["node", "instrument", "venue"],
    )
    for iid, row in (pnl.get("by_instrument") or {}).items():
        v, ccy = str(row.get("venue") or ""), str(row.get("currency") or "")
        for kind in _PNL_KINDS:
            fams.add(inst, [node, iid, v, ccy, kind], row.get(kind))
        fams.add(
            exposure,
            [node, iid, v, str(row.get("exposure_currency") or "")],
            row.get("net_exposure"),
        )
        fams.add(position, [node, iid, v], row.get("net_position"))
    strat = fams.gauge(
        "gateway_strategy_pnl", "PnL per strategy", ["node", "strategy", "currency", "kind"]
    )
    for sid, per_ccy in (pnl.get("by_strategy") or {}).items():
        for ccy, row in per_ccy.items():
            for kind in _PNL_KINDS:
                fams.add(strat, [node, sid, ccy, kind], row.get(kind))


def _account_rows(fams: _Families, node: str, sample: Mapping[str, Any]) -> None:
    for field in _ACCOUNT_FIELDS:
        fam = fams.gauge(
            f"gateway_account_{field}",
            f"Account {field.replace('_', ' ')} per venue",
            ["node", "venue", "currency"],
        )
        for venue, row in (sample.get("accounts") or {}).items():
            for ccy, value in (row.get(field) or {}).items():
                fams.add(fam, [node, venue, ccy], value)
    dd = fams.gauge(
        "gateway_drawdown_percent", "Equity below its peak, percent", ["node", "currency"]
    )
    for ccy, row in (sample.get("drawdown") or {}).items():
        fams.add(dd, [node, ccy], row.get("pct"))


def _order_rows(fams: _Families, node: str, sample: Mapping[str, Any]) -> None:
    orders = fams.gauge(
        "gateway_orders", "Orders by strategy and status", ["node", "strategy", "status"]
    )
    for sid, counts in ((sample.get("orders") or {}).get("by_strategy") or {}).items():
        for status, n in counts.items():
            fams.add(orders, [node, sid, status], n)
    positions = fams.gauge(
        "gateway_positions", "Positions by strategy and state", ["node", "strategy", "state"]
    )
    for sid, row in ((sample.get("positions") or {}).get("by_strategy") or {}).items():
        for state in ("open", "closed"):
            fams.add(positions, [node, sid, state], row.get(state))
    lat = fams.gauge(
        "gateway_order_latency_seconds",
        "Order latency over the latest window (quantile 1 is the maximum)",
        ["node", "stage", "quantile"],
    )
    for stage, row in (sample.get("latency_ms") or {}).items():
        if not isinstance(row, Mapping):
            continue
        for quantile, key in (("0.5", "p50"), ("0.99", "p99"), ("1", "max")):
            value = _num(row.get(key))
            if value is not None:
                lat.add_metric([node, stage, quantile], value / 1000.0)


def _system_rows(fams: _Families, node: str, sample: Mapping[str, Any]) -> None:
    bus = sample.get("bus") or {}
    fams.add(
        fams.counter("gateway_msgbus_published", "Messages published on the bus", ["node"]),
        [node],
        bus.get("pub_count"),
    )
    fams.add(
        fams.gauge("gateway_msgbus_publish_rate", "Bus publishes per second", ["node"]),
        [node],
        bus.get("pub_rate"),
    )
    counts = fams.counter("gateway_engine_count", "Engine counters", ["node", "engine", "counter"])
    queues = fams.gauge(
        "gateway_engine_queue_size", "Engine queue sizes (live nodes)", ["node", "engine", "queue"]
    )
    for engine, row in (sample.get("engines") or {}).items():
        for key, value in row.items():
            if key.endswith("_qsize"):
                fams.add(queues, [node, engine, key.removesuffix("_qsize")], value)
            else:
                fams.add(counts, [node, engine, key.removesuffix("_count")], value)
    fams.add(
        fams.gauge("gateway_feed_idle_seconds", "Wall seconds since data last arrived", ["node"]),
        [node],
        (sample.get("feed") or {}).get("data_idle_s"),
    )
    lag = fams.gauge("gateway_event_loop_lag_seconds", "Event-loop lag (live nodes)", ["node"])
    loop = sample.get("loop")
    if isinstance(loop, Mapping) and _num(loop.get("lag_ms")) is not None:
        lag.add_metric([node], float(loop["lag_ms"]) / 1000.0)
    proc = sample.get("process") or {}
    fams.add(
        fams.gauge("gateway_process_cpu_percent", "Node host CPU, percent of one core", ["node"]),
        [node],
        proc.get("cpu_percent"),
    )
    fams.add(
        fams.gauge("gateway_process_resident_memory_bytes", "Node host resident memory", ["node"]),
        [node],
        proc.get("rss_bytes"),
    )
    ts = _num(sample.get("ts_ns"))
    stamp = fams.gauge(
        "gateway_sample_timestamp_seconds", "Wall time of the latest sample", ["node"]
    )
    if ts is not None:
        stamp.add_metric([node], ts / 1e9)


class SampleCollector(Collector):
    """Hold the latest sample of every node; build the metric families on each scrape."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._samples: dict[str, Mapping[str, Any]] = {}

    def update(self, node_id: str, sample: Mapping[str, Any]) -> None:
        """Make ``sample`` the latest of ``node_id``."""
        with self._lock:
            self._samples[node_id] = sample

    def remove(self, node_id: str) -> None:
        """Forget ``node_id`` (its series disappear from the next scrape)."""
        with self._lock:
            self._samples.pop(node_id, None)

    def nodes(self) -> list[str]:
        """Return the nodes with a sample, sorted."""
        with self._lock:
            return sorted(self._samples)

    def latest(self, node_id: str) -> Mapping[str, Any] | None:
        """Return the latest sample of ``node_id``, if any."""
        with self._lock:
            return self._samples.get(node_id)

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            samples = sorted(self._samples.items())
        fams = _Families()
        for node, sample in samples:
            _pnl_rows(fams, node, sample)
            _account_rows(fams, node, sample)
            _order_rows(fams, node, sample)
            _system_rows(fams, node, sample)
        return [fam for fam in fams.items.values() if fam.samples]


class MetricsRegistry:
    """The latest samples of every node, exposed as a Prometheus registry.

    ``update(node_id, sample)`` from wherever samples arrive (a thread is fine);
    :func:`serve` exposes it over HTTP.
    """

    def __init__(self) -> None:
        self.collector = SampleCollector()
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self.collector)

    def update(self, node_id: str, sample: Mapping[str, Any]) -> None:
        """Make ``sample`` (a ``MetricsSample`` payload) the latest of ``node_id``."""
        self.collector.update(node_id, sample)

    def remove(self, node_id: str) -> None:
        """Forget ``node_id``."""
        self.collector.remove(node_id)

    def nodes(self) -> list[str]:
        """Return the nodes with a sample."""
        return self.collector.nodes()

    def latest(self, node_id: str) -> Mapping[str, Any] | None:
        """Return the latest sample of ``node_id``, if any."""
        return self.collector.latest(node_id)

    def exposition(self, accept: str | None = None) -> tuple[bytes, str]:
        """Return ``(body, content type)`` of one scrape, negotiated from ``accept``."""
        if accept is None:
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type


STARTUP_TIMEOUT_S = 10.0


@dataclass
class MetricsServer:
    """A running endpoint: ``url`` to scrape, :meth:`shutdown` to stop it."""

    host: str
    port: int
    _server: Any  # uvicorn.Server
    _thread: threading.Thread
    _socket: socket.socket

    @property
    def url(self) -> str:
        """Return the scrape URL (``http://HOST:PORT/metrics``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    @property
    def address(self) -> tuple[str, int]:
        """The address the socket is bound to (host, port)."""
        return self._bound

    def __post_init__(self) -> None:
        self._bound: tuple[str, int] = self._socket.getsockname()[:2]

    def shutdown(self) -> None:
        """Stop serving and close the socket."""
        self._server.should_exit = True
        self._thread.join(timeout=5)
        self._socket.close()

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


def serve(
    registry: MetricsRegistry, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT
) -> MetricsServer:
    """Serve ``registry`` on ``host:port`` (``port`` 0 picks a free one) in a thread:
    prometheus_client's ASGI app on uvicorn, as ``gateway serve`` runs it.

    Loopback by default: the figures include PnL and balances. Any path answers; ``/metrics``
    is the conventional one. Raises ``OSError`` when the address cannot be bound.
    """
    import uvicorn

    if not 0 <= port <= 65535:
        raise ValueError(f"metrics port: got {port}, expected 0..65535")
    # Bound here, not by uvicorn: a port in use is an OSError to the caller, and port 0's
    # choice is known before the first scrape.
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    config = uvicorn.Config(
        make_asgi_app(registry.registry),
        log_level="warning",  # scrapes every few seconds would flood the host's stderr
        access_log=False,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="metrics-http"
    )
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.005)
    return MetricsServer(host, int(sock.getsockname()[1]), server, thread, sock)


def iter_nodes(registry: MetricsRegistry) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Yield ``(node_id, latest sample)`` for every node, sorted by node."""
    for node in registry.nodes():
        sample = registry.latest(node)
        if sample is not None:
            yield node, sample
