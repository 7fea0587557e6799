"""Provides ``python -m flipdeck.server`` (the same as `flipdeck-server`)."""

from flipdeck.server.cli import main

main()
