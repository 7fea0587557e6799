"""`flipdeck study`: the line-oriented session, driven through stdin as a user (or a pipe)
drives it. Every answer commits as it is given, so quitting, end of input or Ctrl-C keep them.
"""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
import time

import pytest

ANSWERS = re.compile(r"1 Again \((\S+)\)  2 Hard \((\S+)\)  3 Good \((\S+)\)  4 Easy \((\S+)\)")


@pytest.fixture
def lang(cli) -> list[str]:
    """Three new cards in Lang (uno, dos, tres, studied in that order)."""
    cli.add_notes("Lang", ("uno", "one"), ("dos", "two"), ("tres", "three"))
    return cli.ids("deck:Lang")


def history(cli, card_id: str) -> list[str]:
    return [h["rating"] for h in cli.card(card_id)["history"]]


def test_reveal_then_answer(cli, lang):
    outcome = cli("study", "Lang", input="\n3\nq\n")
    assert outcome.exit_code == 0
    assert outcome.stdout.index("uno") < outcome.stdout.index("one")
    assert "Lang · new 3 · learning 0 · review 0" in outcome.stdout
    intervals = ANSWERS.search(outcome.stdout)
    assert intervals is not None
    assert intervals.groups()[:3] == ("1m", "6m", "10m")
    assert re.fullmatch(r"\d+d", intervals.group(4))
    assert outcome.stderr == "Studied 1 card(s) in 0s · again 0%.\n"
    assert history(cli, lang[0]) == ["good"]
    assert cli.card(lang[0])["state"] == "learning"
    assert history(cli, lang[1]) == []


@pytest.mark.parametrize(
    ("key", "rating"),
    [("1", "again"), ("2", "hard"), ("3", "good"), ("4", "easy"), ("", "good"), (" ", "good")],
)
def test_each_answer_key(cli, lang, key, rating):
    """1–4 answer; Enter (or a space) on the answer side is Good."""
    cli.ok("study", input=f"\n{key}\nq\n")
    assert history(cli, lang[0]) == [rating]


def test_space_reveals(cli, lang):
    outcome = cli.ok("study", input=" \n4\nq\n")
    assert "one" in outcome.stdout
    assert history(cli, lang[0]) == ["easy"]
    assert cli.card(lang[0])["state"] == "review"


def test_summary_counts_again_rate(cli, lang):
    outcome = cli.ok("study", input="\n1\n\n3\nq\n")
    assert outcome.stderr == "Studied 2 card(s) in 0s · again 50%.\n"
    assert "Studied" not in outcome.stdout


def test_end_of_input_quits_with_summary(cli, lang):
    outcome = cli("study", input="\n3\n")
    assert outcome.exit_code == 0
    assert outcome.stderr == "Studied 1 card(s) in 0s · again 0%.\n"
    assert history(cli, lang[0]) == ["good"]


def test_undo_removes_the_review(cli, lang, open_collection):
    """u takes the last answer back: the review leaves the log and the card is new again,
    and it comes back to be studied."""
    outcome = cli("study", "Lang", input="\n3\nu\nq\n")
    assert outcome.exit_code == 0
    assert outcome.stderr == "Undid answer.\nNo cards answered.\n"
    data = cli.card(lang[0])
    assert (data["reviews"], data["history"], data["state"]) == (0, [], "new")
    col = open_collection()
    assert col.conn.execute("SELECT count(*) FROM reviews").fetchone()[0] == 0
    # uno, then dos (where u was typed), then uno again
    fronts = re.findall(r"review \d+ ─+\n(\w+)\n", outcome.stdout)
    assert fronts == ["uno", "dos", "uno"]


def test_undo_after_the_last_card(cli):
    """The last answer can be taken back too, and with it the burying of its sibling."""
    cli.ok("add", "-t", "Basic (and reversed card)", "hola", "hello")
    outcome = cli("study", input="\n4\nu\nq\n")
    assert outcome.exit_code == 0
    assert outcome.stderr == (
        "Congratulations! Nothing more is due today.\nUndid answer.\nNo cards answered.\n"
    )
    assert "[u undo · Enter or q quit]" in outcome.stdout
    cards = cli.ok("card", "list", "--json").json()
    assert [(c["reviews"], c["state"], c["buried"]) for c in cards] == [
        (0, "new", False),
        (0, "new", False),
    ]


def test_quit_after_the_last_card_keeps_the_answer(cli, lang):
    outcome = cli("study", input="\n4\n\n4\n\n4\n\n")
    assert outcome.exit_code == 0
    assert outcome.stderr == (
        "Congratulations! Nothing more is due today.\nStudied 3 card(s) in 0s · again 0%.\n"
    )
    assert [cli.card(cid)["reviews"] for cid in lang] == [1, 1, 1]


def test_undo_on_the_answer_side(cli, lang):
    cli.ok("study", input="\n1\n\nu\nq\n")
    assert history(cli, lang[0]) == []
    assert history(cli, lang[1]) == []


def test_undo_with_nothing_to_undo(cli, lang):
    outcome = cli.ok("study", input="u\nq\n")
    assert outcome.stderr == "Nothing to undo.\nNo cards answered.\n"


def test_bury(cli, lang):
    outcome = cli.ok("study", input="b\nq\n")
    assert outcome.stderr == "Buried until tomorrow.\nNo cards answered.\n"
    assert cli.ids("is:buried") == [lang[0]]
    assert history(cli, lang[0]) == []


def test_suspend_on_the_answer_side(cli, lang):
    outcome = cli.ok("study", input="\ns\nq\n")
    assert outcome.stderr == "Suspended.\nNo cards answered.\n"
    assert cli.ids("is:suspended") == [lang[0]]


