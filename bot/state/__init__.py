"""State adapters: the Redis store, Redis URLs, and the embedded Redis server."""
