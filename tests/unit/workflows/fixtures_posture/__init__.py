"""Small manifest fixtures and builders for the posture, checks and audit tests."""
