"""Provides the textual study app (to come); `flipdeck study` is the line-based equivalent."""
