"""Provides where flipdeck keeps its state (client and server alike): one directory,
``FLIPDECK_HOME``, or the platform's.

On Linux the default is ``$XDG_DATA_HOME/flipdeck`` (``~/.local/share/flipdeck``), from
platformdirs, which is only imported when the variable is unset.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

COLLECTION_FILE = "collection.db"


def home(env: Mapping[str, str] | None = None) -> Path:
    """flipdeck's state directory, created if missing (``env`` defaults to the process's)."""
    value = (os.environ if env is None else env).get("FLIPDECK_HOME")
    if value:
        path = Path(value).expanduser()
    else:
        from platformdirs import user_data_path

        path = user_data_path("flipdeck", appauthor=False)
    path.mkdir(parents=True, exist_ok=True)
    return path


def collection_path() -> Path:
    """The default collection file."""
    return home() / COLLECTION_FILE
