"""Convergence as a property (G2, G3, G4): three devices do random things offline and sync in
random orders through a server that loses, repeats and restarts; once everyone has synced
(twice, which quiesces) every collection is identical and every review exists exactly once.

A Hypothesis state machine drives three real collections and the real server app in-process.
Operations: add notes of every stock note type and of note types created during the run; edit
fields (cloze edits that add cards too); tag; delete notes and cards; answer cards with every
rating; undo answers; suspend, flag, bury and unbury; create, rename and delete decks; move
cards; add, rename, reorder and remove fields, add templates, create and rename note types;
change preset options, give a deck a new preset, change the day rollover; forget and set due;
move each device's clock, including a day either way. Faults, on push or pull: the request
lost before the server saw it, the response lost after the server processed it, the request
delivered twice, the server restarted just before a request — and restarts between syncs.

The server runs on SQLite, and on PostgreSQL too when ``FLIPDECK_TEST_DATABASE_URL`` is set.
``.ci/run`` runs 40 examples of up to 30 steps per database; ``pytest --slow`` runs far more.
"""

from __future__ import annotations

import itertools
import json
import shutil
import sys
import uuid
from collections import Counter
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from flipdeck.core.errors import FlipdeckError
from flipdeck.core.ids import derived_id
from flipdeck.store import cards, config, decks, notes, notetypes, presets, reviews
from flipdeck.sync.client import ServerClient
from flipdeck.sync.engine import SyncEngine
from flipdeck.sync.errors import ServerUnavailable
from tests.conftest import NOON, FakeClock
from tests.server.conftest import STRONG_PASSWORD
from tests.sync.conftest import BASE_URL, copy_collection, new_collection, open_collection
from tests.sync.dump import diff, dump
from tests.sync.faults import Fault, FaultyTransport

DEVICES = 3
DAY_MS = 86_400_000
WORDS = ("hola", "adiós", "<b>gato</b>", "perro", "casa", "día", "über", "x")
TAGS = ("verb", "noun", "leech", "hard", "Verb")
DECK_NAMES = ("Default", "Spanish", "Spanish::Verbs", "French", "Latin::Nouns", "Other")
FIELD_NAMES = ("Front", "Back", "Extra", "Example", "Notes", "Audio")
NOTETYPE_NAMES = ("Vocab", "Grammar", "Basic", "Cloze 2")
FAULTS = (Fault.DROP_REQUEST, Fault.DROP_RESPONSE, Fault.DUPLICATE, Fault.RESTART)
ROUTES = ("/v1/sync/push", "/v1/sync/pull")
PRESET_OPTIONS = {
    "desired_retention": (0.8, 0.85, 0.95),
    "learning_steps": ((1.0,), (5.0, 30.0, 120.0), ()),
    "relearning_steps": ((), (10.0, 60.0)),
    "maximum_interval": (3, 365, 36500),
    "new_per_day": (0, 5, 9999),
    "leech_threshold": (1, 2, 8),
    "leech_action": ("tag", "suspend"),
}

device_index = st.integers(0, DEVICES - 1)
pick = st.integers(0, 2**16)
word = st.sampled_from(WORDS)


class Nothing(Exception):
    """There is nothing to act on (no note, no card…): the action is skipped."""


class DeterministicIds:
    """UUIDv7-shaped ids from a counter: increasing like the real ones, and the same on every
    replay of an example, so Hypothesis can replay and shrink a failure exactly."""

    def __init__(self, ms: int) -> None:
        self._ms = ms
        self._counter = itertools.count(1)

    def __call__(self) -> str:
        value = (self._ms << 80) | (0x7 << 76) | (0b10 << 62) | next(self._counter)
        return str(uuid.UUID(int=value))


