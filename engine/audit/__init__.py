"""The audit log: an append-only, hash-chained record of every command that changes something.

``engine.audit.log`` writes and reads it; ``engine.audit.verify`` checks the chain.
"""
