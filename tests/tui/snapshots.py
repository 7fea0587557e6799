"""Provides :func:`assert_snapshot`: the app's screen as an SVG (textual's own screenshot),
compared with the file kept in ``__snapshots__``. Set ``FLIPDECK_UPDATE_SNAPSHOTS=1`` to
write the files anew, then look at the SVGs before keeping them.

pytest-textual-snapshot does the same, but it needs pytest < 9 (through syrupy 4.8) and the
project runs pytest 9; the screenshot is textual's either way, so the comparison is as strict.
"""

from __future__ import annotations

import os
from pathlib import Path

from textual.widgets import Input, TextArea

DIRECTORY = Path(__file__).parent / "__snapshots__"


async def assert_snapshot(pilot, name: str, tmp_path: Path) -> None:
    """The screen now must equal ``__snapshots__/NAME.svg``."""
    app = pilot.app
    for widget in [*app.screen.query(Input), *app.screen.query(TextArea)]:  # no blinking
        widget.cursor_blink = False
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.wait_for_scheduled_animations()  # scrolling a focused field into view
    await pilot.pause()
    actual = app.export_screenshot(title=name)
    expected_path = DIRECTORY / f"{name}.svg"
    if os.environ.get("FLIPDECK_UPDATE_SNAPSHOTS") == "1":
        DIRECTORY.mkdir(exist_ok=True)
        expected_path.write_text(actual, encoding="utf-8")
        return
    assert expected_path.exists(), (
        f"no snapshot {expected_path.name}: run with FLIPDECK_UPDATE_SNAPSHOTS=1 and check it"
    )
    if actual != expected_path.read_text(encoding="utf-8"):
        failed = tmp_path / f"{name}.actual.svg"
        failed.write_text(actual, encoding="utf-8")
        raise AssertionError(f"{name} differs from its snapshot; see {failed}")
