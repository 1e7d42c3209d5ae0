"""The Slack front end: a Bolt app, its listeners, and Block Kit rendering of replies."""
