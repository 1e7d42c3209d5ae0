"""The rollout sub-domain: the per-service state machine, its events and its audit trail."""
