"""Alert rules over metric samples and node states, raised and resolved with hysteresis.

A rule names a metric by its dotted path in a ``MetricsSample`` payload (``*`` matches
every key at one level: ``drawdown.*.pct`` is each currency's drawdown), a comparison and a
threshold. It raises once the comparison has held for ``for_secs`` and resolves once the
comparison against ``clear_threshold`` (default: the threshold) has failed for
``clear_for_secs``. So ``rss_bytes > 2 GiB, clear_threshold 1.8 GiB`` does not flap around
2 GiB. A metric that is absent or null leaves an alert as it is.

Node states are evaluated the same way with the document ``{"node": {"state": STATE}}``
(:meth:`AlertEngine.node_state`). A rule is evaluated only against documents holding its
path's first key, so samples and state changes do not disturb each other's rules.

The engine is clock-free: every call takes the time (``ts_ns``), which makes it usable in a
node host (wall time of the sample) and in the console (state changes), and testable.

Event payloads (``AlertRaised`` / ``AlertResolved``, envelope kind ``alert``)::

    alert_id ("NODE:RULE:PATH"), rule, node_id, metric (the concrete path), op, threshold,
    clear_threshold, value, severity, message, raised_ts_ns, ts_ns,
    duration_s (resolved only: how long the alert was active), reason (resolved only:
    "cleared" | "rule_changed" | "rule_removed" | "node_forgotten")
"""

from __future__ import annotations

import json
import logging
import math
import operator
import os
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

log = logging.getLogger(__name__)

ALERT_RAISED = "AlertRaised"
ALERT_RESOLVED = "AlertResolved"
ALERT_KIND = "alert"

Op = Literal[">", ">=", "<", "<=", "==", "!="]
Severity = Literal["info", "warning", "critical"]
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
_NOTIFY_TIMEOUT_S = 5.0
# The only environment a notification command gets: never the host's (it may hold secrets).
_COMMAND_ENV_KEYS = ("PATH", "HOME", "LANG", "LC_ALL", "TZ")


