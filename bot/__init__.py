"""The runtime: settings, adapters (Redis, Kubernetes, Slack), front ends and the CLI."""
