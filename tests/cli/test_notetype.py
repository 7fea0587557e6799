"""`flipdeck notetype …`: note types, their fields and card templates, changed in place."""

from __future__ import annotations

import pytest


@pytest.fixture
def vocab(cli) -> dict:
    """A note type Vocab (Word, Meaning) with one note, perro/dog."""
    data = cli.ok(
        "notetype", "create", "Vocab", "--field", "Word", "-f", "Meaning", "--json"
    ).json()
    cli.ok("add", "--type", "Vocab", "perro", "dog")
    return data


def show(cli, name: str = "Vocab") -> dict:
    return cli.ok("notetype", "show", name, "--json").json()


def names(items: list[dict]) -> list[str]:
    return [item["name"] for item in items]


def test_list_has_the_stock_types(cli):
    data = cli.ok("notetype", "list", "--json").json()
    assert names(data) == [
        "Basic",
        "Basic (and reversed card)",
        "Basic (optional reversed card)",
        "Basic (type in the answer)",
        "Cloze",
    ]
    cloze = data[-1]
    assert set(cloze) == {"id", "name", "kind", "fields", "templates", "notes"}
    assert (cloze["kind"], names(cloze["fields"]), cloze["notes"]) == (
        "cloze",
        ["Text", "Back Extra"],
        0,
    )


def test_list_piped(cli, vocab):
    lines = cli.ok("notetype", "list").stdout.splitlines()
    assert "Vocab\tstandard\tWord, Meaning\t1\t1" in lines
    assert "Basic\tstandard\tFront, Back\t1\t0" in lines


def test_create_with_fields(cli, vocab):
    assert vocab["name"] == "Vocab"
    assert vocab["kind"] == "standard"
    assert names(vocab["fields"]) == ["Word", "Meaning"]
    [template] = vocab["templates"]
    assert (template["name"], template["front"]) == ("Card 1", "{{Word}}")
    assert template["back"].endswith("{{Meaning}}")
    assert show(cli)["notes"] == 1
    note = cli.ok("note", "list", "note:Vocab", "--json").json()[0]
    assert note["fields"] == {"Word": "perro", "Meaning": "dog"}


def test_create_cloze_and_copy(cli, vocab):
    cloze = cli.ok("notetype", "create", "MyCloze", "--cloze", "-f", "Text", "--json").json()
    assert cloze["kind"] == "cloze"
    assert cloze["templates"][0]["front"] == "{{cloze:Text}}"
    copy = cli.ok("notetype", "create", "Vocab 2", "--copy", "Vocab", "--json").json()
    assert names(copy["fields"]) == ["Word", "Meaning"]
    assert copy["templates"][0]["front"] == "{{Word}}"
    assert copy["id"] != vocab["id"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Nothing"], "give --field NAME for each field, or --copy NOTETYPE"),
        (["Basic", "-f", "A"], "there is already a note type named 'Basic'"),
        (["X", "-f", "A", "-f", "a"], "there is already a field named 'a'"),
        (["X", "-f", "{{A}}"], "field names cannot contain"),
        (["X", "--copy", "Nope"], "no note type named 'Nope'"),
    ],
    ids=["no-fields", "taken", "duplicate-field", "bad-field", "unknown-copy"],
)
def test_create_refused(cli, args, message):
    outcome = cli("notetype", "create", *args)
    assert outcome.exit_code == 1
    assert outcome.stdout == ""
    assert f"error: {message}" in outcome.stderr
    assert len(cli.ok("notetype", "list", "--json").json()) == 5


def test_show_piped(cli, vocab):
    text = cli.ok("notetype", "show", "vocab").stdout
    assert text.startswith("Vocab (standard, 1 notes)\nFields: Word, Meaning\n")
    assert "Front:\n{{Word}}\n" in text


def test_rename(cli, vocab):
    outcome = cli("notetype", "rename", "Vocab", "Words")
    assert outcome.exit_code == 0
    assert outcome.stderr == "Renamed to Words.\n"
    assert show(cli, "Words")["id"] == vocab["id"]
    assert cli.ok("note", "list", "note:Words", "--json").json()[0]["notetype"] == "Words"


def test_add_field(cli, vocab):
    data = cli.ok("notetype", "add-field", "Vocab", "Example", "--json").json()
    assert names(data["fields"]) == ["Word", "Meaning", "Example"]
    data = cli.ok("notetype", "add-field", "Vocab", "Gender", "--position", "2", "--json").json()
    assert names(data["fields"]) == ["Word", "Gender", "Meaning", "Example"]
    note = cli.ok("note", "list", "note:Vocab", "--json").json()[0]
    assert note["fields"] == {"Word": "perro", "Gender": "", "Meaning": "dog", "Example": ""}
    cli.ok("note", "edit", note["id"], "-f", "Example=el perro ladra")
    assert cli.ok("note", "show", note["id"], "--json").json()["fields"]["Example"] == (
        "el perro ladra"
    )


def test_rename_field_updates_templates(cli, vocab):
    outcome = cli("notetype", "rename-field", "Vocab", "Meaning", "Gloss")
    assert outcome.exit_code == 0
    assert outcome.stderr == "Renamed field Meaning to Gloss.\n"
    data = show(cli)
    assert names(data["fields"]) == ["Word", "Gloss"]
    assert data["templates"][0]["back"].endswith("{{Gloss}}")
    assert "Meaning" not in data["templates"][0]["back"]
    card_id = cli.ids("note:Vocab")[0]
    assert "dog" in cli.ok("card", "show", card_id).stdout
    assert cli.ok("note", "show", card_id, "--json").json()["fields"] == {
        "Word": "perro",
        "Gloss": "dog",
    }


