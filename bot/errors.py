"""Errors of the runtime.

    StartupError    a setting or resource needed at start-up is missing or wrong

Adapters keep their own errors next to them (StoreUnavailable in workflows.ports, the embedded
Redis's EmbeddedRedisError); the CLI prints any of these as one line and exits 2.
"""


class StartupError(Exception):
    """A setting or resource needed at start-up is missing or wrong; the message says which."""
