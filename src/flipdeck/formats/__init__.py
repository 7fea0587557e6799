"""Provides importers and exporters: the bundled sample deck now; Anki packages, CSV/TSV,
Markdown and JSON backups as they land."""
