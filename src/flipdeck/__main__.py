"""Provides ``python -m flipdeck``."""

from flipdeck.cli.app import main

main()
