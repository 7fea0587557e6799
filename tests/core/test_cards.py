"""Tests card generation for every stock note type and custom ones, and how each card renders."""

from __future__ import annotations

import pytest

from flipdeck.core.cards import card_keys, card_label, cloze_number, render_card
from flipdeck.core.errors import NotFound
from flipdeck.core.notetypes import CLOZE, STANDARD, STOCK, Field, NoteType, Template

BY_NAME = {nt.name: nt for nt in STOCK}
BASIC = BY_NAME["Basic"]
REVERSED = BY_NAME["Basic (and reversed card)"]
OPTIONAL = BY_NAME["Basic (optional reversed card)"]
TYPE_IN = BY_NAME["Basic (type in the answer)"]
CLOZE_NT = BY_NAME["Cloze"]
PLACEHOLDER = '<span class=type-answer data-field="Back">[type the answer]</span>'


def _names(notetype: NoteType, keys: list[str]) -> list[str]:
    return [card_label(notetype, key) for key in keys]


@pytest.mark.parametrize(
    ("notetype", "values", "cards"),
    [
        (BASIC, {"Front": "chien", "Back": "dog"}, ["Card 1"]),
        (BASIC, {"Front": "", "Back": "dog"}, []),
        (BASIC, {"Front": "<br>", "Back": "dog"}, []),
        (REVERSED, {"Front": "chien", "Back": "dog"}, ["Card 1", "Card 2"]),
        (REVERSED, {"Front": "chien", "Back": ""}, ["Card 1"]),
        (REVERSED, {"Front": "", "Back": "dog"}, ["Card 2"]),
        (OPTIONAL, {"Front": "chien", "Back": "dog", "Add Reverse": ""}, ["Card 1"]),
        (OPTIONAL, {"Front": "chien", "Back": "dog", "Add Reverse": "y"}, ["Card 1", "Card 2"]),
        (OPTIONAL, {"Front": "chien", "Back": "", "Add Reverse": "y"}, ["Card 1"]),
        (TYPE_IN, {"Front": "chien", "Back": "dog"}, ["Card 1"]),
        (TYPE_IN, {"Front": "", "Back": "dog"}, ["Card 1"]),  # {{type:Back}} refers to Back
        (TYPE_IN, {"Front": "", "Back": ""}, []),
        (
            CLOZE_NT,
            {"Text": "{{c1::a}} {{c2::b}} {{c1::c}}", "Back Extra": ""},
            ["Cloze 1", "Cloze 2"],
        ),
        (CLOZE_NT, {"Text": "{{c2::x}} {{c10::y}}"}, ["Cloze 2", "Cloze 10"]),  # numeric order
        (CLOZE_NT, {"Text": "{{c1::outer {{c2::inner}}}}"}, ["Cloze 1", "Cloze 2"]),
        (CLOZE_NT, {"Text": "{{c3::Paris::city}}"}, ["Cloze 3"]),
        (CLOZE_NT, {"Text": "no deletion", "Back Extra": "{{c1::x}}"}, []),  # only cloze fields
        (CLOZE_NT, {"Text": ""}, []),
    ],
)
def test_stock_card_generation(notetype, values, cards):
    assert _names(notetype, card_keys(notetype, values)) == cards


def test_keys_are_template_ids_and_cloze_numbers():
    """Keys must survive a template rename: ids for templates, c<N> for deletions."""
    assert card_keys(REVERSED, {"Front": "a", "Back": "b"}) == [t.id for t in REVERSED.templates]
    assert card_keys(CLOZE_NT, {"Text": "{{c2::a}} {{c1::b}}"}) == ["c1", "c2"]


@pytest.mark.parametrize(
    ("key", "number"),
    [
        ("c1", 1),
        ("c42", 42),
        ("c0", None),
        ("c", None),
        ("c01", None),
        ("C1", None),
        (BASIC.templates[0].id, None),
    ],
)
def test_cloze_number(key, number):
    assert cloze_number(key) == number


@pytest.mark.parametrize(
    ("notetype", "values", "card", "front", "back"),
    [
        (
            BASIC,
            {"Front": "chien", "Back": "<b>dog</b>"},
            "Card 1",
            "chien",
            "chien\n\n<hr id=answer>\n\n<b>dog</b>",
        ),
        (
            REVERSED,
            {"Front": "chien", "Back": "dog"},
            "Card 2",
            "dog",
            "dog\n\n<hr id=answer>\n\nchien",
        ),
        (
            OPTIONAL,
            {"Front": "chien", "Back": "dog", "Add Reverse": "y"},
            "Card 2",
            "dog",
            "dog\n\n<hr id=answer>\n\nchien",
        ),
        (
            TYPE_IN,
            {"Front": "chien", "Back": "dog"},
            "Card 1",
            f"chien\n\n{PLACEHOLDER}",
            "chien\n\n<hr id=answer>\n\ndog",
        ),
    ],
)
def test_stock_rendering(notetype, values, card, front, back):
    key = notetype.template(card).id
    assert render_card(notetype, key, values) == (front, back)


def test_type_in_back_compares_the_typed_answer():
    values = {"Front": "chien", "Back": "dog"}
    key = TYPE_IN.templates[0].id
    _, good = render_card(TYPE_IN, key, values, typed="dog")
    _, bad = render_card(TYPE_IN, key, values, typed="cat")
    assert good == "chien\n\n<hr id=answer>\n\n<span class=typeGood>dog</span>"
    assert bad == (
        "chien\n\n<hr id=answer>\n\n"
        "<span class=typeBad>cat</span> → <span class=typeGood>dog</span>"
    )


