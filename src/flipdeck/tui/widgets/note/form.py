"""Provides :class:`NoteForm`: a note's fields (one text area each, HTML as stored) and its
tags, for adding a note and for editing one in place while studying or browsing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.widgets import Input, Label, TextArea

from flipdeck.core.notetypes import NoteType


class NoteForm(VerticalScroll):
    """The fields of ``notetype`` filled with ``values`` (by field name), then the tags."""

    notetype = reactive[NoteType | None](None, recompose=True)
    """Setting another note type redraws the fields (see :meth:`switch`)."""

    def __init__(
        self,
        notetype: NoteType,
        values: Mapping[str, str] | None = None,
        tags: Sequence[str] = (),
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id, classes="note-form")
        self.set_reactive(NoteForm.notetype, notetype)
        self.initial = dict(values or {})
        self.initial_tags = list(tags)

    def compose(self) -> ComposeResult:
        for index, field in enumerate(self.notetype.fields):
            yield Label(field.name, classes="note-form--label")
            yield TextArea(
                self.initial.get(field.name, ""),
                id=f"note-field-{index}",
                classes="note-form--field",
                tab_behavior="focus",
                soft_wrap=True,
            )
        yield Label("Tags (space-separated)", classes="note-form--label")
        yield Input(" ".join(self.initial_tags), id="note-tags", classes="note-form--tags")

    def switch(self, notetype: NoteType) -> None:
        """Show ``notetype``'s fields instead, empty; the tags typed so far stay."""
        if notetype.id == self.notetype.id:
            return
        self.initial_tags = self.tags()
        self.initial = {}
        self.notetype = notetype

    def areas(self) -> list[TextArea]:
        """The field editors, in field order."""
        return [
            self.query_one(f"#note-field-{i}", TextArea) for i in range(len(self.notetype.fields))
        ]

    def values(self) -> dict[str, str]:
        """Every field's text, by field name."""
        return {
            f.name: area.text for f, area in zip(self.notetype.fields, self.areas(), strict=True)
        }

    def changed_values(self) -> dict[str, str]:
        """Only the fields that differ from what the form was opened with."""
        return {k: v for k, v in self.values().items() if self.initial.get(k, "") != v}

    def tags(self) -> list[str]:
        """The tags as typed."""
        return self.query_one("#note-tags", Input).value.split()

    def clear_fields(self) -> None:
        """Empty every field (tags stay: the next note usually shares them) and focus the
        first, ready for the next note."""
        for area in self.areas():
            area.clear()
        self.focus_first()

    def focus_first(self) -> None:
        """Put the cursor in the first field."""
        areas = self.areas()
        if areas:
            areas[0].focus(scroll_visible=False)  # it is at the top: no animated scroll
            self.scroll_home(animate=False)
