"""`flipdeck card …`: listing with the search language, the documented JSON, and every action."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

DOCUMENTED = {
    "id",
    "note_id",
    "deck",
    "state",
    "due",
    "stability",
    "difficulty",
    "lapses",
    "reviews",
    "suspended",
    "flag",
}


@pytest.fixture
def three(cli) -> list[str]:
    """Three Basic notes in Lang, tagged num; returns their card ids in order."""
    cli.add_notes("Lang", ("uno", "one"), ("dos", "two"), ("tres", "three"), tags="num")
    return cli.ids("deck:Lang")


def day_start(clock, days: int) -> str:
    """When the learning day ``days`` after the clock's begins (UTC, 04:00 rollover)."""
    now = datetime.fromtimestamp(clock.ms / 1000, UTC)
    day = (now - timedelta(hours=4)).date() + timedelta(days=days)
    return f"{day.isoformat()}T04:00:00Z"


def test_list_json_has_documented_fields(cli, three):
    cards = cli.ok("card", "list", "deck:Lang", "--json").json()
    assert len(cards) == 3
    first = cards[0]
    assert set(first) >= DOCUMENTED
    assert first | {"id": None, "note_id": None, "deck_id": None} == {
        "id": None,
        "note_id": None,
        "deck_id": None,
        "deck": "Lang",
        "card": "Card 1",
        "state": "new",
        "due": None,
        "interval": 0,
        "stability": None,
        "difficulty": None,
        "lapses": 0,
        "reviews": 0,
        "suspended": False,
        "buried": False,
        "flag": 0,
        "tags": ["num"],
        "question": "uno",
        "last_review": None,
    }
    assert [c["question"] for c in cards] == ["uno", "dos", "tres"]


def test_list_json_after_answer(cli, three, clock):
    cli.ok("review", three[0], "--rating", "good")
    [card] = cli.ok("card", "list", "uno", "--json").json()
    assert card["state"] == "learning"
    assert card["reviews"] == 1
    assert card["lapses"] == 0
    assert card["stability"] > 0
    assert 1 <= card["difficulty"] <= 10
    now = datetime.fromtimestamp(clock.ms / 1000, UTC)
    assert card["last_review"] == now.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert card["due"] == (now + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_list_empty_result_is_empty_json_list(cli, three):
    outcome = cli("card", "list", "tag:nothing", "--json")
    assert outcome.exit_code == 0
    assert outcome.stdout == "[]\n"
    assert outcome.stderr == ""


def test_list_piped_is_tab_separated_with_full_ids(cli, three):
    lines = cli.ok("card", "list", "tag:num").stdout.splitlines()
    assert [line.split("\t") for line in lines] == [
        [three[0], "Lang", "new", "", "uno"],
        [three[1], "Lang", "new", "", "dos"],
        [three[2], "Lang", "new", "", "tres"],
    ]


def test_list_limit(cli, three):
    assert cli.ok("card", "list", "--limit", "2", "--json").json()[1]["id"] == three[1]
    assert len(cli.ok("card", "list", "--limit", "2", "--json").json()) == 2
    outcome = cli("card", "list", "--limit", "-1")
    assert outcome.exit_code == 2
    assert outcome.stdout == ""


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("uno", ["uno"]),
        ("tag:num -uno", ["dos", "tres"]),
        ("uno or tres", ["uno", "tres"]),
        ("front:d*", ["dos"]),
        ("back:three", ["tres"]),
        ("deck:Lang is:new", ["uno", "dos", "tres"]),
        ("deck:Other", []),
        ("(uno or dos) -dos", ["uno"]),
    ],
)
def test_list_search_language(cli, three, query, expected):
    found = cli.ok("card", "list", query, "--json").json()
    assert [c["question"] for c in found] == expected


def test_invalid_query_points_at_the_column(cli, three):
    outcome = cli("card", "list", "tag:num (dog")
    assert outcome.exit_code == 2
    assert outcome.stdout == ""
    lines = outcome.stderr.splitlines()
    assert lines[0] == "  tag:num (dog"
    assert lines[1] == "  " + " " * len("tag:num ") + "^"
    assert lines[2] == "error: this '(' is never closed"


def test_show_json(cli, three):
    cli.ok("review", three[0], "--rating", "again")
    data = cli.card(three[0])
    assert set(data) >= DOCUMENTED
    assert data["id"] == three[0]
    assert (data["state"], data["reviews"], data["question"]) == ("learning", 1, "uno")
    assert 0 < data["retrievability"] <= 1
    [event] = data["history"]
    assert set(event) == {"id", "reviewed_at", "rating", "kind"}
    assert (event["rating"], event["kind"]) == ("again", "learn")


@pytest.mark.parametrize("how", ["prefix", "query"])
def test_show_by_prefix_or_query(cli, three, how):
    ref = three[1][:8] if how == "prefix" else "front:dos"
    assert cli.card(ref)["id"] == three[1]


