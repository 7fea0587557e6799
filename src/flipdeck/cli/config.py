"""Provides `flipdeck config list|get|set`: collection settings (synced to every device: the
learning-day rollover hour and time zone) and this device's own (``sync.auto``)."""

from __future__ import annotations

from typing import Annotated

import typer

from flipdeck.cli import output
from flipdeck.cli.common import collection
from flipdeck.cli.output import JsonOption
from flipdeck.core.errors import InvalidInput

config_app = typer.Typer(help="Show and change settings.", no_args_is_help=True)

DEVICE_SETTINGS = {"sync.auto": False}
"""Settings of this device only (kept in the collection's local metadata, never synced)."""

Key = Annotated[str, typer.Argument(help="rollover_hour, timezone or sync.auto.")]


def device_setting(col, key: str):
    """A device setting's value."""
    raw = col.meta(f"config.{key}")
    return DEVICE_SETTINGS[key] if raw is None else raw == "true"


def _all(col) -> dict:
    from flipdeck.store import config

    values = config.all_settings(col)
    values.update({key: device_setting(col, key) for key in DEVICE_SETTINGS})
    return values


def _known(key: str) -> None:
    from flipdeck.store import config

    if key not in config.DEFAULTS and key not in DEVICE_SETTINGS:
        raise InvalidInput(
            f"unknown setting {key!r}",
            hint=f"Settings: {', '.join([*config.DEFAULTS, *DEVICE_SETTINGS])}.",
        )


def _show(values: dict, as_json: bool) -> None:
    if as_json:
        output.print_json(values)
    else:
        output.table(
            ["Setting", "Value"],
            [[k, str(v).lower() if isinstance(v, bool) else v] for k, v in values.items()],
        )


@config_app.command("list")
def list_settings(as_json: JsonOption = False) -> None:
    """Every setting and its value."""
    with collection() as col:
        _show(_all(col), as_json)


@config_app.command("get")
def get(key: Key, as_json: JsonOption = False) -> None:
    """One setting."""
    _known(key)
    with collection() as col:
        _show({key: _all(col)[key]}, as_json)


@config_app.command("set")
def set_(
    key: Key,
    value: Annotated[str, typer.Argument(help="The new value.")],
    as_json: JsonOption = False,
) -> None:
    """Change a setting. The rollover hour (0–23, default 4) and the time zone decide when a
    learning day starts; changing either re-schedules every card. ``sync.auto`` (true/false)
    syncs when a study session starts and ends, quietly when offline."""
    from flipdeck.store import config, reviews

    _known(key)
    with collection() as col, col.transaction():
        if key in DEVICE_SETTINGS:
            if value.lower() not in ("true", "false"):
                raise InvalidInput(f"{key} is true or false, not {value!r}")
            col.conn.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                (f"config.{key}", value.lower()),
            )
        else:
            config.set_value(col, key, value)
            reviews.rebuild(col)
        values = {key: _all(col)[key]}
    _show(values, as_json)
