"""The runtime's one exception root, and the errors that are not any one adapter's.

    BotError
    ├── StartupError        a setting or resource needed at start-up is missing or wrong
    ├── RedisUrlInvalid     a MESHGATE_REDIS_URL meshgate cannot use (bot.state.urls)
    ├── EmbeddedRedisError  the embedded redis-server would not start (bot.state.embedded)
    ├── AuditUsageError     `meshgate audit` flags that do not go together (bot.cli.audit)
    └── KubeError           a Kubernetes API call failed; its tree is in bot.kube.errors

Adapters raise the domain's port errors (workflows.ports) where a port says so; the CLI prints
any BotError as one line and exits 2.
"""


class BotError(Exception):
    """The root of every error the runtime defines."""


class StartupError(BotError):
    """A setting or resource needed at start-up is missing or wrong; the message says which."""
