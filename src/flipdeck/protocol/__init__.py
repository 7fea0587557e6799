"""Provides the wire contract shared by the sync client and the server (standard library only):
message types and their codec (``messages``), and the error table (``errors``)."""

PROTOCOL_VERSION = 1
"""Bumped only for a change old peers cannot read; new change kinds do not need it (peers keep
and relay kinds they do not know)."""