def test_show_query_matching_several_is_refused(cli, three):
    outcome = cli("card", "show", "tag:num")
    assert outcome.exit_code == 1
    assert outcome.stdout == ""
    assert "3 cards match 'tag:num'; give one card id" in outcome.stderr


def test_show_unknown_card(cli, three):
    outcome = cli("card", "show", "0123456789abcdef", "--json")
    assert outcome.exit_code == 1
    assert outcome.stdout == ""
    assert outcome.error()["code"] == "not_found"


def test_show_piped(cli, three):
    outcome = cli.ok("card", "show", three[0])
    assert outcome.stdout.startswith("uno\n")
    assert "\none\n" in outcome.stdout
    assert f"\nid\t{three[0]}\n" in outcome.stdout
    assert "\nstate\tnew\n" in outcome.stdout
    assert "\ntags\tnum\n" in outcome.stdout


def test_edit_fields_and_move(cli, three):
    cli.ok("deck", "create", "Other")
    outcome = cli("card", "edit", three[0], "--deck", "Other", "--field", "Back=ONE")
    assert outcome.exit_code == 0
    assert outcome.stderr == "Moved to Other.\nSaved.\n"
    assert cli.card(three[0])["deck"] == "Other"
    assert cli.ok("note", "show", three[0], "--json").json()["fields"]["Back"] == "ONE"


def test_edit_in_editor(cli, three, editor):
    command, seen = editor(("two", "TWO"))
    outcome = cli("card", "edit", "front:dos", env={"EDITOR": command})
    assert outcome.exit_code == 0
    assert outcome.stderr == "Saved.\n"
    assert "## Back\ntwo\n" in seen()[0]
    assert cli.ok("note", "show", three[1], "--json").json()["fields"]["Back"] == "TWO"


def test_edit_to_unknown_deck(cli, three):
    outcome = cli("card", "edit", three[0], "--deck", "Nope")
    assert outcome.exit_code == 1
    assert "no deck named 'Nope'" in outcome.stderr
    assert cli.card(three[0])["deck"] == "Lang"


def test_suspend_and_unsuspend(cli, three):
    outcome = cli("card", "suspend", "uno or dos", "--json")
    assert outcome.exit_code == 0
    assert outcome.json() == {"matched": 2, "changed": 2}
    assert [c["question"] for c in cli.ok("card", "list", "is:suspended", "--json").json()] == [
        "uno",
        "dos",
    ]
    assert cli.card(three[0])["suspended"] is True
    again = cli("card", "suspend", three[0])
    assert again.stderr == "Suspended 0 of 1 card(s).\n"
    outcome = cli("card", "unsuspend", "tag:num")
    assert outcome.stderr == "Unsuspended 2 of 3 card(s).\n"
    assert cli.ids("is:suspended") == []


def test_flag(cli, three):
    assert cli.ok("card", "flag", three[2], "3", "--json").json() == {"matched": 1, "changed": 1}
    assert cli.card(three[2])["flag"] == 3
    assert cli.ids("flag:3") == [three[2]]
    cli.ok("card", "flag", three[2], "0")
    assert cli.card(three[2])["flag"] == 0
    outcome = cli("card", "flag", three[2], "9")
    assert outcome.exit_code == 1
    assert "flags are 0–7" in outcome.stderr


def test_bury_and_unbury(cli, three):
    outcome = cli("card", "bury", "dos")
    assert outcome.exit_code == 0
    assert outcome.stderr == "Buried 1 of 1 card(s).\n"
    assert cli.card(three[1])["buried"] is True
    assert cli.ids("is:buried") == [three[1]]
    new_count = {d["name"]: d["new"] for d in cli.decks()}["Lang"]
    assert new_count == 2
    assert cli.ok("card", "bury", "dos", "--undo", "--json").json() == {
        "matched": 1,
        "changed": 1,
    }
    assert cli.ids("is:buried") == []


def test_bury_ends_at_next_rollover(cli, three, clock):
    cli.ok("card", "bury", three[0])
    clock.advance(hours=15, minutes=59)  # 03:59 next morning: still buried
    assert cli.card(three[0])["buried"] is True
    clock.advance(minutes=1)  # 04:00: a new learning day
    assert cli.card(three[0])["buried"] is False


def test_forget_resets_to_new_and_keeps_history(cli, three):
    cli.ok("review", three[0], "--rating", "good")
    outcome = cli("card", "forget", three[0])
    assert outcome.exit_code == 0
    assert outcome.stderr == "Reset 1 card(s) to new.\n"
    data = cli.card(three[0])
    assert (data["state"], data["due"], data["stability"]) == ("new", None, None)
    assert data["reviews"] == 1
    assert [h["rating"] for h in data["history"]] == ["good", "manual"]


