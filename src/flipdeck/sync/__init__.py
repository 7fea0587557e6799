"""Provides the client side of sync: HTTP client, push/pull engine, credentials."""
