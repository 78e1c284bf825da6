"""The `gateway` command line: headless access to everything the console does."""