def test_forget_many_needs_yes(cli, three):
    for card in three:
        cli.ok("review", card, "--rating", "easy")
    outcome = cli("card", "forget", "tag:num")
    assert outcome.exit_code == 1
    assert "--yes" in outcome.stderr
    assert cli.ok("card", "forget", "tag:num", "--yes", "--json").json() == {
        "matched": 3,
        "changed": 3,
    }


def test_set_due_days(cli, three, clock):
    assert cli.ok("card", "set-due", three[0], "3", "--json").json() == {
        "matched": 1,
        "changed": 1,
    }
    data = cli.card(three[0])
    assert (data["state"], data["due"]) == ("review", day_start(clock, 3))
    assert cli.ids("prop:due=3") == [three[0]]
    assert cli.ids("is:due") == []
    cli.ok("card", "set-due", three[1], "0")
    assert cli.ids("is:due") == [three[1]]


def test_set_due_range_and_date(cli, three, clock):
    outcome = cli("card", "set-due", "tag:num", "2-5")
    assert outcome.exit_code == 0
    assert outcome.stderr == "Rescheduled 3 card(s).\n"
    allowed = {day_start(clock, d) for d in range(2, 6)}
    assert all(cli.card(cid)["due"] in allowed for cid in three)
    cli.ok("card", "set-due", three[2], "2027-01-15")
    assert cli.card(three[2])["due"] == "2027-01-15T04:00:00Z"


@pytest.mark.parametrize(
    ("value", "message"), [("2027-02-30", "not a date"), ("soon", "not a number of days")]
)
def test_set_due_invalid(cli, three, value, message):
    outcome = cli("card", "set-due", three[0], value)
    assert outcome.exit_code == 1
    assert message in outcome.stderr
    assert cli.card(three[0])["state"] == "new"


def test_delete_one_card_and_its_note(cli, three):
    outcome = cli("card", "delete", three[0], "--json")
    assert outcome.exit_code == 0
    assert outcome.json() == {"matched": 1, "changed": 1}
    assert cli.ids() == three[1:]
    assert cli.ok("note", "list", "uno", "--json").json() == []


def test_delete_many_needs_yes_without_terminal(cli, three):
    outcome = cli("card", "delete", "tag:num")
    assert outcome.exit_code == 1
    assert outcome.stdout == ""
    assert "refusing to ask for confirmation without a terminal" in outcome.stderr
    assert "hint: Pass --yes to proceed." in outcome.stderr
    assert cli.ids() == three
    outcome = cli("card", "delete", "tag:num", "--yes")
    assert outcome.exit_code == 0
    assert outcome.stderr == "Deleted 3 card(s).\n"
    assert cli.ids() == []


@pytest.mark.parametrize(
    "action",
    [
        ["suspend"],
        ["unsuspend"],
        ["flag", "QUERY", "1"],
        ["bury"],
        ["forget"],
        ["set-due", "QUERY", "1"],
        ["delete", "QUERY", "--yes"],
    ],
    ids=lambda a: a[0],
)
def test_actions_with_no_match(cli, three, action):
    args = [a if a != "QUERY" else "tag:nothing" for a in action]
    if "tag:nothing" not in args:
        args.append("tag:nothing")
    outcome = cli("card", *args)
    assert outcome.exit_code == 1
    assert outcome.stdout == ""
    assert "error: no cards match 'tag:nothing'" in outcome.stderr


COLOUR = re.compile(r"\x1b\[(?:\d+;)*(?:3[0-7]|9[0-7]|38)[;m]")


def test_colour_follows_no_color_and_force_color(cli, three):
    """Piped output is plain; FORCE_COLOR colours it; NO_COLOR wins (bold may stay)."""
    plain = cli.ok("card", "show", three[0]).stdout
    assert "\x1b[" not in plain
    forced = cli.ok("card", "show", three[0], env={"FORCE_COLOR": "1"}).stdout
    assert COLOUR.search(forced)
    both = cli.ok("card", "show", three[0], env={"FORCE_COLOR": "1", "NO_COLOR": "1"}).stdout
    assert not COLOUR.search(both)
    assert "uno" in both


def test_card_text_is_never_rich_markup(cli):
    """Brackets in a card are text: `[bold]` is printed as typed, not swallowed as markup."""
    card_id = cli.ok("add", "[bold]x[/bold] <b>y</b>", "[red]back", "--json").json()[0]
    text = cli.ok("card", "show", card_id["card_ids"][0]).stdout
    assert text.startswith("[bold]x[/bold] y\n")
    assert "[red]back" in text


def test_forget_a_new_card_changes_nothing(cli, three):
    assert cli.ok("card", "forget", three[0], "--json").json() == {"matched": 1, "changed": 0}
    assert cli.card(three[0])["history"] == []
