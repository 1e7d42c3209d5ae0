"""The `meshgate` command line: one module per subcommand."""
