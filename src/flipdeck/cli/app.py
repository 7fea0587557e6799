"""Provides the `flipdeck` command: the root typer app and the error boundary.

Sub-apps and commands live in one module per noun; this module only assembles them. `main()`
is the one place where domain errors become messages on stderr and documented exit codes.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from flipdeck import __version__
from flipdeck.cli import (
    account,
    add,
    card,
    deck,
    doctor,
    note,
    notetype,
    output,
    report,
    review,
    study,
    transfer,
)
from flipdeck.cli import config as config_cmd
from flipdeck.cli import help as help_cmd
from flipdeck.cli import sync as sync_cmd
from flipdeck.cli import tui as tui_cmd
from flipdeck.cli.common import collection
from flipdeck.core.errors import FlipdeckError

COMPLETE_VAR = "_FLIPDECK_COMPLETE"

app = typer.Typer(
    name="flipdeck",
    help="Offline-first flashcards for the terminal, scheduled by FSRS.\n\n"
    "Start with `flipdeck sample --study`, or `flipdeck deck create NAME` and `flipdeck add`.",
    invoke_without_command=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_show_locals=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"flipdeck {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Offline-first flashcards for the terminal, scheduled by FSRS."""
    if ctx.invoked_subcommand is None and not ctx.resilient_parsing:
        # `flipdeck` alone: the app in a terminal, the help (exit 2, as before) in a pipe
        if sys.stdin.isatty() and sys.stdout.isatty():
            from flipdeck.cli.tui import open_app

            open_app()
            raise typer.Exit()
        typer.echo(ctx.get_help())
        raise typer.Exit(2)


app.add_typer(deck.deck_app, name="deck")
app.add_typer(note.note_app, name="note")
app.add_typer(card.card_app, name="card")
app.add_typer(notetype.notetype_app, name="notetype")
app.add_typer(help_cmd.help_app, name="help")
app.add_typer(config_cmd.config_app, name="config")
app.command("register")(account.register)
app.command("login")(account.login)
app.command("logout")(account.logout)
app.command("whoami")(account.whoami)
app.command("sync")(sync_cmd.sync)
app.command("add")(add.add)
app.command("study")(study.study)
app.command("review")(review.review)
app.command("due")(report.due)
app.command("stats")(report.stats)
app.command("doctor")(doctor.doctor)
app.command("import")(transfer.import_)
app.command("export")(transfer.export)
app.command("tui")(tui_cmd.tui)


@app.command("sample")
def sample(
    study_now: Annotated[bool, typer.Option("--study", help="Start studying it at once.")] = False,
) -> None:
    """Load the bundled sample deck (shell commands); running it again adds nothing."""
    from flipdeck.formats.sample import load_sample

    with collection() as col:
        name, added, present = load_sample(col)
    output.info(
        f"Sample deck {name!r}: {added} note(s) added"
        + (f", {present} already there." if present else ".")
    )
    if study_now:
        study.study(name)


@app.command("paths")
def paths(as_json: output.JsonOption = False) -> None:
    """Where flipdeck keeps its files (FLIPDECK_HOME moves them all)."""
    from flipdeck import paths as store_paths

    data = {"home": str(store_paths.home()), "collection": str(store_paths.collection_path())}
    if as_json:
        output.print_json(data)
    else:
        output.table(["", ""], [[k, v] for k, v in data.items()])


@app.command("completion")
def completion(
    shell: Annotated[str, typer.Argument(help="bash, zsh, fish or powershell.")],
) -> None:
    """Print the shell completion script (e.g. `flipdeck completion bash >> ~/.bashrc`)."""
    from typer._completion_shared import get_completion_script
    from typer.completion import completion_init

    completion_init()
    typer.echo(get_completion_script(prog_name="flipdeck", complete_var=COMPLETE_VAR, shell=shell))


def _interrupted(exit_: SystemExit) -> bool:
    """Whether typer turned a Ctrl-C into this exit (it raises ``Exit(130) from`` the
    ``KeyboardInterrupt`` and prints nothing)."""
    cause = exit_.__context__
    return isinstance(cause, typer.Exit) and isinstance(cause.__cause__, KeyboardInterrupt)


def main() -> None:
    """Run the CLI; domain errors become a message and an exit code, never a traceback."""
    if os.environ.get(COMPLETE_VAR):
        # A completion request from the script `flipdeck completion SHELL` prints: typer
        # registers its shell classes only with add_completion=True, so register them here.
        from typer.completion import completion_init

        completion_init()
    try:
        app(prog_name="flipdeck", complete_var=COMPLETE_VAR)
    except FlipdeckError as error:
        output.fail(error, as_json=output.wants_json())
    except SystemExit as exit_:
        if exit_.code == output.EXIT_INTERRUPTED and _interrupted(exit_):
            output.info("\nInterrupted; nothing half-written was kept.")
        raise
    except KeyboardInterrupt:
        output.info("\nInterrupted; nothing half-written was kept.")
        raise SystemExit(output.EXIT_INTERRUPTED) from None
