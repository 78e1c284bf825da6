"""Read one snapshot of a kernel's figures: PnL, accounts, orders, positions, engine counters.

Everything comes from Nautilus's own objects (``Portfolio``, ``Cache``, the engines' and the
message bus's counters); nothing is estimated. Money is reported as floats
(``Money.as_double()``), keyed by currency code.

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
        out[code] = out.get(code, 0.0) + money.as_double()
    return out


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
    return None if value is None else float(value.as_double())


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
    # The price Portfolio marks a position at: bid for longs, ask for shorts, else last.
    from nautilus_trader.model.enums import PositionSide, PriceType

    if position.side == PositionSide.LONG:
        price_type = PriceType.BID
    elif position.side == PositionSide.SHORT:
        price_type = PriceType.ASK
    else:
        price_type = PriceType.LAST
    iid = position.instrument_id
    return cache.price(iid, price_type) or cache.price(iid, PriceType.LAST)


def _position_realized(cache: Any, position: Any) -> list[Any]:
    # Portfolio's rule: snapshots hold a netting position's earlier closed cycles; a closed
    # position whose last snapshot equals its current realized PnL is counted once.
    snapshots = cache.position_snapshots(position.id) if position.id else []
    out = [snap.realized_pnl for snap in snapshots if snap.realized_pnl is not None]
    current = position.realized_pnl
    if snapshots and position.is_closed:
        last = snapshots[-1].realized_pnl
        if last is not None and current is not None and last == current:
            return out
    if current is not None:
        out.append(current)
    return out


class _Sums:
    # Sums of Money per currency, rounded to the currency's precision as Portfolio does.
    def __init__(self) -> None:
        self._sums: dict[str, float] = {}
        self._currencies: dict[str, Any] = {}

    def add(self, money: Any) -> None:
        code = money.currency.code
        self._currencies[code] = money.currency
        self._sums[code] = self._sums.get(code, 0.0) + money.as_double()

    @property
    def currencies(self) -> dict[str, Any]:
        return self._currencies

    def result(self) -> dict[str, float]:
        return {c: _round(v, self._currencies[c]) for c, v in self._sums.items()}


def _round(value: float, currency: Any) -> float:
    from nautilus_trader.model.objects import Money

    return float(Money(value, currency).as_double())


def pnl_by_strategy(cache: Any) -> dict[str, dict[str, PnL]]:
    """Return ``{strategy: {currency: PnL}}`` from the cache's positions."""
    realized: dict[str, _Sums] = {}
    unrealized: dict[str, _Sums] = {}
    for position in cache.positions():
        sid = position.strategy_id.value
        acc = realized.setdefault(sid, _Sums())
        for money in _position_realized(cache, position):
            acc.add(money)
        un = unrealized.setdefault(sid, _Sums())
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


def orders(cache: Any) -> dict[str, Any]:
    """Return ``{total, open, inflight, by_status, by_strategy}`` (counts by order status)."""
    by_status: Counter[str] = Counter()
    by_strategy: dict[str, Counter[str]] = {}
    for order in cache.orders():
        status = order.status_string()
        by_status[status] += 1
        by_strategy.setdefault(order.strategy_id.value, Counter())[status] += 1
    return {
        "total": sum(by_status.values()),
        "open": cache.orders_open_count(),
        "inflight": cache.orders_inflight_count(),
        "by_status": dict(sorted(by_status.items())),
        "by_strategy": {sid: dict(sorted(c.items())) for sid, c in sorted(by_strategy.items())},
    }


def positions(cache: Any) -> dict[str, Any]:
    """Return ``{open, closed, by_strategy: {sid: {open, closed}}}``."""
    by_strategy: dict[str, dict[str, int]] = {}
    n_open = n_closed = 0
    for position in cache.positions():
        row = by_strategy.setdefault(position.strategy_id.value, {"open": 0, "closed": 0})
        if position.is_open:
            row["open"] += 1
            n_open += 1
        else:
            row["closed"] += 1
            n_closed += 1
    return {"open": n_open, "closed": n_closed, "by_strategy": dict(sorted(by_strategy.items()))}


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
