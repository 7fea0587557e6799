"""Provides the sync screen's status panel."""
