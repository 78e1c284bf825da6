"""State that outlives a node host: Nautilus's cache in Redis, written through.

``target``        which Redis a node uses (a URL in the node config or settings.json, else
                  the workspace's own server) and the Nautilus ``CacheConfig`` for it
``redis_server``  the workspace's own ``redis-server``: started on demand, detached, reused
``namespace``     the key layout marker, the workspace id and trader-id claims in a Redis
``persisted``     what a node has persisted (``gateway nodes state``) and its reset
``watchdog``      the node host's check that its Redis still answers
"""
