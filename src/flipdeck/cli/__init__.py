"""Provides the `flipdeck` command line: typer commands, one module per noun, kept thin."""
