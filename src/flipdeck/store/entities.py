"""Provides the syncable entities: which table holds each and which of its columns merge.

Every column listed here carries its own hybrid-logical-clock stamp in the row's ``clock`` map,
and a change record names the columns it set, so merging is per field (``core.merge``). A *map*
column (a note's ``fields``) merges per key: editing Front on one device and Back on another
keeps both.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entity:
    """One kind of syncable row."""

    name: str
    table: str
    columns: tuple[str, ...]
    json_columns: tuple[str, ...] = ()
    map_column: str | None = None

    def keys_valid(self, keys: object) -> bool:
        """Whether every change key names a column of this entity (or a key of its map)."""
        prefix = f"{self.map_column}." if self.map_column else None
        return all(k in self.columns or (prefix and k.startswith(prefix)) for k in keys)


ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (
        Entity("config", "config", ("value",), json_columns=("value",)),
        Entity(
            "preset",
            "presets",
            (
                "name",
                "desired_retention",
                "new_per_day",
                "reviews_per_day",
                "learning_steps",
                "relearning_steps",
                "maximum_interval",
                "leech_threshold",
                "leech_action",
                "parameters",
                "deleted",
            ),
            json_columns=("learning_steps", "relearning_steps", "parameters"),
        ),
        Entity("deck", "decks", ("name", "preset_id", "description", "deleted")),
        Entity("notetype", "notetypes", ("name", "kind", "css", "sort_field", "deleted")),
        Entity("ntfield", "nt_fields", ("notetype_id", "name", "ord", "deleted")),
        Entity(
            "nttemplate",
            "nt_templates",
            ("notetype_id", "name", "ord", "front", "back", "deleted"),
        ),
        Entity(
            "note",
            "notes",
            ("notetype_id", "guid", "tags", "created", "deleted"),
            map_column="fields",
        ),
        Entity(
            "card",
            "cards",
            (
                "note_id",
                "template",
                "ord",
                "deck_id",
                "flag",
                "suspended",
                "buried_until",
                "deleted",
            ),
        ),
    )
}

REVIEW = "review"
"""Review events are not rows that merge by field: they are appended, and merge by union."""
