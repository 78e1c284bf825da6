"""Recovery after a restart or a crash: the sandbox venue's memory and the reconciliation.

``venue_book``   what a sandbox venue holds (working orders, net positions, balances): a pure fold
``venue_store``  that book on disk, written through atomically as the venue changes
``sandbox_venue`` the glue into Nautilus's sandbox client: record, report, restore
``views``        the three views of a node's state: its journal, Nautilus's cache, the venue
``reconcile``    the comparison of those views, order by order and position by position
"""
