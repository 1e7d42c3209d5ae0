"""Kubernetes adapters: the live reader and writer, the manifest reader, the shared snapshot."""
