"""Metrics adapters: the Prometheus client, the MetricsSource over it, charts, the demo server."""
