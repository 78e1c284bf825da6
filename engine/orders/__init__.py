"""Order tickets for every NautilusTrader order type: models, validation, conversion,
the one-line syntax, and the gateway strategy that executes them inside a node host.

Import from the submodules (``engine.orders.tickets``, ``.validation``, ``.convert``,
``.syntax``, ``.commands``, ``.strategy``); this package imports nothing heavy itself.
"""
