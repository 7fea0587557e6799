"""Provides the local collection: one SQLite file holding decks, notes, cards and the review log.

Every user action is one transaction, and every mutation of a syncable row writes its change
record in the same transaction (the durable outbox that sync reads).
"""
