"""The regression watch: baselines, alerts grouped by cause, and their transitions (pure)."""
