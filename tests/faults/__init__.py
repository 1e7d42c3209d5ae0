"""The fault suite (issue 12, point 6): meshgate meets the failures of its dependencies."""
