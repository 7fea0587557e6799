"""Provides the widgets every screen shares: the navigation bar."""
