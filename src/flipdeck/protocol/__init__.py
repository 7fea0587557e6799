"""Provides the wire contract shared by the sync client and the server (standard library only).

Filled by the sync work; the version is fixed here so both ends can already refuse a mismatch.
"""

PROTOCOL_VERSION = 1
