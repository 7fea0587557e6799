"""`flipdeck export`: every text format, to stdout or a file, for all notes or a query; what it
writes imports back to the same notes."""

from __future__ import annotations

import json
from pathlib import Path

# the shared fixtures beside the checkout (../shared/data/anki), wherever it is
DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "anki"
if not DATA.exists():
    DATA = Path("/work/shared/data/anki")


def test_export_csv_to_stdout_with_ankis_headers(cli):
    cli.ok("import", str(DATA / "spanish-notes.txt"))
    out = cli.ok("export", "--format", "tsv")
    lines = out.stdout.splitlines()
    assert lines[:6] == [
        "#separator:tab",
        "#html:true",
        "#guid column:1",
        "#notetype column:2",
        "#deck column:3",
        "#tags column:6",
    ]
    assert len(lines) == 54
    csv = cli.ok("export", "deck:Spanish::Verbs", "-f", "csv").stdout
    assert csv.startswith("#separator:comma\n") and len(csv.splitlines()) == 6 + 23


def test_export_then_import_elsewhere(cli, tmp_path, monkeypatch):
    cli.ok("import", str(DATA / "spanish-notes.txt"))
    for fmt in ("json", "md", "csv"):
        target = tmp_path / f"all.{fmt}"
        done = cli.ok("export", "--format", fmt, "--output", str(target))
        assert f"Exported 48 note(s) to {target}" in done.stderr
    before = cli.ok("note", "list", "", "--json").json()
    for fmt in ("json", "md", "csv"):
        monkeypatch.setenv("FLIPDECK_HOME", str(tmp_path / f"home-{fmt}"))
        out = cli.ok("import", str(tmp_path / f"all.{fmt}"), "--json").json()
        assert (out["added"], out["cards"]) == (48, 61), fmt
        after = cli.ok("note", "list", "", "--json").json()
        key = lambda n: n["fields"]["Front"] if "Front" in n["fields"] else n["fields"]["Text"]  # noqa: E731
        # a backup restores the very notes and cards; the other formats make new ones
        drop = ("modified",) if fmt == "json" else ("id", "created", "modified", "card_ids")

        def strip(note, drop=drop):
            kept = {k: v for k, v in note.items() if k not in drop}
            if "card_ids" in kept:
                kept["card_ids"] = sorted(kept["card_ids"])
            return kept

        assert sorted(map(strip, after), key=key) == sorted(map(strip, before), key=key), fmt


def test_json_backup_is_a_backup(cli):
    cli.ok("import", str(DATA / "csv-tags-column.csv"))
    data = json.loads(cli.ok("export", "--format", "json").stdout)
    assert data["format"] == "flipdeck-backup" and data["version"] == 1
    assert sum(r["entity"] == "note" for r in data["rows"]) == 3


def test_bad_export_requests(cli):
    assert "unknown format 'xml'" in cli("export", "--format", "xml").stderr
    apkg = cli("export", "--format", "apkg")
    assert apkg.exit_code == 1
    assert "binary" in apkg.stderr or "cannot be imported or exported" in apkg.stderr


def test_apkg_goes_to_the_package_exporter(cli, tmp_path, monkeypatch):
    cli.ok("import", str(DATA / "csv-notetype-deck-tags.csv"))
    target = tmp_path / "out.apkg"
    done = cli.ok("export", "--format", "apkg", "-o", str(target), "--no-history")
    assert f"Exported 6 card(s) to {target} (apkg)." in done.stderr
    monkeypatch.setenv("FLIPDECK_HOME", str(tmp_path / "elsewhere"))
    out = cli.ok("import", str(target), "--json").json()
    assert (out["format"], out["added"], out["cards"]) == ("apkg", 3, 6)
