"""Runtime risk: the gateway's limits, checked inside the node before Nautilus's risk engine.

``limits`` (what may be set), ``rules`` (pure checks), ``guard`` (the binding into a
Nautilus kernel), ``store`` (the trading state and limits that survive a restart),
``service`` (what the CLI, the console and the API call).
"""
