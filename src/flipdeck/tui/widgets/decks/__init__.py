"""Provides the deck list's widgets."""
