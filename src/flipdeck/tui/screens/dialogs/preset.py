"""Provides :class:`PresetDialog`: a deck preset's study options as a form; it answers the
changed :class:`~flipdeck.core.presets.Preset` (validated) or ``None``. Saving it, and
re-scheduling the cards of every deck that shares it, is the caller's job."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from flipdeck.core.errors import InvalidInput
from flipdeck.core.presets import LEECH_ACTIONS, Preset, format_steps, parse_steps

_NUMBERS = (
    ("desired_retention", "Desired retention (0.50–0.99)", float),
    ("new_per_day", "New cards a day", int),
    ("reviews_per_day", "Reviews a day", int),
    ("maximum_interval", "Maximum interval (days)", int),
    ("leech_threshold", "Leech threshold (lapses)", int),
)
_STEPS = (
    ("learning_steps", "Learning steps (e.g. 1m 10m)"),
    ("relearning_steps", "Relearning steps"),
)


class PresetDialog(ModalScreen[Preset | None]):
    """Edits ``preset``; ``shared_by`` names the decks that use it (they all follow)."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="preset.cancel"),
        Binding("ctrl+s", "save", "Save", id="preset.save"),
    ]

    def __init__(self, preset: Preset, shared_by: list[str]) -> None:
        super().__init__(classes="dialog")
        self.preset = preset
        self.shared_by = shared_by

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog--box dialog--wide"):
            yield Static(f"Preset “{self.preset.name}”", classes="dialog--title")
            if len(self.shared_by) > 1:
                yield Static(
                    f"Shared by {len(self.shared_by)} decks: {', '.join(self.shared_by)}",
                    classes="dialog--hint",
                )
            with VerticalScroll(id="preset-fields"):
                for name, label, _kind in _NUMBERS:
                    with Horizontal(classes="form--row"):
                        yield Label(label, classes="form--label")
                        yield Input(str(getattr(self.preset, name)), id=f"preset-{name}")
                for name, label in _STEPS:
                    with Horizontal(classes="form--row"):
                        yield Label(label, classes="form--label")
                        yield Input(format_steps(getattr(self.preset, name)), id=f"preset-{name}")
                with Horizontal(classes="form--row"):
                    yield Label("Leech action", classes="form--label")
                    yield Select(
                        [(action, action) for action in LEECH_ACTIONS],
                        value=self.preset.leech_action,
                        allow_blank=False,
                        id="preset-leech_action",
                    )
            yield Static("", id="preset-error", classes="dialog--error")
            with Horizontal(classes="dialog--buttons"):
                yield Button("Save (ctrl+s)", variant="primary", id="save")
                yield Button("Cancel (esc)", id="cancel")

    def options(self) -> dict:
        """The options as typed, converted (``InvalidInput`` names the first bad one)."""
        values: dict = {}
        for name, label, kind in _NUMBERS:
            raw = self.query_one(f"#preset-{name}", Input).value.strip()
            try:
                values[name] = kind(raw)
            except ValueError:
                raise InvalidInput(f"{label.split(' (')[0]}: {raw!r} is not a number") from None
        for name, _label in _STEPS:
            values[name] = parse_steps(self.query_one(f"#preset-{name}", Input).value)
        values["leech_action"] = self.query_one("#preset-leech_action", Select).value
        return values

    def action_save(self) -> None:
        try:
            updated = self.preset.with_options(**self.options())
        except InvalidInput as error:
            self.query_one("#preset-error", Static).update(error.message)
            return
        self.dismiss(updated)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "save":
            self.action_save()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
