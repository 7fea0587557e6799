"""Provides the statistics screen's terminal plots."""
