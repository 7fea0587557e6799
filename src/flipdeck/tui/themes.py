"""Provides flipdeck's own light and dark themes, built from colours of the xterm 256-colour
palette, so a terminal that shows only 256 colours (macOS Terminal.app) draws them as designed
instead of rounding truecolor shades to whatever is nearest."""

from __future__ import annotations

from textual.theme import Theme

DARK = Theme(
    name="flipdeck-dark",
    primary="#5f87d7",  # 68
    secondary="#87afaf",  # 109
    accent="#d7af5f",  # 179
    success="#5faf5f",  # 71
    warning="#d7af00",  # 178
    error="#d75f5f",  # 167
    foreground="#d0d0d0",  # 252
    background="#1c1c1c",  # 234
    surface="#262626",  # 235
    panel="#303030",  # 236
    dark=True,
)
"""The default theme."""

LIGHT = Theme(
    name="flipdeck-light",
    primary="#005faf",  # 25
    secondary="#5f8787",  # 66
    accent="#af5f00",  # 130
    success="#008700",  # 28
    warning="#af8700",  # 136
    error="#af0000",  # 124
    foreground="#1c1c1c",  # 234
    background="#ffffff",  # 231
    surface="#eeeeee",  # 255
    panel="#e4e4e4",  # 254
    dark=False,
)
"""The light counterpart; `Toggle light/dark` in the command palette switches between them."""

THEMES = (DARK, LIGHT)
