"""Provides the server's rules, one module per domain; each call runs in one transaction."""
