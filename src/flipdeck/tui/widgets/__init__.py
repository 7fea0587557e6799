"""Provides the TUI's widgets, grouped by the screen area they belong to."""
