"""Provides the note form that adding and editing share."""
