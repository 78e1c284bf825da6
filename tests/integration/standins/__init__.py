"""Loopback stand-ins for venues: Binance, Bybit (REST, signed) and the IB TWS API handshake."""