def test_undo_bury_and_suspend(cli, lang):
    cli.ok("study", input="b\ns\nu\nu\nq\n")
    assert cli.ids("is:buried or is:suspended") == []


def test_flag(cli, lang):
    """f N flags the card and keeps it on screen; no "answer with 1–4" nagging follows."""
    outcome = cli.ok("study", input="f 3\n\nf\n5\n3\nq\n")
    assert outcome.stderr == "Flag 3 set.\nFlag 5 set.\nStudied 1 card(s) in 0s · again 0%.\n"
    data = cli.card(lang[0])
    assert (data["flag"], data["reviews"]) == (5, 1)


def test_bad_flag_and_unknown_command(cli, lang):
    outcome = cli.ok("study", input="f 9\nx\n\n7\n3\nq\n")
    assert outcome.stderr.splitlines() == [
        "Flags are 0–7.",
        "Unknown command 'x': u undo · b bury · s suspend · f flag · e edit · q quit.",
        "Unknown command '7': u undo · b bury · s suspend · f flag · e edit · q quit.",
        "Answer with 1, 2, 3 or 4 (Enter = Good).",
        "Studied 1 card(s) in 0s · again 0%.",
    ]
    assert cli.card(lang[0])["flag"] == 0


def test_edit_in_editor_during_study(cli, lang, editor):
    """e opens the note in $EDITOR; the edited back is shown and saved."""
    command, seen = editor(("## Back\none", "## Back\nONE (edited)"))
    outcome = cli("study", input="\ne\n3\nq\n", env={"EDITOR": command})
    assert outcome.exit_code == 0
    assert len(seen()) == 1
    assert "ONE (edited)" in outcome.stdout
    note = cli.ok("note", "show", lang[0], "--json").json()
    assert note["fields"]["Back"] == "ONE (edited)"
    assert history(cli, lang[0]) == ["good"]


def test_edit_unchanged(cli, lang, editor):
    command, _seen = editor()
    outcome = cli.ok("study", input="e\nq\n", env={"EDITOR": command})
    assert outcome.stderr == "No change.\nNo cards answered.\n"


def test_type_in_answer(cli):
    cli.ok("add", "-t", "Basic (type in the answer)", "Capital of France", "Paris")
    outcome = cli.ok("study", input="Pariss\n3\nq\n")
    assert "Pariss → Paris" in outcome.stdout


def test_only_the_chosen_deck(cli, lang):
    cli.add_notes("Other", ("x", "y"))
    outcome = cli.ok("study", "Other", input="\n3\nq\n")
    assert "Other · new 1" in outcome.stdout
    assert history(cli, lang[0]) == []
    assert [c["reviews"] for c in cli.ok("card", "list", "deck:Other", "--json").json()] == [1]


def test_unknown_deck(cli, lang):
    outcome = cli("study", "Nope")
    assert outcome.exit_code == 1
    assert outcome.stdout == ""
    assert "error: no deck named 'Nope'" in outcome.stderr


def test_nothing_due(cli):
    outcome = cli.ok("study")
    assert outcome.stderr == "Congratulations! Nothing more is due today.\nNo cards answered.\n"


def test_learning_cards_waiting(cli):
    cli.ok("deck", "config", "Default", "--learning-steps", "30m 2h")
    cli.ok("add", "uno", "one")
    outcome = cli.ok("study", input="\n1\n")
    assert outcome.stderr.splitlines() == [
        "Learning cards are due again in about 30 min; study again then.",
        "Studied 1 card(s) in 0s · again 100%.",
    ]


# -- the real process -------------------------------------------------------------------------


def test_study_through_a_pipe(run):
    """`printf … | flipdeck study` works end to end in a real process."""
    assert run("add", "--from", "-", input="uno\tone\ndos\ttwo\n").exit_code == 0
    outcome = run("study", input="\n3\n\n1\nq\n")
    assert outcome.exit_code == 0
    assert "uno" in outcome.stdout
    assert "two" in outcome.stdout
    assert outcome.stderr == "Studied 2 card(s) in 0s · again 50%.\n"
    cards = {c["question"]: c for c in run("card", "list", "--json").json()}
    assert (cards["uno"]["reviews"], cards["dos"]["reviews"]) == (1, 1)


def _reviews(path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT count(*) FROM reviews").fetchone()[0]
    finally:
        conn.close()


def test_ctrl_c_keeps_every_answer(run, spawn, home):
    """Ctrl-C in the middle of a session exits 130 and keeps the answers already given."""
    from flipdeck.store.collection import Collection

    assert run("add", "--from", "-", input="uno\tone\ndos\ttwo\ntres\tthree\n").exit_code == 0
    proc = spawn(
        "study", stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    proc.stdin.write("\n3\n\n4\n")  # answer uno and dos, then wait at tres
    proc.stdin.flush()
    deadline = time.monotonic() + 20
    while _reviews(home / "collection.db") < 2:
        assert time.monotonic() < deadline, "the answers never reached the collection"
        time.sleep(0.05)
    time.sleep(0.2)  # let it print tres and block on the next line of input
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert err == "\nInterrupted. Studied 2 card(s) in 0s · again 0%.\n"
    assert "Traceback" not in err
    with Collection.open(home / "collection.db") as col:
        assert col.conn.execute("SELECT count(*) FROM reviews").fetchone()[0] == 2
        ratings = sorted(r[0] for r in col.conn.execute("SELECT rating FROM reviews"))
    assert ratings == [3, 4]