class World:
    """What every example shares: the server, one signed-in account per device, template
    collections (copied for each example) and a directory to work in."""

    def __init__(self, server, directory: Path) -> None:
        self.server = server
        self.directory = directory
        self.templates: list[Path] = []
        self.accounts: list = []
        self.examples = itertools.count()
        self.stats: Counter[str] = Counter()
        """What the rules did, for ``pytest -s``: how often each succeeded or was refused."""
        transport = httpx.WSGITransport(app=server)
        for n in range(DEVICES):
            path = directory / "templates" / f"device{n}" / "c.db"
            new_collection(path, FakeClock()).close()
            self.templates.append(path)
            with ServerClient(BASE_URL, transport=transport) as client:
                if n == 0:
                    account = client.register(
                        "alice", "alice@example.com", STRONG_PASSWORD, f"device{n}"
                    )
                else:
                    account = client.login("alice", STRONG_PASSWORD, f"device{n}")
            self.accounts.append(account)


class Node:
    """One device in an example."""

    def __init__(self, world: World, n: int, directory: Path) -> None:
        path = directory / f"device{n}" / "c.db"
        copy_collection(world.templates[n], path)
        self.name = f"device{n}"
        self.clock = FakeClock()
        self.col = open_collection(path, self.clock)
        self.transport = FaultyTransport(
            httpx.WSGITransport(app=world.server), restart=world.server.restart
        )

        def save(account, n=n):
            world.accounts[n] = account

        self.client = ServerClient(
            BASE_URL, world.accounts[n], on_tokens=save, transport=self.transport
        )
        self.answers: list[reviews.Answer] = []
        self.push_batch, self.pull_page = 2000, 5000

    def sync(self):
        engine = SyncEngine(
            self.col, self.client, push_batch=self.push_batch, pull_page=self.pull_page
        )
        return engine.sync()

    def close(self) -> None:
        self.client.close()
        self.col.close()