@pytest.mark.parametrize(
    ("key", "front", "back"),
    [
        (
            "c1",
            "<span class=cloze>[...]</span> is in <span class=cloze>[...]</span>, France",
            "<span class=cloze>Paris</span> is in <span class=cloze>Île-de-France</span>, "
            "France<br>\ncapital",
        ),
        (
            "c2",
            "Paris is in Île-de-France, <span class=cloze>[country]</span>",
            "Paris is in Île-de-France, <span class=cloze>France</span><br>\ncapital",
        ),
    ],
)
def test_cloze_rendering(key, front, back):
    values = {
        "Text": "{{c1::Paris}} is in {{c1::Île-de-France}}, {{c2::France::country}}",
        "Back Extra": "capital",
    }
    assert render_card(CLOZE_NT, key, values) == (front, back)


def _custom(front: str, back: str = "{{FrontSide}}<hr>{{Back}}") -> NoteType:
    fields = ("Word", "Meaning", "Example", "Back")
    return NoteType(
        id="nt-custom",
        name="Vocab",
        kind=STANDARD,
        fields=tuple(Field(f"f{i}", name, float(i)) for i, name in enumerate(fields)),
        templates=(
            Template("t-rec", "Recognise", 0.0, front, back),
            Template("t-ex", "Example", 1.0, "{{#Example}}{{Example}}{{/Example}}", "{{Word}}"),
            Template("t-no", "Needs no example", 2.0, "{{^Example}}{{Word}}?{{/Example}}", "-"),
        ),
    )


@pytest.mark.parametrize(
    ("values", "cards"),
    [
        ({"Word": "maison", "Example": ""}, ["Recognise", "Needs no example"]),
        ({"Word": "maison", "Example": "la maison"}, ["Recognise", "Example"]),
        ({"Word": "", "Example": "la maison"}, ["Example"]),
        ({"Word": "", "Example": ""}, []),
    ],
)
def test_custom_sections_decide_cards(values, cards):
    notetype = _custom("{{Word}}")
    assert _names(notetype, card_keys(notetype, values)) == cards


def test_custom_render_with_tags_deck_and_sections():
    notetype = _custom(
        "{{Word}}{{#Example}} <i>({{Example}})</i>{{/Example}}{{^Meaning}} ?{{/Meaning}}",
        "{{FrontSide}}<hr>{{Meaning}}<br>{{Tags}} · {{Deck}} · {{Subdeck}} · {{Type}} · {{Card}}",
    )
    values = {"Word": "maison", "Meaning": "house", "Example": "ma maison"}
    front, back = render_card(notetype, "t-rec", values, tags="fr noun", deck="Lang::French")
    assert front == "maison <i>(ma maison)</i>"
    assert back == (
        "maison <i>(ma maison)</i><hr>house<br>fr noun · Lang::French · French · Vocab · Recognise"
    )


def test_cloze_card_label_and_special_card_field():
    notetype = NoteType(
        id="nt-c",
        name="My Cloze",
        kind=CLOZE,
        fields=(Field("f0", "Text", 0.0),),
        templates=(Template("t0", "Only", 0.0, "{{Card}}: {{cloze:Text}}", "{{Type}}"),),
    )
    front, back = render_card(notetype, "c3", {"Text": "{{c3::x}}"})
    assert card_label(notetype, "c3") == "Cloze 3"
    assert front == "Cloze 3: <span class=cloze>[...]</span>"
    assert back == "My Cloze"


def test_type_in_cloze_generates_from_the_type_field():
    """A cloze note type showing its text only via {{type:cloze:…}} still gets its cards."""
    notetype = NoteType(
        id="nt-tc",
        name="Type cloze",
        kind=CLOZE,
        fields=(Field("f0", "Text", 0.0),),
        templates=(Template("t0", "Cloze", 0.0, "{{type:cloze:Text}}", "{{type:cloze:Text}}"),),
    )
    assert card_keys(notetype, {"Text": "{{c1::a}} {{c4::b}}"}) == ["c1", "c4"]
    _, back = render_card(notetype, "c4", {"Text": "{{c1::a}} {{c4::b}}"}, typed="b")
    assert back == "<span class=typeGood>b</span>"


@pytest.mark.parametrize(
    ("notetype", "key"),
    [
        (BASIC, "no-such-template"),
        (BASIC, "c1"),  # a cloze key on a standard note type
        (REVERSED, BASIC.templates[0].id),  # another note type's template
        (CLOZE_NT, CLOZE_NT.templates[0].id),  # a template id on a cloze note type
    ],
)
def test_unknown_keys_raise_not_found(notetype, key):
    """A card whose template was deleted must be reported, not rendered from another one."""
    with pytest.raises(NotFound):
        card_label(notetype, key)
    with pytest.raises(NotFound):
        render_card(notetype, key, {"Front": "x", "Back": "y", "Text": "{{c1::z}}"})


def test_cloze_note_type_without_templates():
    empty = NoteType(id="nt-e", name="Empty", kind=CLOZE, fields=(), templates=())
    assert card_keys(empty, {"Text": "{{c1::x}}"}) == []
    with pytest.raises(NotFound):
        render_card(empty, "c1", {})