class AlertRule(BaseModel):
    """One alert rule.

    Parameters
    ----------
    name
        Unique name of the rule (letters, digits, ``-``, ``_``, ``.``).
    metric
        Dotted path into the sample (``latency_ms.submit_to_fill.p99``); ``*`` matches
        every key at one level.
    op
        The comparison that raises the alert: ``value op threshold``.
    threshold
        A number, or a string for ``==`` / ``!=`` (``node.state == "failed"``).
    for_secs
        How long the comparison must hold before the alert is raised.
    clear_threshold
        The alert resolves when ``value op clear_threshold`` no longer holds; defaults to
        ``threshold``. For ``>``/``>=`` it must not exceed the threshold, for ``<``/``<=``
        it must not be below it.
    clear_for_secs
        How long the clear condition must hold before the alert resolves.
    severity
        ``info``, ``warning`` or ``critical``.
    command
        A fixed argv run on raise and resolve with the alert event as JSON on stdin.
    webhook_url
        An ``http(s)://`` URL the alert event is POSTed to as JSON.
    enabled
        A disabled rule is kept but never raises.
    description
        Free text shown with the alert.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    metric: str = Field(min_length=1, pattern=r"^[^.\s]+(\.[^.\s]+)*$")
    op: Op = ">"
    threshold: float | str
    for_secs: float = Field(default=0.0, ge=0)
    clear_threshold: float | str | None = None
    clear_for_secs: float = Field(default=0.0, ge=0)
    severity: Severity = "warning"
    command: tuple[str, ...] | None = None
    webhook_url: str | None = None
    enabled: bool = True
    description: str = ""

    @field_validator("command")
    @classmethod
    def _command_not_empty(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None and (not value or not value[0]):
            raise ValueError("expected a non-empty argv list, e.g. ['notify-send', 'gateway']")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"got {value!r}, expected an http:// or https:// URL")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> AlertRule:
        numeric = self.op not in ("==", "!=")
        for name in ("threshold", "clear_threshold"):
            value = getattr(self, name)
            if numeric and isinstance(value, str):
                raise ValueError(f"{name}: got {value!r}, expected a number for op {self.op!r}")
            if isinstance(value, float) and math.isnan(value):
                raise ValueError(f"{name}: got nan, expected a number")
        clear = self.clear_threshold
        if clear is not None and numeric:
            assert isinstance(clear, float) and isinstance(self.threshold, float)
            if self.op in (">", ">=") and clear > self.threshold:
                raise ValueError(
                    f"clear_threshold: got {clear}, expected at most threshold {self.threshold} "
                    f"for op {self.op!r}"
                )
            if self.op in ("<", "<=") and clear < self.threshold:
                raise ValueError(
                    f"clear_threshold: got {clear}, expected at least threshold "
                    f"{self.threshold} for op {self.op!r}"
                )
        return self

    @property
    def effective_clear(self) -> float | str:
        """Return the threshold the clear condition compares against."""
        return self.threshold if self.clear_threshold is None else self.clear_threshold


GIB = 1024**3

DEFAULT_RULES: tuple[AlertRule, ...] = (
    AlertRule(
        name="drawdown",
        metric="drawdown.*.pct",
        op=">",
        threshold=10.0,
        clear_threshold=8.0,
        severity="critical",
        description="Equity more than 10% below its peak",
    ),
    AlertRule(
        name="latency-p99",
        metric="latency_ms.submit_to_accept.p99",
        op=">",
        threshold=500.0,
        for_secs=10.0,
        clear_threshold=400.0,
        clear_for_secs=10.0,
        description="Order acknowledgement p99 above 500 ms for 10 s",
    ),
    AlertRule(
        name="memory",
        metric="process.rss_bytes",
        op=">",
        threshold=2.0 * GIB,
        for_secs=30.0,
        clear_threshold=1.8 * GIB,
        description="Node host resident memory above 2 GiB for 30 s",
    ),
    AlertRule(
        name="stale-feed",
        metric="feed.data_idle_s",
        op=">",
        threshold=30.0,
        clear_threshold=5.0,
        description="No market data for 30 s",
    ),
    AlertRule(
        name="node-failed",
        metric="node.state",
        op="==",
        threshold="failed",
        severity="critical",
        description="The node failed",
    ),
    AlertRule(
        name="trading-halted",
        metric="risk.trading_state",
        op="==",
        threshold="HALTED",
        severity="critical",
        description="The node is halted: no new orders from any strategy",
    ),
    AlertRule(
        name="trading-reducing",
        metric="risk.trading_state",
        op="==",
        threshold="REDUCING",
        severity="warning",
        description="The node only reduces positions",
    ),
)


def default_rules() -> list[AlertRule]:
    """Return the default rules (drawdown, latency p99, memory, stale feed, failed node)."""
    return list(DEFAULT_RULES)


def parse_rules(data: Sequence[Mapping[str, Any]], *, where: str = "alerts") -> list[AlertRule]:
    """Validate rule dicts (from settings or a node config) into rules.

    Raise ``ValueError`` naming the field (``alerts[1].threshold``), the value and what was
    expected, for the first bad field of every bad rule; and for duplicate names.
    """
    rules: list[AlertRule] = []
    problems: list[str] = []
    for index, raw in enumerate(data):
        try:
            rules.append(AlertRule.model_validate(raw))
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(p) for p in err["loc"])
                if not loc:  # a cross-field check: its message starts "field: got ..."
                    msg = str(err["msg"]).removeprefix("Value error, ")
                    problems.append(f"{where}[{index}].{msg}")
                    continue
                msg = str(err["msg"]).removeprefix("Value error, ")
                problems.append(f"{where}[{index}].{loc}: got {err.get('input')!r}, {msg}")
    seen: set[str] = set()
    for index, rule in enumerate(rules):
        if rule.name in seen:
            problems.append(f"{where}[{index}].name: got {rule.name!r}, expected a unique name")
        seen.add(rule.name)
    if problems:
        raise ValueError("; ".join(problems))
    return rules


def resolve_path(doc: Mapping[str, Any], path: str) -> Iterator[tuple[str, Any]]:
    """Yield ``(concrete path, value)`` for every match of ``path`` in ``doc``."""

    def walk(node: Any, parts: list[str], done: list[str]) -> Iterator[tuple[str, Any]]:
        if not parts:
            yield ".".join(done), node
            return
        if not isinstance(node, Mapping):
            return
        head, rest = parts[0], parts[1:]
        if head == "*":
            for key in sorted(node):
                yield from walk(node[key], rest, [*done, str(key)])
        elif head in node:
            yield from walk(node[head], rest, [*done, head])

    yield from walk(doc, path.split("."), [])


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """An alert raised or resolved: publish as ``publish("alert", type, payload, ts_ns)``."""

    type: str
    payload: dict[str, Any]
    ts_ns: int
    kind: str = ALERT_KIND

    @property
    def alert_id(self) -> str:
        """Return the alert's id (``NODE:RULE:PATH``)."""
        return str(self.payload["alert_id"])


