"""meshgate tests: unit (pure), integration (real servers), e2e (the running app)."""
