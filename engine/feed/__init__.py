"""The offline market data feed and the helpers that run a sandbox ``TradingNode``.

- :mod:`engine.feed.options`: the ``offline`` adapter's options (pydantic), with errors
  naming ``data_clients[i].options.<field>``.
- :mod:`engine.feed.client_config`: ``build_offline_data(spec, node, ctx) -> BuiltClient``,
  registered in :data:`engine.config.clients.BUILDERS`.
- :mod:`engine.feed.config` / :mod:`engine.feed.client`: the Nautilus
  ``OfflineDataClientConfig``, ``OfflineMarketDataClient`` and ``OfflineDataClientFactory``.
- :mod:`engine.feed.walk` / :mod:`engine.feed.instruments`: the seeded random walk and the
  offline instrument definitions.
- :mod:`engine.feed.trading`: ``build_trading_node``, ``start_trading_node``,
  ``stop_trading_node`` for the node host, and the Nautilus gotchas they handle.
- :mod:`engine.feed.trial`: run a node for a while in this process and print JSON.

Importing this package imports no Nautilus code; the modules that need it import it.
"""
