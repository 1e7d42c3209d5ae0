"""The pure domain of meshgate: playbook, rollout state machine, mesh posture and gates.

Nothing here performs I/O, reads the clock or the environment; callers pass `now` and
snapshots in and carry out the decisions that come back (see DESIGN.md, "Layers").
"""
