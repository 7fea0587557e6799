"""`flipdeck review`: answers from scripts, one on the command line or many from stdin, where
every line is recorded in one transaction or none is."""

from __future__ import annotations

import pytest


@pytest.fixture
def three(cli) -> list[str]:
    cli.add_notes("Lang", ("uno", "one"), ("dos", "two"), ("tres", "three"))
    return cli.ids("deck:Lang")


def times(cli, card_id: str) -> list[tuple[str, str]]:
    return [(h["reviewed_at"], h["rating"]) for h in cli.card(card_id)["history"]]


def test_one_answer(cli, three):
    outcome = cli("review", three[0], "--rating", "good")
    assert outcome.exit_code == 0
    assert outcome.stdout == ""
    assert outcome.stderr == "Recorded 1 answer(s).\n"
    data = cli.card(three[0])
    assert (data["reviews"], data["state"]) == (1, "learning")


def test_one_answer_json(cli, three):
    data = cli.ok("review", three[0], "-r", "easy", "--json").json()
    assert set(data) == {"card_id", "review_id", "state", "due", "interval", "leech"}
    assert (data["card_id"], data["state"], data["leech"]) == (three[0], "review", False)
    assert data["interval"] >= 1
    card = cli.card(three[0])
    assert card["due"] == data["due"]
    assert card["history"][0]["id"] == data["review_id"]


@pytest.mark.parametrize(
    ("given", "name"),
    [
        ("1", "again"),
        ("2", "hard"),
        ("3", "good"),
        ("4", "easy"),
        ("Again", "again"),
        ("HARD", "hard"),
        ("good", "good"),
        ("Easy", "easy"),
    ],
)
def test_rating_spellings(cli, three, given, name):
    cli.ok("review", three[0], "--rating", given)
    assert [h["rating"] for h in cli.card(three[0])["history"]] == [name]


@pytest.mark.parametrize(
    ("at", "recorded"),
    [
        ("2025-11-30T09:30:00Z", "2025-11-30T09:30:00Z"),
        ("2025-11-30T11:30:00+02:00", "2025-11-30T09:30:00Z"),
        ("2025-11-30T09:30:00", "2025-11-30T09:30:00Z"),
    ],
    ids=["z", "offset", "naive-is-utc"],
)
def test_answer_at_a_given_time(cli, three, at, recorded):
    cli.ok("review", three[0], "--rating", "good", "--at", at)
    assert times(cli, three[0]) == [(recorded, "good")]


def test_prefix_id(cli, three):
    cli.ok("review", three[1][:10], "--rating", "hard")
    assert cli.card(three[1])["reviews"] == 1


def test_from_stdin_one_transaction(cli, three, monkeypatch):
    from flipdeck.store.collection import Collection

    begun: list[int] = []
    original = Collection.transaction

    def counting(self):
        if not self._depth:
            begun.append(1)
        return original(self)

    monkeypatch.setattr(Collection, "transaction", counting)
    lines = (
        "# answers exported from my phone\n"
        f"{three[0]} good 2025-11-30T09:00:00Z\n"
        "\n"
        f"{three[1]} again 2025-11-30T09:01:00+00:00\n"
        f"{three[0]} 3 2025-11-30T09:11:00Z\n"
        f"{three[2][:8]} easy\n"
    )
    outcome = cli("review", "--from", "-", "--json", input=lines)
    assert outcome.exit_code == 0
    assert len(begun) == 1
    results = outcome.json()
    assert [r["card_id"] for r in results] == [three[0], three[1], three[0], three[2]]
    assert [r["state"] for r in results] == ["learning", "learning", "review", "review"]
    assert times(cli, three[0]) == [
        ("2025-11-30T09:00:00Z", "good"),
        ("2025-11-30T09:11:00Z", "good"),
    ]
    assert times(cli, three[1]) == [("2025-11-30T09:01:00Z", "again")]
    assert cli.card(three[2])["reviews"] == 1


def test_from_stdin_human_output(cli, three):
    outcome = cli("review", "--from", "-", input=f"{three[0]} good\n{three[1]} good\n")
    assert outcome.exit_code == 0
    assert outcome.stdout == ""
    assert outcome.stderr == "Recorded 2 answer(s).\n"


def test_answers_out_of_order_are_folded_in_time_order(cli, three):
    """A late-arriving earlier answer is placed in the history where it belongs."""
    cli.ok("review", three[0], "-r", "good", "--at", "2025-11-30T10:00:00Z")
    cli.ok("review", "--from", "-", input=f"{three[0]} again 2025-11-30T09:00:00Z\n")
    assert times(cli, three[0]) == [
        ("2025-11-30T09:00:00Z", "again"),
        ("2025-11-30T10:00:00Z", "good"),
    ]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("{card} meh 2025-11-30T09:02:00Z", "line 3: not a rating: 'meh'; nothing was recorded"),
        (
            "{card} good yesterday",
            "line 3: not an ISO-8601 time: 'yesterday'; nothing was recorded",
        ),
        ("0123456789ab good", "line 3: no card with id 0123456789ab; nothing was recorded"),
        ("{card} good 2025-11-30T09:02:00Z extra", "line 3: expected 'CARD_ID RATING [TIME]'"),
        ("{card}", "line 3: expected 'CARD_ID RATING [TIME]'"),
    ],
    ids=["rating", "time", "card", "too-many", "too-few"],
)
def test_one_bad_line_records_nothing(cli, three, open_collection, bad, message):
    lines = (
        f"{three[0]} good 2025-11-30T09:00:00Z\n"
        f"{three[1]} again 2025-11-30T09:01:00Z\n" + bad.format(card=three[2]) + "\n"
    )
    outcome = cli("review", "--from", "-", input=lines)
    assert outcome.exit_code == 1
    assert outcome.stdout == ""
    assert f"error: {message}" in outcome.stderr
    col = open_collection()
    assert col.conn.execute("SELECT count(*) FROM reviews").fetchone()[0] == 0
    assert [cli.card(cid)["state"] for cid in three] == ["new", "new", "new"]


def test_bad_line_json_error(cli, three):
    outcome = cli("review", "--from", "-", "--json", input=f"{three[0]} meh\n")
    assert outcome.exit_code == 1
    assert outcome.stdout == ""
    error = outcome.error()
    assert error["code"] == "invalid_input"
    assert error["message"] == "line 1: not a rating: 'meh'; nothing was recorded"
    assert error["hint"] == "Use again, hard, good, easy (or 1–4)."


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["review"], "give CARD and --rating, or --from -"),
        (["review", "CARD"], "give CARD and --rating, or --from -"),
        (["review", "CARD", "--from", "-"], "give either CARD or --from, not both"),
        (["review", "CARD", "--rating", "fine"], "not a rating: 'fine'"),
        (["review", "CARD", "--rating", "good", "--at", "noon"], "not an ISO-8601 time"),
        (["review", "0123456789ab", "--rating", "good"], "no card with id 0123456789ab"),
    ],
    ids=["nothing", "no-rating", "both", "rating", "time", "card"],
)
def test_refused(cli, three, args, message):
    args = [three[0] if a == "CARD" else a for a in args]
    outcome = cli(*args)
    assert outcome.exit_code == 1
    assert outcome.stdout == ""
    assert f"error: {message}" in outcome.stderr
    assert cli.card(three[0])["reviews"] == 0
