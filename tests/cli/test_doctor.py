"""`flipdeck doctor` checks the file and the cached scheduling state, and rebuilds the cache
from the review log; `flipdeck paths` says where everything is."""

from __future__ import annotations

import pytest

from flipdeck.store import schema


@pytest.fixture
def studied(cli) -> list[str]:
    cli.add_notes("Lang", ("uno", "one"), ("dos", "two"))
    ids = cli.ids()
    cli.ok("review", ids[0], "--rating", "good")
    cli.ok("review", ids[1], "--rating", "easy")
    return ids


def test_doctor_json(cli, studied, home):
    outcome = cli("doctor", "--json")
    assert outcome.exit_code == 0
    assert outcome.stderr == ""
    data = outcome.json()
    assert set(data) == {
        "path",
        "schema",
        "integrity",
        "device_id",
        "pending_changes",
        "stale_cards",
    }
    assert data["path"] == str(home / "collection.db")
    assert (data["schema"], data["integrity"], data["stale_cards"]) == (schema.LATEST, "ok", 0)
    assert data["pending_changes"] > 0
    assert data["device_id"]


def test_doctor_piped(cli, studied):
    rows = dict(line.split("\t") for line in cli.ok("doctor").stdout.splitlines())
    assert (rows["integrity"], rows["stale_cards"], rows["schema"]) == (
        "ok",
        "0",
        str(schema.LATEST),
    )


def test_doctor_rebuild_json(cli, studied):
    before = [cli.card(cid) for cid in studied]
    data = cli.ok("doctor", "--rebuild", "--json").json()
    assert (data["rebuilt_cards"], data["stale_cards"]) == (2, 0)
    assert data["rebuild_seconds"] >= 0
    assert [cli.card(cid) for cid in studied] == before


def test_doctor_finds_and_rebuild_repairs_stale_state(cli, studied, open_collection):
    """A card whose cached state disagrees with its log is reported (exit 1) until
    `doctor --rebuild` re-folds it from the log."""
    good = cli.card(studied[0])
    col = open_collection()
    col.conn.execute("UPDATE cards SET stability = 99.0, interval = 40 WHERE id = ?", (studied[0],))
    col.close()
    outcome = cli("doctor", "--json")
    assert outcome.exit_code == 1
    assert outcome.json()["stale_cards"] == 1
    assert "run `flipdeck doctor --rebuild`" in outcome.stderr
    assert cli.card(studied[0])["stability"] == 99.0

    outcome = cli("doctor", "--rebuild", "--json")
    assert outcome.exit_code == 0
    assert outcome.json()["stale_cards"] == 0
    assert cli.card(studied[0]) == good


def test_paths(cli, home):
    data = cli.ok("paths", "--json").json()
    assert data == {"home": str(home), "collection": str(home / "collection.db")}
    assert cli.ok("paths").stdout == f"home\t{home}\ncollection\t{home / 'collection.db'}\n"


def test_flipdeck_home_moves_everything(run, tmp_path):
    """FLIPDECK_HOME alone decides where the collection lives (and is created)."""
    other = tmp_path / "elsewhere" / "deep"
    outcome = run("paths", "--json", env={"FLIPDECK_HOME": str(other)})
    assert outcome.exit_code == 0
    assert outcome.json()["collection"] == str(other / "collection.db")
    assert run("deck", "create", "Moved", env={"FLIPDECK_HOME": str(other)}).exit_code == 0
    assert (other / "collection.db").is_file()
    assert "Moved" in run("deck", "list", env={"FLIPDECK_HOME": str(other)}).stdout
    assert "Moved" not in run("deck", "list").stdout