def test_remove_field(cli, vocab):
    cli.ok("notetype", "add-field", "Vocab", "Example")
    data = cli.ok("notetype", "remove-field", "Vocab", "Example", "--json").json()
    assert names(data["fields"]) == ["Word", "Meaning"]
    note = cli.ok("note", "list", "note:Vocab", "--json").json()[0]
    assert note["fields"] == {"Word": "perro", "Meaning": "dog"}


def test_remove_last_field_refused(cli):
    cli.ok("notetype", "create", "One", "-f", "Only")
    outcome = cli("notetype", "remove-field", "One", "Only")
    assert outcome.exit_code == 1
    assert "must keep at least one field" in outcome.stderr


def test_reorder_fields(cli, vocab):
    data = cli.ok("notetype", "reorder-fields", "Vocab", "Meaning", "Word", "--json").json()
    assert names(data["fields"]) == ["Meaning", "Word"]
    note = cli.ok("note", "list", "note:Vocab", "--json").json()[0]
    assert list(note["fields"]) == ["Meaning", "Word"]
    outcome = cli("notetype", "reorder-fields", "Vocab", "Word")
    assert outcome.exit_code == 1
    assert "name every field exactly once" in outcome.stderr
    assert "hint: Fields now: Meaning, Word." in outcome.stderr


def test_add_template_generates_cards_for_existing_notes(cli, vocab):
    assert len(cli.ids("note:Vocab")) == 1
    data = cli.ok(
        "notetype",
        "add-template",
        "Vocab",
        "Reverse",
        "--front",
        "{{Meaning}}",
        "--back",
        "{{FrontSide}}<hr id=answer>{{Word}}",
        "--json",
    ).json()
    assert names(data["templates"]) == ["Card 1", "Reverse"]
    cards = cli.ok("card", "list", "note:Vocab", "--json").json()
    assert [(c["card"], c["question"]) for c in cards] == [("Card 1", "perro"), ("Reverse", "dog")]
    assert cards[1]["deck"] == cards[0]["deck"]


def test_add_template_with_unknown_field_refused(cli, vocab):
    outcome = cli("notetype", "add-template", "Vocab", "Bad", "--front", "{{Nope}}")
    assert outcome.exit_code == 1
    assert "unknown field(s): Nope" in outcome.stderr
    assert names(show(cli)["templates"]) == ["Card 1"]
    assert len(cli.ids("note:Vocab")) == 1


def test_edit_template(cli, vocab):
    cli.ok("notetype", "add-template", "Vocab", "Reverse", "--front", "{{Meaning}}")
    data = cli.ok(
        "notetype",
        "edit-template",
        "Vocab",
        "Reverse",
        "--front",
        "{{Meaning}}?",
        "--rename",
        "Recall",
        "--json",
    ).json()
    assert [(t["name"], t["front"]) for t in data["templates"]] == [
        ("Card 1", "{{Word}}"),
        ("Recall", "{{Meaning}}?"),
    ]
    questions = [c["question"] for c in cli.ok("card", "list", "note:Vocab", "--json").json()]
    assert questions == ["perro", "dog?"]


def test_edit_unknown_template(cli, vocab):
    outcome = cli("notetype", "edit-template", "Vocab", "Nope", "--front", "x")
    assert outcome.exit_code == 1
    assert outcome.stdout == ""
    assert "Nope" in outcome.stderr


def test_remove_template_deletes_its_cards(cli, vocab):
    cli.ok("notetype", "add-template", "Vocab", "Reverse", "--front", "{{Meaning}}")
    outcome = cli("notetype", "remove-template", "Vocab", "Reverse")
    assert outcome.exit_code == 0
    assert outcome.stderr == "Removed template Reverse and 1 card(s).\n"
    assert [c["card"] for c in cli.ok("card", "list", "note:Vocab", "--json").json()] == ["Card 1"]


def test_delete_unused_only(cli, vocab):
    outcome = cli("notetype", "delete", "Vocab")
    assert outcome.exit_code == 1
    assert "1 note(s) use 'Vocab'" in outcome.stderr
    cli.ok("notetype", "create", "Unused", "-f", "A")
    outcome = cli("notetype", "delete", "Unused")
    assert outcome.exit_code == 0
    assert "Unused" not in names(cli.ok("notetype", "list", "--json").json())


@pytest.mark.parametrize(
    "args",
    [
        ["show", "Nope"],
        ["rename", "Nope", "X"],
        ["add-field", "Nope", "X"],
        ["rename-field", "Nope", "A", "B"],
        ["remove-field", "Nope", "A"],
        ["reorder-fields", "Nope", "A"],
        ["add-template", "Nope", "T", "--front", "x"],
        ["edit-template", "Nope", "T"],
        ["remove-template", "Nope", "T"],
        ["delete", "Nope"],
    ],
    ids=lambda a: a[0],
)
def test_unknown_notetype(cli, args):
    outcome = cli("notetype", *args)
    assert outcome.exit_code == 1
    assert outcome.stdout == ""
    assert "error: no note type named 'Nope'" in outcome.stderr
