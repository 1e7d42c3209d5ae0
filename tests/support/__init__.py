"""Real-part stand-ins for tests: servers speaking the Kubernetes and Slack APIs."""
