"""Node hosts, one job a module; ``engine.manager.NodeManager`` ties them together.

``errors`` (what a caller catches), ``handles`` (a started host, a ``ps`` row),
``liveness`` (is a host alive; marking a dead one), ``spawn`` (starting a detached
supervisor), ``attach`` (a run's events from its channel, then its journal) and
``commands`` (commands to a live host, stopping it).
"""
