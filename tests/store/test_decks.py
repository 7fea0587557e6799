"""Decks: the '::' hierarchy, derived ids for decks created by name, rename with children,
delete with cards, and the counts of the deck list."""

from __future__ import annotations

import pytest

from flipdeck.core.errors import Conflict, InvalidInput, NotFound
from flipdeck.core.ids import derived_id
from flipdeck.store import decks, reviews, stats
from tests.store.helpers import add


def test_create_makes_missing_parents(col):
    with col.transaction():
        decks.create(col, " Lang :: French :: Verbs ")
    names = [d.name for d in decks.all_decks(col)]
    assert names == ["Default", "Lang", "Lang::French", "Lang::French::Verbs"]


def test_decks_created_by_name_agree_across_devices(col):
    with col.transaction():
        deck = decks.create(col, "Spanish")
    assert deck.id == derived_id("deck", "spanish")


def test_invalid_and_duplicate_names(col):
    with pytest.raises(InvalidInput):
        decks.normalise("A::::B")
    with col.transaction():
        decks.create(col, "A")
    with pytest.raises(Conflict), col.transaction():
        decks.create(col, "a")


def test_find_is_case_insensitive_and_lists_decks_when_missing(col):
    with col.transaction():
        decks.create(col, "Spanish")
    assert decks.find(col, "SPANISH").name == "Spanish"
    with pytest.raises(NotFound) as caught:
        decks.find(col, "German")
    assert "Spanish" in caught.value.hint


def test_rename_moves_children(col):
    with col.transaction():
        decks.create(col, "A::B::C")
        decks.rename(col, decks.find(col, "A"), "Z::A")
    assert [d.name for d in decks.all_decks(col)] == [
        "Default",
        "Z",
        "Z::A",
        "Z::A::B",
        "Z::A::B::C",
    ]
    with pytest.raises(InvalidInput), col.transaction():
        decks.rename(col, decks.find(col, "Z"), "Z::A::B::Z")


def test_recreating_a_deleted_deck_revives_its_id(col):
    with col.transaction():
        first = decks.create(col, "Temp")
        decks.delete(col, first)
    with col.transaction():
        again = decks.create(col, "Temp")
    assert again.id == first.id


def test_delete_removes_children_and_their_cards(col):
    _n, card_ids = add(col, "q", "a", deck="A::B")
    add(col, "q2", "a2", deck="Other")
    with col.transaction():
        counts = decks.delete(col, decks.find(col, "A"))
    assert counts == (2, 1)
    assert [d.name for d in decks.all_decks(col)] == ["Default", "Other"]
    assert col.conn.execute("SELECT deleted FROM cards WHERE id = ?", card_ids).fetchone() == (1,)


def test_deck_tree_counts_include_children_and_limits(col, clock):
    for i in range(25):
        add(col, f"q{i}", "a", deck="Lang::French" if i % 2 else "Lang")
    rows = {r.deck.name: r for r in stats.deck_tree(col)}
    assert rows["Lang::French"].new == 12
    assert rows["Lang"].new == 20  # 25 new cards, capped by Lang's 20 a day
    assert rows["Lang"].total_cards == 25
    # answering a new card uses up one of today's new cards
    card = col.conn.execute("SELECT id FROM cards LIMIT 1").fetchone()[0]
    with col.transaction():
        reviews.answer(col, card, 3)
    rows = {r.deck.name: r for r in stats.deck_tree(col)}
    assert rows["Lang"].new == 19 and rows["Lang"].learning == 1  # 20 a day, 1 studied
    clock.advance(minutes=11)
    with col.transaction():
        reviews.answer(col, card, 3)
    rows = {r.deck.name: r for r in stats.deck_tree(col)}
    assert rows["Lang"].learning == 0
