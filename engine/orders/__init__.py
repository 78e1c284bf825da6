"""Order tickets for every NautilusTrader order type: models, validation, conversion,
the one-line syntax, the gateway strategy that executes them inside a node host, and the
client side every front end calls: ``.session`` (an attached client following order
events) and ``.outcome`` (what a close, flatten, modify or cancel did at the node).

Import from the submodules (``engine.orders.tickets``, ``.validation``, ``.convert``,
``.syntax``, ``.commands``, ``.strategy``, ``.session``, ``.outcome``); this package
imports nothing heavy itself.
"""