class Convergence(RuleBasedStateMachine):
    """Random work on three devices, random syncs with faults; see the module docstring."""

    world: World  # set by the test before running

    def __init__(self) -> None:
        super().__init__()
        self.world.server.clear_log()
        self.directory = self.world.directory / f"example{next(self.world.examples)}"
        self.nodes = [Node(self.world, n, self.directory) for n in range(DEVICES)]
        self.made: set[str] = set()
        self.undone: set[str] = set()

    # -- helpers ---------------------------------------------------------------------------------

    @staticmethod
    def _one(items, index):
        """The ``index``-th item, cyclically; an empty list skips the action."""
        if not items:
            raise Nothing
        return items[index % len(items)]

    def _attempt(self, node, action):
        """Run one user action in a transaction; a refusal (a name taken, a card deleted by a
        sync meanwhile…) is a user-level outcome, not a failure, and changes nothing."""
        rule_name = sys._getframe(1).f_code.co_name
        try:
            with node.col.transaction():
                result = action(node.col)
        except (FlipdeckError, Nothing) as refusal:
            self.world.stats[f"{rule_name}: {type(refusal).__name__}"] += 1
            return None
        self.world.stats[f"{rule_name}: done"] += 1
        return result

    @staticmethod
    def _notes(col):
        return [
            r[0] for r in col.conn.execute("SELECT id FROM notes WHERE deleted = 0 ORDER BY id")
        ]

    @staticmethod
    def _cards(col):
        return [
            r[0]
            for r in col.conn.execute(
                "SELECT c.id FROM cards c JOIN notes n ON n.id = c.note_id"
                " WHERE c.deleted = 0 AND n.deleted = 0 ORDER BY c.note_id, c.ord, c.template"
            )
        ]

    @staticmethod
    def _decks(col):
        def key(deck):
            return (deck.name, deck.id != derived_id("deck", deck.name.casefold()), deck.id)

        return sorted(decks.all_decks(col), key=key)

    @staticmethod
    def _notetypes(col):
        return sorted(notetypes.all_notetypes(col), key=lambda nt: (nt.name, nt.id))

    # -- a shared start --------------------------------------------------------------------------

    @initialize(
        answered=st.integers(0, 4),
        pages=st.lists(st.sampled_from((3, 40, 5000)), min_size=DEVICES, max_size=DEVICES),
    )
    def shared_start(self, answered, pages):
        """Devices that share a collection, then go their own ways: a few notes of each kind on
        the first device, some answered, and everyone synced. Some devices push and pull in
        small batches, so faults can hit a sync in its middle."""
        for node, size in zip(self.nodes, pages, strict=True):
            node.push_batch, node.pull_page = size, size
        first = self.nodes[0]
        with first.col.transaction():
            col = first.col
            for kind, deck, values in (
                ("Basic", "Default", ["uno", "one"]),
                ("Basic (and reversed card)", "Spanish", ["dos", "two"]),
                ("Cloze", "Spanish::Verbs", ["{{c1::tres}} {{c2::three}}", ""]),
                ("Basic (optional reversed card)", "French", ["quatre", "four", "y"]),
            ):
                notes.add(col, notetypes.find(col, kind), decks.ensure(col, deck).id, values)
        for card in self._cards(first.col)[:answered]:
            self.answer(0, card=self._cards(first.col).index(card), rating=3, minutes=1)
        for _round in range(2):
            for node in self.nodes:
                node.sync()

    # -- content -----------------------------------------------------------------------------------

    @rule(
        d=device_index,
        kind=pick,
        deck=st.sampled_from(DECK_NAMES),
        words=st.lists(word, min_size=4, max_size=4),
        two=st.booleans(),
        tags=st.lists(st.sampled_from(TAGS), max_size=2),
    )
    def add_note(self, d, kind, deck, words, two, tags):
        def action(col):
            notetype = self._one(self._notetypes(col), kind)
            values = [*words, *([""] * len(notetype.fields))][: len(notetype.fields)]
            if notetype.is_cloze:
                values[0] = (
                    "{{c1::" + words[0] + "}}" + (" {{c2::" + words[1] + "}}" if two else "")
                )
            elif not two and len(values) > 2:
                values[2] = ""  # e.g. no reverse card for "Basic (optional reversed card)"
            target = decks.ensure(col, deck)
            return notes.add(col, notetype, target.id, values, tags)

        self._attempt(self.nodes[d], action)

    @rule(d=device_index, note=pick, field=pick, value=word, cloze=st.integers(0, 3))
    def edit_field(self, d, note, field, value, cloze):
        def action(col):
            loaded = notes.load(col, self._one(self._notes(col), note))
            notetype = notetypes.load(col, loaded.notetype_id)
            target = self._one(notetype.fields, field)
            text = value
            if notetype.is_cloze and cloze:
                text = f"{loaded.fields.get(target.id, '')} {{{{c{cloze}::{value}}}}}"
            return notes.edit(col, loaded, {target.name: text})

        self._attempt(self.nodes[d], action)

    @rule(d=device_index, note=pick, tag=st.sampled_from(TAGS), add=st.booleans())
    def tag(self, d, note, tag, add):
        def action(col):
            loaded = notes.load(col, self._one(self._notes(col), note))
            (notes.add_tags if add else notes.remove_tags)(col, loaded, [tag])

        self._attempt(self.nodes[d], action)

    @rule(d=device_index, note=pick)
    def delete_note(self, d, note):
        self._attempt(
            self.nodes[d], lambda col: notes.delete(col, [self._one(self._notes(col), note)])
        )

    @rule(d=device_index, card=pick)
    def delete_card(self, d, card):
        self._attempt(
            self.nodes[d], lambda col: cards.delete(col, [self._one(self._cards(col), card)])
        )

    # -- study -----------------------------------------------------------------------------------

    @rule(
        d=device_index,
        card=pick,
        rating=st.integers(1, 4),
        minutes=st.sampled_from((0, 0, 1, 10, 600, 3000)),
    )
    def answer(self, d, card, rating, minutes):
        node = self.nodes[d]
        node.clock.advance(minutes=minutes)
        done = self._attempt(
            node, lambda col: reviews.answer(col, self._one(self._cards(col), card), rating)
        )
        if done is not None:
            node.answers.append(done)
            self.made.add(done.event_id)

    @precondition(lambda self: any(node.answers for node in self.nodes))
    @rule(d=device_index)
    def undo(self, d):
        node = self._one([n for n in self.nodes if n.answers], d)
        done = node.answers.pop()
        if self._attempt(node, lambda col: reviews.undo(col, done) or True):
            self.undone.add(done.event_id)

    @rule(
        d=device_index,
        card=pick,
        action=st.sampled_from(("suspend", "unsuspend", "flag", "bury", "unbury")),
        flag=st.integers(0, 7),
    )
    def card_action(self, d, card, action, flag):
        node = self.nodes[d]

        def act(col):
            ids = [self._one(self._cards(col), card)]
            now = col.now()
            if action == "suspend":
                cards.set_suspended(col, ids, True)
            elif action == "unsuspend":
                cards.set_suspended(col, ids, False)
            elif action == "flag":
                cards.set_flag(col, ids, flag)
            elif action == "bury":
                cards.bury(col, ids, config.calendar(col).next_cutoff(now))
            else:
                cards.unbury(col, ids, now)

        self._attempt(node, act)

    @rule(d=device_index, card=pick, forget=st.booleans(), days=st.integers(0, 40))
    def manual(self, d, card, forget, days):
        def act(col):
            ids = [self._one(self._cards(col), card)]
            if forget:
                return reviews.forget(col, ids)
            today = config.calendar(col).today(col.now())
            return reviews.set_due(col, ids, today + days)

        before = self._review_ids(self.nodes[d].col)
        self._attempt(self.nodes[d], act)
        self.made |= self._review_ids(self.nodes[d].col) - before

    # -- decks -----------------------------------------------------------------------------------

    @rule(d=device_index, name=st.sampled_from(DECK_NAMES))
    def create_deck(self, d, name):
        self._attempt(self.nodes[d], lambda col: decks.create(col, name))

    @rule(d=device_index, deck=pick, name=st.sampled_from(DECK_NAMES))
    def rename_deck(self, d, deck, name):
        self._attempt(
            self.nodes[d], lambda col: decks.rename(col, self._one(self._decks(col), deck), name)
        )

    @rule(d=device_index, deck=pick)
    def delete_deck(self, d, deck):
        self._attempt(
            self.nodes[d], lambda col: decks.delete(col, self._one(self._decks(col), deck))
        )

    @rule(d=device_index, card=pick, count=st.integers(1, 3), deck=pick)
    def move_cards(self, d, card, count, deck):
        def act(col):
            live = self._cards(col)
            chosen = [self._one(live, card + i) for i in range(count)]
            return cards.move(
                col, list(dict.fromkeys(chosen)), self._one(self._decks(col), deck).id
            )

        self._attempt(self.nodes[d], act)

    # -- note types ------------------------------------------------------------------------------

    @rule(
        d=device_index,
        nt=pick,
        name=st.sampled_from(FIELD_NAMES),
        position=st.none() | st.integers(1, 3),
    )
    def add_field(self, d, nt, name, position):
        self._attempt(
            self.nodes[d],
            lambda col: notetypes.add_field(
                col, self._one(self._notetypes(col), nt), name, position
            ),
        )

    @rule(d=device_index, nt=pick, field=pick, name=st.sampled_from(FIELD_NAMES))
    def rename_field(self, d, nt, field, name):
        def act(col):
            notetype = self._one(self._notetypes(col), nt)
            return notetypes.rename_field(
                col, notetype, self._one(notetype.fields, field).name, name
            )

        self._attempt(self.nodes[d], act)

    @rule(d=device_index, nt=pick, order=st.randoms(use_true_random=False))
    def reorder_fields(self, d, nt, order):
        def act(col):
            notetype = self._one(self._notetypes(col), nt)
            names = [f.name for f in notetype.fields]
            order.shuffle(names)
            return notetypes.reorder_fields(col, notetype, names)

        self._attempt(self.nodes[d], act)

    @rule(d=device_index, nt=pick, field=pick)
    def remove_field(self, d, nt, field):
        def act(col):
            notetype = self._one(self._notetypes(col), nt)
            return notetypes.remove_field(col, notetype, self._one(notetype.fields, field).name)

        self._attempt(self.nodes[d], act)

    @rule(d=device_index, nt=pick, field=pick, name=st.sampled_from(("Reverse", "Card 3", "Audio")))
    def add_template(self, d, nt, field, name):
        def act(col):
            notetype = self._one(self._notetypes(col), nt)
            front = "{{" + self._one(notetype.fields, field).name + "}}"
            return notetypes.add_template(col, notetype, name, front, "{{FrontSide}}<hr>")

        self._attempt(self.nodes[d], act)

    @rule(d=device_index, nt=pick, template=pick)
    def remove_template(self, d, nt, template):
        def act(col):
            notetype = self._one(self._notetypes(col), nt)
            return notetypes.remove_template(
                col, notetype, self._one(notetype.templates, template).name
            )

        self._attempt(self.nodes[d], act)

    @rule(d=device_index, nt=pick)
    def delete_notetype(self, d, nt):
        self._attempt(
            self.nodes[d], lambda col: notetypes.delete(col, self._one(self._notetypes(col), nt))
        )

    @rule(d=device_index, name=st.sampled_from(NOTETYPE_NAMES), copy=st.none() | pick)
    def create_notetype(self, d, name, copy):
        def act(col):
            source = None if copy is None else self._one(self._notetypes(col), copy)
            return notetypes.create(col, name, ["Word", "Meaning"], copy_of=source)

        self._attempt(self.nodes[d], act)

    @rule(d=device_index, nt=pick, name=st.sampled_from(NOTETYPE_NAMES))
    def rename_notetype(self, d, nt, name):
        self._attempt(
            self.nodes[d],
            lambda col: notetypes.rename(col, self._one(self._notetypes(col), nt), name),
        )

    # -- options ---------------------------------------------------------------------------------

    @rule(
        d=device_index,
        deck=pick,
        option=st.sampled_from(sorted(PRESET_OPTIONS)),
        value=pick,
        fresh=st.booleans(),
    )
    def change_preset(self, d, deck, option, value, fresh):
        """As ``flipdeck deck config`` does it: change the preset (or give the deck a copy),
        then re-fold the cards of every deck that uses it."""

        def act(col):
            chosen = self._one(self._decks(col), deck)
            current = presets.load(col, chosen.preset_id)
            if fresh:
                copy = presets.save(col, replace(current, id=col.new_id(), name=f"P{value % 4}"))
                decks.set_preset(col, chosen, copy.id)
                current = copy
            updated = current.with_options(**{option: self._one(PRESET_OPTIONS[option], value)})
            if updated != current:
                presets.save(col, updated)
            users = [x.id for x in decks.all_decks(col) if x.preset_id == current.id]
            reviews.refold_decks(col, [*users, chosen.id])

        self._attempt(self.nodes[d], act)

    @rule(d=device_index, hour=st.sampled_from((0, 4, 23)))
    def rollover(self, d, hour):
        """As ``flipdeck config set rollover_hour`` does it (every card is re-folded)."""

        def act(col):
            config.set_value(col, "rollover_hour", hour)
            reviews.rebuild(col)

        self._attempt(self.nodes[d], act)

    # -- time ------------------------------------------------------------------------------------

    @rule(d=device_index, step=st.sampled_from((-DAY_MS, DAY_MS, 1, 3_600_000)))
    def move_clock(self, d, step):
        """Clocks drift: a day behind or ahead (G10), a millisecond, an hour."""
        self.nodes[d].clock.ms += step

    # -- sync ------------------------------------------------------------------------------------

    @rule(
        d=device_index,
        fault=st.sampled_from(FAULTS),
        route=st.sampled_from(ROUTES),
        skip=st.sampled_from((0, 0, 1, 2)),
    )
    def sync(self, d, fault, route, skip=0):
        """A sync, perhaps hit by a fault: a lost request or response must fail it with
        ``ServerUnavailable`` (and leave nothing half-done); anything else must succeed."""
        node = self.nodes[d]
        seen = len(node.transport.log)
        if fault is not None:
            node.transport.arm(fault, route, skip=skip)
        try:
            node.sync()
            failed = False
        except ServerUnavailable:
            failed = True
        fired = any(s.fault is not None for s in node.transport.log[seen:])
        node.transport.disarm()
        self.world.stats[
            f"sync: {fault.value if fault else 'clean'} {route[9:]}, fired={fired}"
        ] += 1
        lossy = fault in (Fault.DROP_REQUEST, Fault.DROP_RESPONSE)
        assert failed == (lossy and fired), (fault, route, failed, fired)

    @rule(d=device_index)
    def sync_cleanly(self, d):
        """Syncs without faults are the common case: a second rule makes them more frequent."""
        self.sync(d, None, ROUTES[0])

    @rule()
    def restart_server(self):
        self.world.server.restart()

    @rule()
    def quiesce_and_compare(self):
        """Convergence can be checked at any moment, not only at the end."""
        self._check()

    @invariant()
    def nothing_is_lost_locally(self):
        """Every review a device made and did not undo is still in its own log."""
        for n, node in enumerate(self.nodes):
            mine = {a.event_id for a in node.answers}
            assert mine <= self._review_ids(node.col), n

    # -- the final check -------------------------------------------------------------------------

    @staticmethod
    def _review_ids(col) -> set[str]:
        return {r[0] for r in col.conn.execute("SELECT id FROM reviews")}

    def _check(self) -> None:
        for _round in range(2):
            for node in self.nodes:
                node.sync()
        dumps = [dump(node.col) for node in self.nodes]
        for node, other in zip(self.nodes[1:], dumps[1:], strict=True):
            assert other == dumps[0], f"{self.nodes[0].name} vs {node.name}:\n" + "\n".join(
                diff(dumps[0], other)
            )
        expected = self.made - self.undone
        total_changes = 0
        for node in self.nodes:
            col = node.col
            assert self._review_ids(col) == expected, node.name
            assert reviews.stale_cards(col) == [], node.name
            _assert_derived(col)
            assert (
                col.conn.execute("SELECT count(*) FROM changes WHERE pushed = 0").fetchone()[0] == 0
            )
            total_changes += col.conn.execute("SELECT count(*) FROM changes").fetchone()[0]
        # exactly once (G4): the server holds each device change once, however often sent
        assert self.world.server.count_changes() == total_changes

    def teardown(self) -> None:
        try:
            self._check()
        finally:
            for node in self.nodes:
                node.close()
            shutil.rmtree(self.directory, ignore_errors=True)


