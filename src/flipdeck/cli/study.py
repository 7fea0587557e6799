"""Provides `flipdeck study`: a line-oriented review that works in any terminal or pipe.

The front is shown; Enter (or a typed answer, on type-in cards) reveals the back and the four
choices with the interval each would give; 1–4 answer (Enter = Good). Commands at either
prompt: u undo, b bury, s suspend, f [N] flag, e edit, q quit. Every answer is committed as it
is given, so quitting, end of input or Ctrl-C keeps them all.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from flipdeck.cli import output
from flipdeck.cli.common import collection

_COMMANDS = "u undo · b bury · s suspend · f flag · e edit · q quit"
_NAMES = {1: "Again", 2: "Hard", 3: "Good", 4: "Easy"}


class _Quit(Exception):
    pass


def _read(prompt: str) -> str:
    """One line of input; end of input quits."""
    sys.stdout.write(prompt)
    sys.stdout.flush()
    line = sys.stdin.readline()
    if not line:
        sys.stdout.write("\n")
        raise _Quit
    if not sys.stdin.isatty():
        sys.stdout.write("\n")  # a terminal echoes the Enter; piped input does not
    return line.rstrip("\r\n")


def _minutes(ms: int) -> str:
    seconds = round(ms / 1000)
    return f"{seconds // 60}m {seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def _summary(session) -> str:
    s = session.summary
    if not s.answered:
        return "No cards answered."
    again = f" · again {s.again_rate:.0%}" if s.again_rate is not None else ""
    return f"Studied {s.answered} card(s) in {_minutes(s.time_ms)}{again}."


def study(
    deck: Annotated[
        str | None, typer.Argument(help="Deck to study (children included); all decks if omitted.")
    ] = None,
) -> None:
    """Study due cards, line by line (Enter reveals, 1–4 answer, q quits)."""
    from flipdeck.cli.sync import auto_sync
    from flipdeck.store import decks
    from flipdeck.store.session import StudySession

    with collection() as col:
        auto_sync(col)  # with sync.auto on: what other devices did first, quietly if offline
        target = decks.find(col, deck) if deck else None
        session = StudySession(col, target)
        try:
            _loop(col, session)
        except _Quit:
            pass
        except KeyboardInterrupt:
            output.info("\nInterrupted. " + _summary(session))
            raise SystemExit(output.EXIT_INTERRUPTED) from None
        auto_sync(col)
    output.info(_summary(session))


def _loop(col, session) -> None:
    from flipdeck.cli.cardview import rich_text
    from flipdeck.cli.editor import edit_note
    from flipdeck.store import cards, notes

    out = output.console()
    while True:
        card = session.next_card()
        if card is None:
            waiting = session.queue.waiting()
            if waiting is not None:
                minutes = max(1, round((waiting - col.now()) / 60000))
                output.info(
                    f"Learning cards are due again in about {minutes} min; study again then."
                )
            else:
                output.info("Congratulations! Nothing more is due today.")
            if _undo_at_the_end(session):
                continue
            return
        counts = session.counts()
        out.rule(
            f"{card.deck} · new {counts.new} · learning {counts.learning} · review {counts.review}",
            style="dim",
        )
        front, _back = cards.faces(col, card)
        out.print(rich_text(front))
        type_field = cards.type_in_field(col, card)
        typed = None
        while True:
            line = _read(
                f"\n[{'type the answer, Enter' if type_field else 'Enter'}: show answer"
                f" · {_COMMANDS}] "
            )
            if (
                type_field
                and line.strip() not in ("u", "b", "s", "e", "q", "f")
                and not line.startswith("f ")
            ):
                typed = line
                break
            action = _command(session, line, col, edit_note, notes)
            if action == "reveal":
                break
            if action == "next":
                card = None
                break
            if action == "reshow":
                card = session.current
                front, _back = cards.faces(col, card)
                out.print(rich_text(front))
        if card is None:
            continue
        _front, back = cards.faces(col, card, typed=typed)
        out.print()
        out.print(rich_text(back))
        choices = session.choices()
        buttons = "  ".join(f"{r} {_NAMES[r]} ({label})" for r, (label, _s) in choices.items())
        while True:
            line = _read(f"\n{buttons}  [Enter = Good · {_COMMANDS}] ").strip()
            if line in ("1", "2", "3", "4", ""):
                done = session.answer(int(line or 3))
                if done.leech:
                    output.info(
                        "This card is a leech (tagged 'leech'"
                        + (", suspended)" if done.suspended_as_leech else ")")
                    )
                break
            action = _command(session, line, col, edit_note, notes)
            if action in ("next", "reveal"):
                break
            if action == "reshow":
                _front, back = cards.faces(col, session.current, typed=typed)
                out.print(rich_text(back))
            if action is None:
                output.info("Answer with 1, 2, 3 or 4 (Enter = Good).")


def _undo_at_the_end(session) -> bool:
    """With no card left, still let the user take back the last answer or action (the last
    card's answer is as easy to mistype as any); True if something was undone."""
    s = session.summary
    if not (s.answered or s.buried or s.suspended):
        return False
    if _read("\n[u undo · Enter or q quit] ").strip() != "u":
        return False
    undone = session.undo()
    output.info(f"Undid {undone}." if undone else "Nothing to undo.")
    return undone is not None


def _command(session, line: str, col, edit_note, notes) -> str | None:
    """Run a study command; returns 'reveal', 'next', 'reshow', 'stay' (done, same card) or
    None (not a command)."""
    text = line.strip()
    if text in ("", " "):
        return "reveal"
    word, _sep, rest = text.partition(" ")
    if word == "q":
        raise _Quit
    if word == "u":
        undone = session.undo()
        output.info(f"Undid {undone}." if undone else "Nothing to undo.")
        return "next" if undone else "stay"
    if word == "b":
        session.bury()
        output.info("Buried until tomorrow.")
        return "next"
    if word == "s":
        session.suspend()
        output.info("Suspended.")
        return "next"
    if word == "f":
        number = rest.strip() or _read("Flag 1–7 (0 removes): ").strip()
        if not number.isdigit() or not 0 <= int(number) <= 7:
            output.info("Flags are 0–7.")
            return "stay"
        session.flag(int(number))
        output.info(f"Flag {number} set." if number != "0" else "Flag removed.")
        return "stay"
    if word == "e":
        card = session.current
        if edit_note(col, notes.load(col, card.note_id)):
            session.refresh_current()
            return "reshow"
        output.info("No change.")
        return "stay"
    output.info(f"Unknown command {text!r}: {_COMMANDS}.")
    return None
