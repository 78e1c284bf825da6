"""Benchmarks printed by ``make bench`` (``python -m bench``): one ``bench_*.py`` per figure."""