def _assert_derived(col) -> None:
    """Derived columns are what the synced data implies: the queue follows state, suspension
    and deletion; deleted cards hold the blank state; search text is the note's fields in its
    note type's order."""
    for cid, deleted, suspended, state, queue in col.conn.execute(
        "SELECT id, deleted, suspended, state, queue FROM cards"
    ):
        expected = reviews.DELETED_QUEUE if deleted else reviews.queue_of(state, suspended)
        assert queue == expected, cid
    blank = col.conn.execute(
        "SELECT count(*) FROM cards WHERE deleted = 1 AND (state != 0 OR reps != 0"
        " OR stability IS NOT NULL OR due IS NOT NULL OR last_review IS NOT NULL)"
    ).fetchone()[0]
    assert blank == 0
    for note_id, notetype_id, raw, text in col.conn.execute(
        "SELECT id, notetype_id, fields, search FROM notes"
    ).fetchall():
        notetype = notetypes.load(col, notetype_id)
        assert text == notes.search_text(notetype, json.loads(raw)), note_id


BACKENDS = pytest.mark.parametrize("server_url", ["sqlite", "postgresql"], indirect=True)


def _run(server_app, tmp_path, monkeypatch, **options) -> None:
    # the templates' ids come before any example's
    monkeypatch.setattr("flipdeck.store.collection.uuid7", DeterministicIds(NOON - 1))

    class Machine(Convergence):
        world = World(server_app, tmp_path)

        def __init__(self) -> None:
            monkeypatch.setattr("flipdeck.store.collection.uuid7", DeterministicIds(NOON))
            super().__init__()

    try:
        run_state_machine_as_test(
            Machine,
            settings=settings(
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
                **options,
            ),
        )
    finally:
        print(f"\n{sum(Machine.world.stats.values())} actions:")
        for key, count in sorted(Machine.world.stats.items()):
            print(f"  {key}: {count}")


@BACKENDS
def test_devices_converge_whatever_happens(server_app, tmp_path, monkeypatch):
    """The CI run: enough examples to find the common interleavings in a minute."""
    _run(
        server_app,
        tmp_path,
        monkeypatch,
        max_examples=75,
        stateful_step_count=30,
    )


@pytest.mark.slow
@BACKENDS
def test_devices_converge_whatever_happens_long_run(server_app, tmp_path, monkeypatch):
    """The long run (``pytest --slow``): many more and longer histories."""
    _run(server_app, tmp_path, monkeypatch, max_examples=2000, stateful_step_count=60)
