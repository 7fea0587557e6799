"""Tests Anki's template language: replacements, sections, filters, type-in and analysis."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flipdeck.core.errors import InvalidInput
from flipdeck.core.template import (
    CardContext,
    cloze_fields,
    field_is_empty,
    front_is_nonempty,
    referenced_fields,
    rename_field_references,
    render_back,
    render_front,
    type_answer_field,
)

FIELDS = {
    "Front": "chien",
    "Back": "dog",
    "Empty": "",
    "Markup": "<br><div> </div>",
    "B": "<b>x</b>",
}
CTX = CardContext(
    fields=FIELDS,
    tags=" animal fr::noun ",
    deck="Languages::French",
    notetype="Basic",
    card="Card 1",
)
PLACEHOLDER = '<span class=type-answer data-field="Back">[type the answer]</span>'


@pytest.mark.parametrize(
    ("template", "html"),
    [
        ("{{Front}}", "chien"),
        ("Q: {{ Front }}!", "Q: chien!"),  # names are trimmed
        ("{{front}}", "{unknown field front}"),  # case-sensitive, as in Anki
        ("{{Nope}}", "{unknown field Nope}"),
        ("{{B}}", "<b>x</b>"),  # field HTML is inserted as is
        ("{{#Front}}has {{Front}}{{/Front}}", "has chien"),
        ("{{#Empty}}hidden{{/Empty}}", ""),
        ("{{#Markup}}hidden{{/Markup}}", ""),  # markup without text counts as empty
        ("{{^Empty}}shown{{/Empty}}", "shown"),
        ("{{^Front}}hidden{{/Front}}", ""),
        ("{{#Front}}a{{#Back}}b{{^Empty}}c{{/Empty}}{{/Back}}{{/Front}}", "abc"),
        ("{{#Front}}a{{#Empty}}b{{/Empty}}c{{/Front}}", "ac"),
        ("{{#Nope}}x{{/Nope}}", "{unknown field Nope}"),
        ("{{^Nope}}x{{/Nope}}", "{unknown field Nope}x"),
        ("{{text:B}}", "x"),
        ("{{text:Markup}}", ""),
        ("{{hint:Back}}", "<span class=hint>dog</span>"),
        ("{{hint:Empty}}", ""),  # no link for nothing
        ("{{text:hint:B}}", "x"),  # right to left: hint first, then text strips it all
        ("{{hint:text:B}}", "<span class=hint>x</span>"),
        ("{{furigana:Front}}", "chien"),  # unknown filters pass the value through
        ("{{ text : B }}", "x"),
        ("{{cloze:Front}}", "chien"),
        ("{{Tags}}", "animal fr::noun"),
        ("{{Deck}}/{{Subdeck}}", "Languages::French/French"),
        ("{{Type}}: {{Card}}", "Basic: Card 1"),
        ("{{#Tags}}tagged{{/Tags}}", "tagged"),
        ("{{FrontSide}}", ""),  # nothing to show on the front itself
        ("{{type:Back}}", PLACEHOLDER),
        ("no fields at all", "no fields at all"),
        ("a }} b", "a }} b"),  # a stray closing brace pair is text
    ],
)
def test_render_front(template, html):
    assert render_front(template, CTX) == html


def test_special_fields_are_escaped():
    """A deck called "<b>" must show its name, not turn the card bold."""
    ctx = CardContext(fields={}, deck="A&B::<b>", tags="x<y")
    assert (
        render_front("{{Deck}}|{{Subdeck}}|{{Tags}}", ctx) == "A&amp;B::&lt;b&gt;|&lt;b&gt;|x&lt;y"
    )


def test_text_filter_keeps_decoded_text_as_text():
    """An entity decoded by {{text:}} must not become live markup again."""
    ctx = CardContext(fields={"F": "&lt;b&gt;bold?"})
    assert render_front("{{text:F}}", ctx) == "&lt;b&gt;bold?"


def test_cloze_filter_uses_the_active_number():
    ctx = CardContext(fields={"Text": "{{c1::a}} {{c2::b}}"}, cloze=2)
    assert render_front("{{cloze:Text}}", ctx) == "a <span class=cloze>[...]</span>"
    assert render_back("{{cloze:Text}}", ctx, "") == "a <span class=cloze>b</span>"


def test_back_shows_front_side():
    front = render_front("{{Front}}", CTX)
    back = render_back("{{FrontSide}}\n\n<hr id=answer>\n\n{{Back}}", CTX, front)
    assert back == "chien\n\n<hr id=answer>\n\ndog"


def test_front_side_drops_the_type_in_box():
    """Anki removes the answer box from {{FrontSide}}: the back shows its own comparison."""
    front = render_front("{{Front}} {{type:Back}}", CTX)
    assert front == f"chien {PLACEHOLDER}"
    assert render_back("{{FrontSide}}|{{type:Back}}", CTX, front) == "chien |dog"


def _typed(typed: str | None, back: str = "dog") -> str:
    ctx = CardContext(fields={"Back": back}, typed=typed)
    return render_back("{{type:Back}}", ctx, "")


@pytest.mark.parametrize(
    ("typed", "back", "html"),
    [
        (None, "dog", "dog"),
        (None, "<b>dog</b> &amp; cat", "dog &amp; cat"),  # stripped, then escaped for HTML
        ("", "dog", "dog"),  # nothing typed: just the answer, as Anki shows it
        ("dog", "dog", "<span class=typeGood>dog</span>"),
        ("  dog ", "<i>dog</i>", "<span class=typeGood>dog</span>"),
        ("big  dog", "big<br>dog", "<span class=typeGood>big dog</span>"),
        ("Dog", "dog", "<span class=typeBad>Dog</span> → <span class=typeGood>dog</span>"),
        (
            "<cat>",
            "dog",
            "<span class=typeBad>&lt;cat&gt;</span> → <span class=typeGood>dog</span>",
        ),
        ("e\u0301", "\u00e9", "<span class=typeGood>\u00e9</span>"),  # Unicode-normalised
    ],
)
def test_type_answer_on_the_back(typed, back, html):
    assert _typed(typed, back) == html


@pytest.mark.parametrize(
    ("text", "number", "typed", "html"),
    [
        ("{{c1::Paris}} in {{c2::France}}", 1, "Paris", "<span class=typeGood>Paris</span>"),
        ("{{c1::Paris}} in {{c2::France}}", 2, None, "France"),
        ("{{c1::a}} {{c1::b}}", 1, "a, b", "<span class=typeGood>a, b</span>"),
        ("{{c1::a}} {{c1::a}}", 1, "a", "<span class=typeGood>a</span>"),  # repeats count once
        (
            "{{c1::Paris::city}}",
            1,
            "Lyon",
            "<span class=typeBad>Lyon</span> → <span class=typeGood>Paris</span>",
        ),
    ],
)
def test_type_cloze_answer(text, number, typed, html):
    ctx = CardContext(fields={"Text": text}, cloze=number, typed=typed)
    front = render_front("{{cloze:Text}}{{type:cloze:Text}}", ctx)
    assert front.endswith('<span class=type-answer data-field="Text">[type the answer]</span>')
    assert render_back("{{type:cloze:Text}}", ctx, front) == html


def test_type_answer_of_an_unknown_field_is_marked():
    assert render_front("{{type:Nope}}", CTX) == "{unknown field Nope}"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{#A}}x{{/B}}", "closes {{/B}} but the open section is {{#A}}"),
        ("{{^A}}x{{/B}}", "closes {{/B}} but the open section is {{^A}}"),
        ("{{#A}}{{#B}}x{{/A}}{{/B}}", "closes {{/A}} but the open section is {{#B}}"),
        ("{{#A}}never closed", "opens {{#A}} but never closes it with {{/A}}"),
        ("x{{/A}}", "closes {{/A}} but no section is open"),
        ("{{Front", "without a closing '}}'"),
        ("{{Front}} {{Back", "without a closing '}}'"),
        ("{{#}}x{{/}}", "without a field name"),
    ],
)
def test_malformed_templates_raise(template, message):
    """Templates are user-edited, so mistakes must come back as a clear InvalidInput."""
    with pytest.raises(InvalidInput, match=re.escape(message)) as e:
        render_front(template, CTX)
    assert e.value.hint
    with pytest.raises(InvalidInput):
        front_is_nonempty(template, FIELDS)


@pytest.mark.parametrize(
    ("template", "fields", "nonempty"),
    [
        ("{{Front}}", {"Front": "x"}, True),
        ("{{Front}}", {"Front": ""}, False),
        ("{{Front}}", {"Front": " <br> &nbsp; "}, False),
        ("{{Front}}", {"Front": '<img src="a.png">'}, True),  # an image is content
        ("{{Front}}", {"Front": "[sound:a.mp3]"}, True),
        ("{{Front}}", {}, False),
        ("Question: {{Front}}", {"Front": ""}, False),  # static text never counts
        ("just text", {"Front": "x"}, False),
        ("{{FrontSide}}{{Tags}}{{Deck}}{{Card}}", {"Front": "x"}, False),
        ("{{text:Front}}", {"Front": "x"}, True),
        ("{{#Add Reverse}}{{Back}}{{/Add Reverse}}", {"Add Reverse": "y", "Back": "b"}, True),
        ("{{#Add Reverse}}{{Back}}{{/Add Reverse}}", {"Add Reverse": "", "Back": "b"}, False),
        ("{{#Add Reverse}}{{Back}}{{/Add Reverse}}", {"Add Reverse": "y", "Back": ""}, False),
        ("{{#Add Reverse}}static{{/Add Reverse}}", {"Add Reverse": "y"}, False),
        ("{{^Hide}}{{Back}}{{/Hide}}", {"Hide": "", "Back": "b"}, True),
        ("{{^Hide}}{{Back}}{{/Hide}}", {"Hide": "y", "Back": "b"}, False),
        ("{{#A}}{{#B}}{{C}}{{/B}}{{/A}}", {"A": "1", "B": "1", "C": "1"}, True),
        ("{{#A}}{{#B}}{{C}}{{/B}}{{/A}}", {"A": "1", "B": "", "C": "1"}, False),
        ("{{#A}}{{A}}{{/A}}{{B}}", {"A": "", "B": ""}, False),
        ("{{#A}}{{A}}{{/A}}{{B}}", {"A": "", "B": "b"}, True),
        ("{{Front}}\n\n{{type:Back}}", {"Front": "", "Back": "b"}, True),
    ],
)
def test_front_is_nonempty(template, fields, nonempty):
    assert front_is_nonempty(template, fields) is nonempty


@pytest.mark.parametrize(
    ("value", "empty"),
    [
        ("", True),
        ("   ", True),
        ("\xa0", True),
        ("&nbsp;", True),
        ("<br>", True),
        ("<div><br/></div>", True),
        ("<b> </b>", True),
        ("0", False),
        ("<b>x</b>", False),
        ("<img src=x.png>", False),
        ("<video src=v.mp4></video>", False),
        ("&amp;", False),
    ],
)
def test_field_is_empty(value, empty):
    assert field_is_empty(value) is empty


@pytest.mark.parametrize(
    ("template", "field"),
    [
        ("{{Front}}\n\n{{type:Back}}", "Back"),
        ("{{cloze:Text}}{{type:cloze:Text}}", "Text"),
        ("{{ type : Answer }}", "Answer"),
        ("{{Front}}", None),
        ("{{text:type}}", None),  # a field called "type" is not a type-in
        ("{{type:A}} {{type:B}}", "A"),
    ],
)
def test_type_answer_field(template, field):
    assert type_answer_field(template) == field


@pytest.mark.parametrize(
    ("template", "fields"),
    [
        ("{{Front}}", {"Front"}),
        ("{{FrontSide}}<hr>{{Back}}", {"Back"}),
        ("{{#Add Reverse}}{{text:Back}}{{/Add Reverse}}", {"Add Reverse", "Back"}),
        ("{{^Hide}}{{hint:text:Extra}}{{/Hide}}", {"Hide", "Extra"}),
        ("{{Tags}} {{Deck}} {{Subdeck}} {{Type}} {{Card}}", set()),
        ("{{type:cloze:Text}}", {"Text"}),
        ("plain", set()),
    ],
)
def test_referenced_fields(template, fields):
    assert referenced_fields(template) == fields


def test_cloze_fields():
    assert cloze_fields("{{cloze:Text}} {{type:cloze:Text}} {{cloze:More}} {{Other}}") == [
        "Text",
        "More",
    ]


@pytest.mark.parametrize(
    ("template", "renamed"),
    [
        ("{{Old}}", "{{New}}"),
        ("{{ Old }}", "{{ New }}"),
        ("{{#Old}}x{{/Old}}", "{{#New}}x{{/New}}"),
        ("{{ ^ Old }}x{{/ Old }}", "{{ ^ New }}x{{/ New }}"),
        ("{{text:Old}} {{hint: Old}}", "{{text:New}} {{hint: New}}"),
        ("{{type:cloze:Old}}", "{{type:cloze:New}}"),
        ("{{Older}} {{old}} {{Old:x}} Old", "{{Older}} {{old}} {{Old:x}} Old"),  # only exact refs
        ("<b>{{Old}}</b>\n{{Other}}", "<b>{{New}}</b>\n{{Other}}"),
    ],
)
def test_rename_field_references(template, renamed):
    assert rename_field_references(template, "Old", "New") == renamed


@pytest.mark.parametrize("bad", ["", " New", "a:b", "#x", "^x", "/x", "{x}", 'q"'])
def test_rename_refuses_names_templates_cannot_hold(bad):
    with pytest.raises(InvalidInput):
        rename_field_references("{{Old}}", "Old", bad)


def test_renamed_template_renders_the_same():
    template = "{{#Old}}<i>{{text:Old}}</i>{{/Old}}{{^Old}}none{{/Old}}"
    renamed = rename_field_references(template, "Old", "New Name")
    old_ctx = CardContext(fields={"Old": "<b>v</b>"})
    new_ctx = CardContext(fields={"New Name": "<b>v</b>"})
    assert render_front(renamed, new_ctx) == render_front(template, old_ctx) == "<i>v</i>"


_name = st.text(alphabet="abcXYZ _", min_size=1, max_size=6).filter(lambda s: s.strip() == s)
_value = st.sampled_from(["", "x", "<br>", "<b>y</b>", " "])


@given(st.dictionaries(_name, _value, min_size=1, max_size=4), st.data())
def test_nonempty_front_shows_field_text(fields, data):
    """A front that generates a card must show some field's text when rendered (no static text)."""
    names = sorted(fields)
    keys = data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=3))
    guard = data.draw(st.sampled_from(names))
    inverted = data.draw(st.booleans())
    sigil = "^" if inverted else "#"
    template = "".join(f"{{{{{k}}}}}" for k in keys[:-1])
    template += f"{{{{{sigil}{guard}}}}}{{{{{keys[-1]}}}}}{{{{/{guard}}}}}"
    rendered = render_front(template, CardContext(fields=fields))
    assert front_is_nonempty(template, fields) is not field_is_empty(rendered)
