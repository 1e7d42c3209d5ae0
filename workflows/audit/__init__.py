"""The audit: per-service posture reports, findings and regressions against a baseline."""
