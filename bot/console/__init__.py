"""The terminal front end: the console loop and its text renderers."""
