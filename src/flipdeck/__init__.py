"""flipdeck: offline-first flashcards for the terminal, with FSRS scheduling and sync."""

__version__ = "0.1.0"
