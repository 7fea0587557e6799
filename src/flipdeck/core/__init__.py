"""Provides the domain: ids, clocks, note types, card generation, scheduling and merge rules.

Nothing here touches a database, the network or a terminal.
"""
