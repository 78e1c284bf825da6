"""Read one snapshot of a kernel's figures: PnL, accounts, orders, positions, engine counters.

Everything comes from Nautilus's own objects (``Portfolio``, ``Cache``, the engines' and the
message bus's counters); nothing is estimated. Money is reported as floats
(the float nearest the exact decimal, ``float(Money.as_decimal())``: ``as_double()``
would print 999984.20 as 999984.2000000001), keyed by currency code.

Per instrument and per venue the figures are ``Portfolio``'s (converted as the portfolio
converts them). Per strategy they are summed from the strategy's positions in the cache by
the rule ``Portfolio`` uses per instrument (closed cycles of a netting position count through
its snapshots), in each position's own settlement currency.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

PnL = dict[str, float]  # {"realized", "unrealized", "total"}


def money_map(values: dict[Any, Any] | None) -> dict[str, float]:
    """Return ``{currency code: amount}`` for a dict of ``Money`` keyed by anything."""
    out: dict[str, float] = {}
    for money in (values or {}).values():
        if money is None:
            continue
        code = money.currency.code
        out[code] = _exact(out.get(code, 0.0) + _float(money), money.currency)
    return out


def _float(money: Any) -> float:
    return float(money.as_decimal())


def _exact(value: float, currency: Any) -> float:
    # A sum of floats, rounded back to the currency's precision.
    return round(value, int(currency.precision))


def _pnl_by_currency(
    realized: dict[str, float], unrealized: dict[str, float], total: dict[str, float]
) -> dict[str, PnL]:
    out: dict[str, PnL] = {}
    for code in sorted(set(realized) | set(unrealized) | set(total)):
        out[code] = {
            "realized": realized.get(code, 0.0),
            "unrealized": unrealized.get(code, 0.0),
            "total": total.get(code, 0.0),
        }
    return out


def _money(value: Any) -> float | None:
    return None if value is None else _float(value)


def venues(cache: Any) -> list[Any]:
    """Return the venues with an account in the cache, sorted by name."""
    from nautilus_trader.model.identifiers import Venue

    names = {account.id.get_issuer() for account in cache.accounts()}
    return [Venue(name) for name in sorted(names)]


def pnl_by_venue(portfolio: Any, venue_list: list[Any]) -> dict[str, dict[str, PnL]]:
    """Return ``{venue: {currency: PnL}}`` from the portfolio."""
    out: dict[str, dict[str, PnL]] = {}
    for venue in venue_list:
        out[venue.value] = _pnl_by_currency(
            money_map(portfolio.realized_pnls(venue)),
            money_map(portfolio.unrealized_pnls(venue)),
            money_map(portfolio.total_pnls(venue)),
        )
    return out


def pnl_totals(by_venue: dict[str, dict[str, PnL]]) -> dict[str, PnL]:
    """Return ``{currency: PnL}`` summed over venues."""
    out: dict[str, PnL] = {}
    for per_ccy in by_venue.values():
        for code, pnl in per_ccy.items():
            acc = out.setdefault(code, {"realized": 0.0, "unrealized": 0.0, "total": 0.0})
            for key in acc:
                acc[key] += pnl[key]
    return out


def pnl_by_instrument(portfolio: Any, cache: Any) -> dict[str, dict[str, Any]]:
    """Return ``{instrument: {venue, currency, realized, unrealized, total, net_exposure,
    net_position}}`` for every instrument with a position."""
    out: dict[str, dict[str, Any]] = {}
    for iid in sorted({p.instrument_id for p in cache.positions()}, key=lambda i: i.value):
        realized = portfolio.realized_pnl(iid)
        unrealized = portfolio.unrealized_pnl(iid)
        total = portfolio.total_pnl(iid)
        exposure = portfolio.net_exposure(iid)
        currency = next((m.currency.code for m in (realized, unrealized, total) if m), None)
        out[iid.value] = {
            "venue": iid.venue.value,
            "currency": currency,
            "realized": _money(realized),
            "unrealized": _money(unrealized),
            "total": _money(total),
            "net_exposure": _money(exposure),
            "exposure_currency": exposure.currency.code if exposure is not None else None,
            "net_position": float(portfolio.net_position(iid)),
        }
    return out


def _mark_price(cache: Any, position: Any) -> Any:
    from engine.orders.portfolio import mark_price

    return mark_price(cache, position)


class _Sums:
    # Sums of Money per currency, rounded to the currency's precision as Portfolio does.
    def __init__(self) -> None:
        self._sums: dict[str, float] = {}
        self._currencies: dict[str, Any] = {}

    def add(self, money: Any) -> None:
        self.add_amount(money.currency, _float(money))

    def add_amount(self, currency: Any, amount: float) -> None:
        code = currency.code
        self._currencies[code] = currency
        self._sums[code] = self._sums.get(code, 0.0) + amount

    @property
    def currencies(self) -> dict[str, Any]:
        return self._currencies

    def result(self) -> dict[str, float]:
        return {c: _round(v, self._currencies[c]) for c, v in self._sums.items()}


def _round(value: float, currency: Any) -> float:
    from nautilus_trader.model.objects import Money

    return float(Money(value, currency).as_decimal())


class _Snapshots:
    # One position's snapshots (earlier closed cycles of a netting position): unpickled
    # once each, as Portfolio does, so a sample costs O(new snapshots), not O(all).
    __slots__ = ("count", "last", "sums")

    def __init__(self) -> None:
        self.count = 0
        self.sums: dict[str, tuple[Any, float]] = {}  # code -> (currency, sum of realized)
        self.last: Any = None


class StrategyPnL:
    """Per-strategy PnL from the cache's positions, by the rule ``Portfolio`` applies per
    instrument: a netting position's closed cycles count through its snapshots, and a
    closed position whose last snapshot equals its realized PnL is counted once."""

    def __init__(self) -> None:
        self._snapshots: dict[Any, _Snapshots] = {}

    def _snapshot_pnls(self, cache: Any, position_id: Any) -> _Snapshots:
        import pickle

        state = self._snapshots.setdefault(position_id, _Snapshots())
        raw = cache.position_snapshot_bytes(position_id)
        if len(raw) < state.count:  # purged: start again
            state = self._snapshots[position_id] = _Snapshots()
        for blob in raw[state.count :]:
            snap = pickle.loads(blob)  # Nautilus's own cache bytes
            pnl = snap.realized_pnl
            if pnl is not None:
                _, acc = state.sums.get(pnl.currency.code, (pnl.currency, 0.0))
                state.sums[pnl.currency.code] = (pnl.currency, acc + _float(pnl))
                state.last = pnl
        state.count = len(raw)
        return state

    def compute(self, cache: Any) -> dict[str, dict[str, PnL]]:
        """Return ``{strategy: {currency: PnL}}``."""
        realized: dict[str, _Sums] = {}
        unrealized: dict[str, _Sums] = {}
        for position in cache.positions():
            sid = position.strategy_id.value
            acc = realized.setdefault(sid, _Sums())
            un = unrealized.setdefault(sid, _Sums())
            current = position.realized_pnl
            snaps = self._snapshot_pnls(cache, position.id)
            for currency, amount in snaps.sums.values():
                acc.add_amount(currency, amount)
            counted_in_snapshot = (
                snaps.count > 0
                and position.is_closed
                and snaps.last is not None
                and current is not None
                and snaps.last == current
            )
            if current is not None and not counted_in_snapshot:
                acc.add(current)
            if position.is_open:
                price = _mark_price(cache, position)
                if price is not None:
                    un.add(position.unrealized_pnl(price))
        out: dict[str, dict[str, PnL]] = {}
        for sid in sorted(realized):
            r, u = realized[sid].result(), unrealized[sid].result()
            currencies = realized[sid].currencies | unrealized[sid].currencies
            total = {c: _round(r.get(c, 0.0) + u.get(c, 0.0), ccy) for c, ccy in currencies.items()}
            out[sid] = _pnl_by_currency(r, u, total)
        return out


def accounts(portfolio: Any, cache: Any, venue_list: list[Any]) -> dict[str, dict[str, Any]]:
    """Return ``{venue: {account_id, type, equity, balance_total, balance_free, balance_locked,
    margin_init, margin_maint, net_exposure}}``, each amount a ``{currency: float}``."""
    out: dict[str, dict[str, Any]] = {}
    for venue in venue_list:
        account = cache.account_for_venue(venue)
        if account is None:
            continue
        out[venue.value] = {
            "account_id": account.id.value,
            "type": account.type.name,
            "equity": money_map(portfolio.equity(venue)),
            "balance_total": money_map(account.balances_total()),
            "balance_free": money_map(account.balances_free()),
            "balance_locked": money_map(account.balances_locked()),
            "margin_init": money_map(portfolio.margins_init(venue)),
            "margin_maint": money_map(portfolio.margins_maint(venue)),
            "net_exposure": money_map(portfolio.net_exposures(venue)),
        }
    return out


class OrderCounts:
    """Order counts by strategy and status, kept current from order events.

    :meth:`reset` counts the cache once (orders restored before the node started);
    :meth:`on_order_event` then moves one order between statuses, so a sample does not
    walk every order the node ever had.
    """

    def __init__(self) -> None:
        self._cache: Any = None
        self._status: dict[Any, tuple[str, str]] = {}
        self._counts: Counter[tuple[str, str]] = Counter()

    def reset(self, cache: Any) -> None:
        """Count every order in ``cache`` and follow it from now on."""
        self._cache = cache
        self._status.clear()
        self._counts.clear()
        for order in cache.orders():
            self._set(order)

    def _set(self, order: Any) -> None:
        new = (order.strategy_id.value, order.status_string())
        old = self._status.get(order.client_order_id)
        if old != new:
            if old is not None:
                self._counts[old] -= 1
            self._counts[new] += 1
            self._status[order.client_order_id] = new

    def on_order_event(self, event: Any) -> None:
        """Update the order the event is about (its status in the cache is already new)."""
        if self._cache is None:
            return
        order = self._cache.order(event.client_order_id)
        if order is not None:
            self._set(order)

    def summary(self) -> dict[str, Any]:
        """Return ``{total, open, inflight, by_status, by_strategy}``."""
        by_status: Counter[str] = Counter()
        by_strategy: dict[str, dict[str, int]] = {}
        for (sid, status), n in sorted(self._counts.items()):
            if n:
                by_status[status] += n
                by_strategy.setdefault(sid, {})[status] = n
        cache = self._cache
        return {
            "total": len(self._status),
            "open": cache.orders_open_count() if cache is not None else 0,
            "inflight": cache.orders_inflight_count() if cache is not None else 0,
            "by_status": dict(sorted(by_status.items())),
            "by_strategy": by_strategy,
        }


# Open positions listed in each sample (the positions pane's rows); the counts cover all.
SAMPLE_POSITION_ROWS = 200


def positions(cache: Any) -> dict[str, Any]:
    """Return ``{open, closed, by_strategy: {sid: {open, closed}}, rows: [...]}``.

    Counts and rows come from :mod:`engine.orders.portfolio`, the functions the node's
    ``positions`` command serves, so a sample and a snapshot agree; the totals are the
    sums of the per-strategy counts. ``rows`` holds the first ``SAMPLE_POSITION_ROWS``
    open positions (``rows_truncated`` says how many more there are).
    """
    from engine.orders.portfolio import open_position_rows, position_counts

    counts = position_counts(cache)
    counts["rows"] = open_position_rows(cache, SAMPLE_POSITION_ROWS)
    counts["rows_truncated"] = max(0, counts["open"] - SAMPLE_POSITION_ROWS)
    return counts


def _qsize(engine: Any, name: str) -> int | None:
    # Live engines have queues; backtest engines run synchronously and have none.
    method = getattr(engine, name, None)
    return int(method()) if callable(method) else None


def engine_counts(data: Any, exec_: Any, risk: Any) -> dict[str, dict[str, int | None]]:
    """Return the data, execution and risk engines' counters and queue sizes."""
    out: dict[str, dict[str, int | None]] = {}
    if data is not None:
        out["data"] = {
            "data_count": int(data.data_count),
            "command_count": int(data.command_count),
            "request_count": int(data.request_count),
            "response_count": int(data.response_count),
            "data_qsize": _qsize(data, "data_qsize"),
            "cmd_qsize": _qsize(data, "cmd_qsize"),
        }
    if exec_ is not None:
        out["exec"] = {
            "command_count": int(exec_.command_count),
            "event_count": int(exec_.event_count),
            "report_count": int(exec_.report_count),
            "cmd_qsize": _qsize(exec_, "cmd_qsize"),
            "evt_qsize": _qsize(exec_, "evt_qsize"),
        }
    if risk is not None:
        out["risk"] = {
            "command_count": int(risk.command_count),
            "event_count": int(risk.event_count),
            "cmd_qsize": _qsize(risk, "cmd_qsize"),
            "evt_qsize": _qsize(risk, "evt_qsize"),
        }
    return out


class Drawdown:
    """Track each currency's equity peak and the drawdown from it."""

    def __init__(self) -> None:
        self._peaks: dict[str, float] = {}

    def update(self, equity: dict[str, float]) -> dict[str, dict[str, float]]:
        """Return ``{currency: {equity, peak, abs, pct}}`` after seeing ``equity``."""
        out: dict[str, dict[str, float]] = {}
        for code, value in equity.items():
            peak = max(self._peaks.get(code, value), value)
            self._peaks[code] = peak
            dd = peak - value
            out[code] = {
                "equity": value,
                "peak": peak,
                "abs": dd,
                "pct": (dd / peak * 100.0) if peak > 0 else 0.0,
            }
        return out
