"""`flipdeck due`, `flipdeck stats` and `flipdeck config`: what is waiting, how study goes, and
the calendar both are counted in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

STATS_FIELDS = {
    "today_reviews",
    "today_new",
    "today_time_ms",
    "today_again_rate",
    "streak_days",
    "retention_30d",
    "retention_30d_reviews",
    "future_due",
    "learning_today",
    "total_cards",
    "total_notes",
}


@pytest.fixture
def lang(cli) -> dict[str, str]:
    """Four new cards in three decks; maps each question to its card id."""
    cli.add_notes("Lang::Spanish", ("uno", "one"), ("dos", "two"))
    cli.add_notes("Lang", ("hello", "hola"))
    cli.add_notes("Art", ("Monet", "Impression, soleil levant"))
    return {c["question"]: c["id"] for c in cli.ok("card", "list", "--json").json()}


def at(clock, **delta) -> str:
    """An ISO time relative to the test clock."""
    when = datetime.fromtimestamp(clock.ms / 1000, UTC) + timedelta(**delta)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def stats(cli) -> dict:
    return cli.ok("stats", "--json").json()


# -- due ---------------------------------------------------------------------------------------


def test_due_json(cli, lang):
    cli.ok("card", "set-due", "hello", "0")
    cli.ok("review", lang["uno"], "--rating", "again")
    data = cli.ok("due", "--json").json()
    assert set(data) == {"total", "decks"}
    assert data["total"] == {"new": 2, "learning": 1, "review": 1}
    rows = {d["name"]: d for d in data["decks"]}
    assert list(rows) == ["Art", "Default", "Lang", "Lang::Spanish"]
    assert set(rows["Lang"]) == {"id", "name", "new", "learning", "review"}
    assert (rows["Lang"]["new"], rows["Lang"]["learning"], rows["Lang"]["review"]) == (1, 1, 1)
    assert (rows["Lang::Spanish"]["new"], rows["Lang::Spanish"]["learning"]) == (1, 1)
    assert (rows["Art"]["new"], rows["Default"]["new"]) == (1, 0)


def test_due_for_one_deck(cli, lang):
    data = cli.ok("due", "lang", "--json").json()
    assert [d["name"] for d in data["decks"]] == ["Lang", "Lang::Spanish"]
    assert data["total"] == {"new": 3, "learning": 0, "review": 0}


def test_due_piped(cli, lang):
    assert cli.ok("due").stdout.splitlines() == [
        "Art\t1\t0\t0",
        "Default\t0\t0\t0",
        "Lang\t3\t0\t0",
        "Lang::Spanish\t2\t0\t0",
        "Total\t4\t0\t0",
    ]


def test_due_unknown_deck(cli, lang):
    outcome = cli("due", "Nope", "--json")
    assert outcome.exit_code == 1
    assert outcome.stdout == ""
    assert outcome.error()["message"] == "no deck named 'Nope'"


def test_due_counts_move_with_the_clock(cli, lang, clock):
    cli.ok("card", "set-due", "Monet", "2")
    assert cli.ok("due", "Art", "--json").json()["total"]["review"] == 0
    clock.advance(days=2)
    assert cli.ok("due", "Art", "--json").json()["total"]["review"] == 1


# -- stats -------------------------------------------------------------------------------------


def test_stats_empty(cli):
    data = stats(cli)
    assert set(data) == STATS_FIELDS
    assert data | {"future_due": None} == {
        "today_reviews": 0,
        "today_new": 0,
        "today_time_ms": 0,
        "today_again_rate": None,
        "streak_days": 0,
        "retention_30d": None,
        "retention_30d_reviews": 0,
        "future_due": None,
        "learning_today": 0,
        "total_cards": 0,
        "total_notes": 0,
    }
    assert data["future_due"] == [0] * 30


def test_stats_today(cli, lang):
    cli.ok("review", lang["uno"], "-r", "again", "--duration", "4000")
    cli.ok("review", lang["dos"], "-r", "good", "--duration", "6000")
    cli.ok("review", lang["hello"], "-r", "good", "--duration", "80000")
    data = stats(cli)
    assert data["today_reviews"] == 3
    assert data["today_new"] == 3
    assert data["today_time_ms"] == 90000
    assert data["today_again_rate"] == pytest.approx(1 / 3)
    assert data["learning_today"] == 3
    assert (data["total_cards"], data["total_notes"]) == (4, 4)
    assert data["streak_days"] == 1
    text = cli.ok("stats").stdout
    assert text.splitlines()[0] == "Today: 3 answer(s), 3 new, in 1m 30s · again 33.3%"


def test_stats_streak(cli, lang, clock):
    """Consecutive learning days with answers, ending today (or yesterday)."""
    lines = "".join(f"{lang['uno']} good {at(clock, days=-d)}\n" for d in (5, 2, 1))
    cli.ok("review", "--from", "-", input=lines)
    assert stats(cli)["streak_days"] == 2  # yesterday and the day before; today not yet
    cli.ok("review", lang["dos"], "-r", "good")
    assert stats(cli)["streak_days"] == 3


def test_stats_true_retention(cli, lang, clock):
    """True retention counts only answers to review cards: passed / all, last 30 days."""
    for card in ("uno", "dos", "hello", "Monet"):
        cli.ok("card", "set-due", card, "0")
    cli.ok(
        "review",
        "--from",
        "-",
        input=(
            f"{lang['uno']} good {at(clock, hours=-1)}\n"
            f"{lang['dos']} hard {at(clock, hours=-1)}\n"
            f"{lang['hello']} again {at(clock, hours=-1)}\n"
            f"{lang['Monet']} good {at(clock, days=-40)}\n"  # before the 30-day window
        ),
    )
    data = stats(cli)
    assert data["retention_30d_reviews"] == 3
    assert data["retention_30d"] == pytest.approx(2 / 3)
    assert "True retention (30 days): 66.7% of 3 review(s)" in cli.ok("stats").stdout


def test_stats_future_due_bar_chart(cli, lang):
    cli.ok("card", "set-due", "uno or dos", "1")
    cli.ok("card", "set-due", "hello", "3")
    cli.ok("card", "set-due", "Monet", "29")
    data = stats(cli)
    expected = [0] * 30
    expected[1], expected[3], expected[29] = 2, 1, 1
    assert data["future_due"] == expected
    lines = cli.ok("stats").stdout.splitlines()
    start = lines.index("Reviews due, next 30 days:")
    chart = lines[start + 1 :]
    assert len(chart) == 30
    assert chart[0] == " today" + " " * 32 + "0"
    assert chart[1] == "   +1d " + "█" * 30 + " 2"
    assert chart[2] == "   +2d" + " " * 32 + "0"
    assert chart[3] == "   +3d " + "█" * 15 + " " * 16 + "1"
    assert chart[29].startswith("  +29d " + "█" * 15)


def test_stats_human_summary(cli):
    lines = cli.ok("stats").stdout.splitlines()
    assert lines[:6] == [
        "Today: 0 answer(s), 0 new, in 0m 00s",
        "Streak: 0 day(s)",
        "True retention (30 days): no reviews yet",
        "Collection: 0 card(s) in 0 note(s); 0 learning today",
        "",
        "Reviews due, next 30 days:",
    ]


# -- config ------------------------------------------------------------------------------------

DEFAULT_SETTINGS = {"rollover_hour": 4, "timezone": "UTC", "sync.auto": False}


def test_config_show(cli):
    assert cli.ok("config", "list", "--json").json() == DEFAULT_SETTINGS
    expected = "rollover_hour\t4\ntimezone\tUTC\nsync.auto\tfalse\n"
    assert cli.ok("config", "list").stdout == expected
    assert cli.ok("config", "get", "timezone", "--json").json() == {"timezone": "UTC"}


def test_config_timezone_reschedules(cli, lang, clock):
    """A learning day starts at the rollover hour in the collection's zone, so moving to
    Paris moves every due time an hour earlier in UTC (winter time)."""
    cli.ok("card", "set-due", "uno", "3")
    before = cli.ok("card", "list", "uno", "--json").json()[0]["due"]
    assert before.endswith("T04:00:00Z")
    outcome = cli("config", "set", "timezone", "Europe/Paris")
    assert outcome.exit_code == 0
    assert outcome.stdout == "timezone\tEurope/Paris\n"
    after = cli.ok("card", "list", "uno", "--json").json()[0]["due"]
    assert after == before.replace("T04:00:00Z", "T03:00:00Z")
    assert cli.ok("config", "list", "--json").json()["timezone"] == "Europe/Paris"


def test_config_rollover_hour(cli, lang):
    cli.ok("card", "set-due", "uno", "1")
    assert cli.ok("config", "set", "rollover_hour", "6", "--json").json() == {"rollover_hour": 6}
    assert cli.ok("card", "list", "uno", "--json").json()[0]["due"].endswith("T06:00:00Z")


def test_config_sync_auto_is_this_device_only(cli):
    assert cli.ok("config", "set", "sync.auto", "true", "--json").json() == {"sync.auto": True}
    assert cli.ok("config", "get", "sync.auto", "--json").json() == {"sync.auto": True}
    outcome = cli("config", "set", "sync.auto", "maybe")
    assert outcome.exit_code == 1 and "true or false" in outcome.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["set", "timezone", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
        (["set", "rollover_hour", "24"], "rollover hour must be 0–23"),
        (["set", "colour", "blue"], "unknown setting 'colour'"),
        (["get", "colour"], "unknown setting 'colour'"),
    ],
    ids=["zone", "hour", "unknown", "unknown-show"],
)
def test_config_refused(cli, args, message):
    outcome = cli("config", *args)
    assert outcome.exit_code == 1
    assert outcome.stdout == ""
    assert f"error: {message}" in outcome.stderr
    assert cli.ok("config", "list", "--json").json() == DEFAULT_SETTINGS


def test_config_rollover_hour_not_a_number(cli):
    outcome = cli("config", "set", "rollover_hour", "four")
    assert outcome.exit_code == 1
    assert "error: " in outcome.stderr
    assert cli.ok("config", "list", "--json").json()["rollover_hour"] == 4
