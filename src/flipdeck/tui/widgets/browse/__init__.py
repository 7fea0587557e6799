"""Provides the browser's widgets: the virtual card table and the preview."""
