"""Telemetry: the metrics actor inside a kernel, alert rules, the Prometheus endpoint.

``engine.telemetry.sampler`` imports Nautilus; ``alerts`` and ``prometheus`` do not, so a
console or CLI process can evaluate and serve samples without loading a kernel.
"""