@dataclass(slots=True)
class _Track:
    # Per (node, rule, concrete path): when the raise/clear condition started to hold.
    since_ns: int | None = None
    clear_since_ns: int | None = None
    active: bool = False
    raised_ts_ns: int = 0
    last_value: Any = None


@dataclass(slots=True)
class _State:
    rule: AlertRule
    tracks: dict[tuple[str, str], _Track] = field(default_factory=dict)


def _compare(op: str, value: Any, threshold: float | str) -> bool | None:
    # None when the value cannot be compared (absent, null, NaN, wrong type).
    if value is None or (isinstance(value, bool) and isinstance(threshold, float)):
        return None
    if isinstance(threshold, str):
        return bool(_OPS[op](str(value), threshold))
    if not isinstance(value, int | float) or (isinstance(value, float) and math.isnan(value)):
        return None
    return bool(_OPS[op](float(value), threshold))


class AlertEngine:
    """Evaluate rules against samples and node states; return raised/resolved alerts.

    Parameters
    ----------
    rules
        The rules (default: :func:`default_rules`).
    notifier
        Called with ``(rule, event)`` for every raised or resolved alert of a rule with a
        command or webhook; default :func:`notify` (a daemon thread per event).
    notify_default
        ``False`` with no ``notifier``: send no notifications at all.
    """

    def __init__(
        self,
        rules: Iterable[AlertRule] | None = None,
        *,
        notifier: Callable[[AlertRule, AlertEvent], Any] | None = None,
        notify_default: bool = True,
    ) -> None:
        self._lock = threading.Lock()
        self._states: dict[str, _State] = {}
        self._notifier = notifier if notifier is not None or not notify_default else notify
        self._apply(list(default_rules() if rules is None else rules), 0)

    @property
    def rules(self) -> list[AlertRule]:
        """Return the current rules."""
        with self._lock:
            return [s.rule for s in self._states.values()]

    def active(self, node_id: str | None = None) -> list[dict[str, Any]]:
        """Return ``{alert_id, rule, node_id, metric, value, severity, raised_ts_ns}`` of
        every active alert (of ``node_id`` only, when given)."""
        out = []
        with self._lock:
            for state in self._states.values():
                for (node, path), track in state.tracks.items():
                    if track.active and (node_id is None or node == node_id):
                        out.append(
                            {
                                "alert_id": f"{node}:{state.rule.name}:{path}",
                                "rule": state.rule.name,
                                "node_id": node,
                                "metric": path,
                                "value": track.last_value,
                                "severity": state.rule.severity,
                                "raised_ts_ns": track.raised_ts_ns,
                            }
                        )
        return out

    def set_rules(self, rules: Iterable[AlertRule], ts_ns: int) -> list[AlertEvent]:
        """Replace the rules while nodes run.

        A rule whose definition is unchanged keeps its state; the active alerts of a
        removed or changed rule are resolved (the returned events say why).
        """
        events = self._apply(list(rules), ts_ns)
        self._notify(events)
        return events

    def _apply(self, rules: list[AlertRule], ts_ns: int) -> list[AlertEvent]:
        names = [r.name for r in rules]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"alert rules 'name': got duplicates {dupes}, expected unique names")
        events: list[AlertEvent] = []
        with self._lock:
            new: dict[str, _State] = {}
            for rule in rules:
                old = self._states.get(rule.name)
                if old is not None and old.rule == rule:
                    new[rule.name] = old
                    continue
                if old is not None:
                    events += self._resolve_all(old, ts_ns, "rule_changed")
                new[rule.name] = _State(rule)
            for name, old in self._states.items():
                if name not in new:
                    events += self._resolve_all(old, ts_ns, "rule_removed")
            self._states = new
        return events

    def evaluate(
        self, node_id: str, sample: Mapping[str, Any], ts_ns: int | None = None
    ) -> list[AlertEvent]:
        """Evaluate every rule against ``sample``; return the alerts raised and resolved.

        ``ts_ns`` defaults to the sample's own ``ts_ns`` (wall clock of the sample).
        """
        now = int(ts_ns if ts_ns is not None else sample.get("ts_ns", 0))
        events: list[AlertEvent] = []
        with self._lock:
            for state in self._states.values():
                rule = state.rule
                if not rule.enabled or rule.metric.split(".", 1)[0] not in sample:
                    continue
                for path, value in resolve_path(sample, rule.metric):
                    key = (node_id, path)
                    track = state.tracks.setdefault(key, _Track())
                    event = self._step(rule, node_id, path, track, value, now)
                    if event is not None:
                        events.append(event)
                    if not track.active and track.since_ns is None:
                        del state.tracks[key]  # keep memory bounded by the live alerts
        self._notify(events)
        return events

    def node_state(self, node_id: str, state: str, ts_ns: int) -> list[AlertEvent]:
        """Evaluate the ``node.*`` rules for a node's new state (``failed`` ...)."""
        return self.evaluate(node_id, {"node": {"state": state}}, ts_ns)

    def risk_state(self, node_id: str, state: str, ts_ns: int) -> list[AlertEvent]:
        """Evaluate the ``risk.*`` rules for a node's new trading state (``HALTED`` ...)."""
        return self.evaluate(node_id, {"risk": {"trading_state": state}}, ts_ns)

    def forget_node(self, node_id: str, ts_ns: int) -> list[AlertEvent]:
        """Resolve every active alert of ``node_id`` and drop its state (node removed)."""
        events: list[AlertEvent] = []
        with self._lock:
            for state in self._states.values():
                for key in [k for k in state.tracks if k[0] == node_id]:
                    track = state.tracks.pop(key)
                    if track.active:
                        events.append(
                            self._event(
                                ALERT_RESOLVED,
                                state.rule,
                                key[0],
                                key[1],
                                track,
                                ts_ns,
                                "node_forgotten",
                            )
                        )
        self._notify(events)
        return events

    # -- internals ------------------------------------------------------------------------

    def _step(
        self, rule: AlertRule, node: str, path: str, track: _Track, value: Any, now: int
    ) -> AlertEvent | None:
        if not track.active:
            holds = _compare(rule.op, value, rule.threshold)
            if not holds:
                track.since_ns = None
                return None
            track.last_value = value
            if track.since_ns is None:
                track.since_ns = now
            if (now - track.since_ns) / 1e9 >= rule.for_secs:
                track.active = True
                track.raised_ts_ns = now
                track.clear_since_ns = None
                return self._event(ALERT_RAISED, rule, node, path, track, now)
            return None
        still = _compare(rule.op, value, rule.effective_clear)
        if still is None:
            return None  # no figure: leave the alert as it is
        track.last_value = value
        if still:
            track.clear_since_ns = None
            return None
        if track.clear_since_ns is None:
            track.clear_since_ns = now
        if (now - track.clear_since_ns) / 1e9 >= rule.clear_for_secs:
            event = self._event(ALERT_RESOLVED, rule, node, path, track, now, "cleared")
            track.active = False
            track.since_ns = None
            track.clear_since_ns = None
            return event
        return None

    def _resolve_all(self, state: _State, ts_ns: int, reason: str) -> list[AlertEvent]:
        return [
            self._event(ALERT_RESOLVED, state.rule, node, path, track, ts_ns, reason)
            for (node, path), track in state.tracks.items()
            if track.active
        ]

    @staticmethod
    def _event(
        type_: str,
        rule: AlertRule,
        node: str,
        path: str,
        track: _Track,
        ts_ns: int,
        reason: str | None = None,
    ) -> AlertEvent:
        raised = type_ == ALERT_RAISED
        verb = "raised" if raised else "resolved"
        payload: dict[str, Any] = {
            "alert_id": f"{node}:{rule.name}:{path}",
            "rule": rule.name,
            "node_id": node,
            "metric": path,
            "op": rule.op,
            "threshold": rule.threshold,
            "clear_threshold": rule.effective_clear,
            "value": track.last_value,
            "severity": rule.severity,
            "message": f"{rule.name} {verb} on {node}: {path} = {track.last_value!r} "
            f"({rule.op} {rule.threshold!r})"
            + (f" - {rule.description}" if rule.description else ""),
            "raised_ts_ns": track.raised_ts_ns,
            "ts_ns": ts_ns,
        }
        if not raised:
            payload["duration_s"] = max(0.0, (ts_ns - track.raised_ts_ns) / 1e9)
            payload["reason"] = reason
        return AlertEvent(type_, payload, ts_ns)

    def _notify(self, events: list[AlertEvent]) -> None:
        if self._notifier is None or not events:
            return
        with self._lock:
            rules = {name: s.rule for name, s in self._states.items()}
        for event in events:
            rule = rules.get(event.payload["rule"])
            if rule is not None and (rule.command or rule.webhook_url):
                try:
                    self._notifier(rule, event)
                except Exception:  # a broken notifier must not stop alerting
                    log.exception("alert notifier failed for %s", event.alert_id)


