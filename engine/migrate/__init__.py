"""Schema versions of gateway-owned data and their forward migrations.

``kinds``: every kind of stored document, its version and its steps; ``versions``: reading
a version strictly; ``stamp``: the workspace's ``schema.json``; ``plan``: what migrating
would change; ``apply``: doing it (lock, backup, atomic writes, stamp last); ``guard``: the
check entry points make. See docs/migrations.md.
"""
