"""Provides the `flipdeck-server` entry point.

Only `--version` and `--help` exist yet; the commands (serve, migrate, create-user, check,
openapi) come with the server itself. Standard library only, so the client's install never
needs the server's dependencies to run this.
"""

from __future__ import annotations

import argparse
import sys

from flipdeck import __version__


def main(argv: list[str] | None = None) -> None:
    """Parse the command line; every command not built yet says so and exits 1."""
    parser = argparse.ArgumentParser(
        prog="flipdeck-server",
        description="The flipdeck sync and course server (not built yet in this version).",
    )
    parser.add_argument("--version", action="version", version=f"flipdeck-server {__version__}")
    parser.parse_args(argv)
    sys.stderr.write("flipdeck-server has no commands yet in this version.\n")
    raise SystemExit(1)