def event_json(event: AlertEvent) -> bytes:
    """Return the JSON document a command or webhook receives."""
    return json.dumps({"type": event.type, **event.payload}, default=str).encode()


def run_command(argv: Sequence[str], event: AlertEvent, timeout: float = _NOTIFY_TIMEOUT_S) -> int:
    """Run ``argv`` with the alert as JSON on stdin; return its exit code (-1 on timeout).

    The command gets a minimal environment (``PATH``, ``HOME``, locale), never the host's.
    """
    env = {k: os.environ[k] for k in _COMMAND_ENV_KEYS if k in os.environ}
    try:
        done = subprocess.run(  # argv is fixed by the rule: no shell, nothing interpolated
            list(argv),
            input=event_json(event),
            env=env,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        log.warning("alert command %s timed out after %ss", argv[0], timeout)
        return -1
    except OSError as exc:
        log.warning("alert command %s could not run: %s", argv[0], exc)
        return -1
    if done.returncode != 0:
        log.warning("alert command %s exited with %d", argv[0], done.returncode)
    return done.returncode


WEBHOOK_CONNECT_RETRIES = 2  # a connection that failed to open: nothing was sent yet


def post_webhook(url: str, event: AlertEvent, timeout: float = _NOTIFY_TIMEOUT_S) -> int:
    """POST the alert as JSON to ``url``; return the HTTP status (-1 on failure).

    A connection that cannot be opened is retried (httpx's backoff); a request that was
    sent is not, so a slow webhook never gets the alert twice.
    """
    import httpx

    transport = httpx.HTTPTransport(retries=WEBHOOK_CONNECT_RETRIES)
    try:
        with httpx.Client(transport=transport, timeout=timeout) as client:
            response = client.post(
                url,
                content=event_json(event),
                headers={"Content-Type": "application/json", "User-Agent": "nautilus-gateway"},
            )
            return int(response.status_code)
    except Exception as exc:  # a webhook down must not stop alerting
        # Only the host: a webhook's path or query often carries its token.
        log.warning("alert webhook to %s failed: %s", urlsplit(url).netloc, type(exc).__name__)
        return -1


def notify(rule: AlertRule, event: AlertEvent) -> threading.Thread:
    """Send ``event`` to the rule's command and webhook in a daemon thread; return it."""

    def send() -> None:
        if rule.command:
            run_command(rule.command, event)
        if rule.webhook_url:
            post_webhook(rule.webhook_url, event)

    thread = threading.Thread(target=send, name=f"alert-notify-{rule.name}", daemon=True)
    thread.start()
    return thread
