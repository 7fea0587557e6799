"""Provides the study screen's widgets: the card, the answer buttons, the summary."""
