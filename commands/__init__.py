"""The chat command layer: text to typed commands, handlers that return reply models."""
