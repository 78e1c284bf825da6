"""The demo sandbox's strategy: Nautilus's EMACross, deciding on its own position.

Nautilus's example ``EMACross`` asks the portfolio whether the *instrument* is flat,
net long or net short, across every strategy of the node. In a sandbox node a trader
also trades by hand (through the gateway's strategy), and a manual position larger
than EMACross's trade size then decides for it: with a manual 2,000,000 long and a
bearish cross, EMACross sees "net long", closes its own (short) position and sells
again, on every bar, two market orders a second on one-second bars, for ever.

This subclass keeps the example's logic and parameters but looks at its own position
only, so manual trading and the demo strategy leave each other alone. It keeps the class
name, so its orders and positions still carry the strategy id ``EMACross-000``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from nautilus_trader.examples.strategies.ema_cross import EMACross as _NautilusEMACross
from nautilus_trader.examples.strategies.ema_cross import EMACrossConfig

__all__ = ["EMACross", "EMACrossConfig"]


class EMACross(_NautilusEMACross):  # type: ignore[misc]  # Nautilus is untyped
    """EMACross on its own net position (see the module docstring)."""

    def own_net_position(self) -> Decimal:
        """This strategy's net quantity in its instrument (signed)."""
        iid = self.config.instrument_id
        # Filtered by owner too: Nautilus's strategy index also lists positions that
        # another strategy's order touched (a gateway close of this one's position).
        own = [
            p
            for p in self.cache.positions_open(instrument_id=iid, strategy_id=self.id)
            if p.strategy_id == self.id
        ]
        return sum((Decimal(str(p.signed_qty)) for p in own), Decimal(0))

    def on_bar(self, bar: Any) -> None:
        """Trade the cross against this strategy's own position."""
        if not self.indicators_initialized() or bar.is_single_price():
            return  # warming up, or a bar without market information (as the example)
        net = self.own_net_position()
        iid = self.config.instrument_id
        if self.fast_ema.value >= self.slow_ema.value:
            if net == 0:
                self.buy()
            elif net < 0:
                self.close_all_positions(iid)
                self.buy()
        elif net == 0:
            self.sell()
        elif net > 0:
            self.close_all_positions(iid)
            self.sell()
