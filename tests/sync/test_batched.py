"""The fast paths of sync give exactly what the plain ones give.

* The inbox merges a page in memory and writes each row once: applying a page whole must leave
  a collection byte for byte equal to applying its changes one at a time, in any order of
  arrival, with repeats, with rows changed several times in one page (a note edited twice, a
  card deleted and revived, a review added and undone), reviews before their card and cards
  before their note.
* The codec's one-expression check of a well-formed change accepts exactly what the
  member-by-member checks accept; the push body spliced from stored JSON decodes to the same
  request as the one encoded from objects.
* The server leaves a device's own changes out of its pulls in the query and moves its cursor
  to the head; a push is fingerprinted by its bytes, and a retry of the same changes encoded
  with other spacing (an older client) is still the same request.
"""

from __future__ import annotations

import json
import random

import httpx
import pytest

from flipdeck.protocol import messages
from flipdeck.store import cards, decks, inbox, notes, notetypes, presets, reviews
from tests.conftest import FakeClock
from tests.sync.conftest import copy_collection, new_collection, open_collection
from tests.sync.dump import dump

RAW_TABLES = ("notes", "cards", "reviews", "review_graves", "decks", "presets", "foreign_changes")


def _device(tmp_path, count: int):
    """``(clock, col, deck, made)``: a new device with ``count`` Basic notes in Default."""
    clock = FakeClock()
    col = new_collection(tmp_path / "a" / "c.db", clock)
    basic = notetypes.find(col, "Basic")
    with col.transaction():
        deck = decks.ensure(col, "Default")
        made = [notes.add(col, basic, deck.id, [f"front {i}", f"back {i}"]) for i in range(count)]
    return clock, col, deck, made


def _outbox(col) -> list[inbox.Incoming]:
    """A device's outbox as another device receives it."""
    rows = col.conn.execute("SELECT id, entity, row_id, hlc, data FROM changes ORDER BY seq")
    return [inbox.Incoming(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]


def _history(tmp_path):
    """A device that did a bit of everything; returns its outbox as incoming changes."""
    clock, col, deck, made = _device(tmp_path, 4)
    (n0, (c0,)), (n1, (c1,)), (n2, _), (_n3, (c3,)) = made
    for rating in (3, 1, 3):
        clock.advance(minutes=10)
        with col.transaction():
            reviews.answer(col, c0, rating)
    clock.advance(minutes=1)
    with col.transaction():
        undone = reviews.answer(col, c1, 3)
    with col.transaction():
        reviews.undo(col, undone)
    clock.advance(minutes=1)
    with col.transaction():
        notes.edit(col, notes.load(col, n0.id), {"Front": "edited once"})
        notes.edit(col, notes.load(col, n0.id), {"Back": "edited twice"})
        notes.set_tags(col, notes.load(col, n1.id), ["geo::europe", "ß"])
        cards.set_suspended(col, [c1], True)
        notes.delete(col, [n2.id])
        cards.delete(col, [c3])
    clock.advance(minutes=1)
    with col.transaction():
        col.write("card", c3, {"deleted": 0})  # revived
        reviews.answer(col, c3, 4)
        slow = presets.save(
            col, presets.load(col, deck.preset_id).__class__(id=col.new_id(), name="Slow")
        )
        other = decks.create(col, "Other")
        decks.set_preset(col, other, slow.id)
        cards.move(col, [c0], other.id)
    changes = _outbox(col)
    col.close()
    unknown = inbox.Incoming("c-future", "lesson_progress", "l-1", "0" * 15 + "1" + "f" * 16, {})
    return [*changes, unknown]


def _raw(col) -> dict:
    return {
        table: col.conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
        for table in RAW_TABLES
    }


@pytest.mark.parametrize("order", ["as-made", "reversed", "shuffled-1", "shuffled-2", "repeats"])
def test_a_page_applied_whole_equals_its_changes_one_by_one(tmp_path, order):
    changes = _history(tmp_path)
    if order == "reversed":
        changes.reverse()
    elif order.startswith("shuffled"):
        random.Random(order).shuffle(changes)
    elif order == "repeats":
        rng = random.Random(7)
        changes = changes + rng.sample(changes, len(changes) // 2)
        rng.shuffle(changes)
    clock = FakeClock()
    base = tmp_path / "base" / "c.db"
    new_collection(base, clock).close()
    copy_collection(base, tmp_path / "whole" / "c.db")
    copy_collection(base, tmp_path / "single" / "c.db")
    whole = open_collection(tmp_path / "whole" / "c.db", clock)
    single = open_collection(tmp_path / "single" / "c.db", clock)
    with whole.transaction():
        applied = inbox.apply(whole, changes)
    totals = inbox.Applied()
    for change in changes:
        with single.transaction():
            one = inbox.apply(single, [change])
        for name in ("received", "merged", "reviews_added", "reviews_removed", "kept_unknown"):
            setattr(totals, name, getattr(totals, name) + getattr(one, name))
    assert dump(whole) == dump(single)
    assert _raw(whole) == _raw(single)
    assert reviews.stale_cards(whole) == [] == reviews.stale_cards(single)
    assert (applied.received, applied.reviews_added, applied.kept_unknown) == (
        totals.received,
        totals.reviews_added,
        totals.kept_unknown,
    )
    assert whole.clock.last == single.clock.last
    whole.close()
    single.close()


def test_the_spliced_push_body_is_the_encoded_one():
    data = {"fields.x": 'quoted " and \\ and é 日本 \n', "tags": ["a"], "n": None}
    change = messages.Change("c-1", "note", "row-1", "0" * 32, data)
    request = messages.PushRequest("device-1", [change])
    spliced = messages.encode_push_json(
        "device-1", [("c-1", "note", "row-1", "0" * 32, json.dumps(data))]
    )
    assert messages.decode_push(spliced) == messages.decode_push(messages.encode_push(request))
    assert messages.decode_push(spliced) == request


GOOD = {"id": "c-1", "entity": "note", "row": "r-1", "hlc": "0" * 32, "data": {}}
BROKEN = [
    ({**GOOD, "id": "not an id"}, "/x/id"),
    ({**GOOD, "id": 7}, "/x/id"),
    ({**GOOD, "entity": "Note"}, "/x/entity"),
    ({**GOOD, "row": ""}, "/x/row"),
    ({**GOOD, "hlc": "0" * 31}, "/x/hlc"),
    ({**GOOD, "data": []}, "/x/data"),
    ({**GOOD, "extra": 1}, "/x/extra"),
    ({k: v for k, v in GOOD.items() if k != "data"}, "/x/data"),
    ([], "/x"),
]


@pytest.mark.parametrize(("value", "pointer"), BROKEN)
def test_a_broken_change_is_refused_with_its_pointer(value, pointer):
    with pytest.raises(messages.ProtocolError) as refused:
        messages.decode_change(value, "/x")
    assert refused.value.pointer == pointer


@pytest.mark.parametrize(
    ("item", "pointer"),
    [
        ({**GOOD, "seq": 0, "device": "d"}, "/changes/0/seq"),
        ({**GOOD, "seq": True, "device": "d"}, "/changes/0/seq"),
        ({**GOOD, "seq": 1, "device": "no way"}, "/changes/0/device"),
        ({**GOOD, "seq": 1, "device": "d", "hlc": "x"}, "/changes/0/hlc"),
        ({**GOOD, "seq": 1}, "/changes/0/device"),
    ],
)
def test_a_broken_logged_change_is_refused_with_its_pointer(item, pointer):
    body = {"changes": [item], "cursor": 1, "more": False}
    with pytest.raises(messages.ProtocolError) as refused:
        messages.decode_pull_response(json.dumps(body))
    assert refused.value.pointer == pointer


def test_a_well_formed_pull_decodes_without_touching_its_input():
    item = {**GOOD, "seq": 3, "device": "d"}
    body = {"changes": [item], "cursor": 3, "more": False}
    page = messages.decode_pull_response(body)
    assert page.changes == [messages.LoggedChange(3, "d", messages.decode_change(GOOD, ""))]
    assert body["changes"][0] == {**GOOD, "seq": 3, "device": "d"}


# -- the server's side ---------------------------------------------------------------------------


def _client(server_app, device_name="d"):
    from flipdeck.sync.client import ServerClient
    from tests.server.conftest import STRONG_PASSWORD
    from tests.sync.conftest import BASE_URL

    client = ServerClient(BASE_URL, transport=httpx.WSGITransport(app=server_app))
    try:
        client.register("alice", "alice@example.com", STRONG_PASSWORD, device_name)
    except Exception:
        client.login("alice", STRONG_PASSWORD, device_name)
    return client


def _change(n: int) -> messages.Change:
    return messages.Change(f"c-{n}", "note", f"row-{n}", f"{n:032x}", {"tags": f"t{n}"})


@pytest.mark.parametrize("server_url", ["sqlite", "postgresql"], indirect=True)
def test_a_pull_skips_the_devices_own_changes_and_moves_to_the_head(server_app):
    client = _client(server_app)
    client.push(messages.PushRequest("mine", [_change(1), _change(2)]), "k-1")
    client.push(messages.PushRequest("theirs", [_change(3)]), "k-2")
    client.push(messages.PushRequest("mine", [_change(4), _change(5)]), "k-3")
    page = client.pull(0, "mine", 1)  # nothing of anyone else's after 3: up to the head
    assert [c.seq for c in page.changes] == [3] and not page.more and page.cursor == 5
    assert client.pull(5, "mine", 1) == messages.PullResponse([], 5, False)
    first = client.pull(0, "someone-else", 2)
    assert [c.seq for c in first.changes] == [1, 2] and first.more and first.cursor == 2
    everything = client.pull(0, "someone-else", 5)  # exactly the rest: no empty page after it
    assert [c.seq for c in everything.changes] == [1, 2, 3, 4, 5] and not everything.more
    ahead = client.pull(99, "mine", 5)  # a device ahead of a restored log starts over
    assert ahead.changes == [] and ahead.cursor == 5


@pytest.mark.parametrize("server_url", ["sqlite", "postgresql"], indirect=True)
def test_a_retry_with_other_spacing_is_the_same_push(server_app):
    client = _client(server_app)
    request = messages.PushRequest("mine", [_change(1), _change(2)])
    body = messages.encode_push(request)
    first = client.push_body(body, "k-1")
    assert (first.accepted, first.duplicates) == (2, 0)
    spaced = json.dumps(json.loads(body), indent=1).encode()  # e.g. an older client's bytes
    again = client.push_body(spaced, "k-1")
    assert (again.accepted, again.duplicates) == (0, 2)  # replayed, not refused
    other = messages.encode_push(messages.PushRequest("mine", [_change(1)]))
    from flipdeck.sync.errors import Rejected

    with pytest.raises(Rejected) as refused:
        client.push_body(other, "k-1")
    assert refused.value.code == "idempotency_key_reused"


@pytest.mark.parametrize("server_url", ["sqlite", "postgresql"], indirect=True)
def test_a_key_stored_with_the_canonical_fingerprint_still_replays(server_app):
    """Keys stored before pushes were fingerprinted by their changes carry the canonical
    fingerprint of the body: a retry under such a key is the same request."""
    from flipdeck.server import idempotency
    from flipdeck.server.db import database
    from flipdeck.server.models import IdempotencyKey

    client = _client(server_app)
    body = messages.encode_push(messages.PushRequest("mine", [_change(1)]))
    with database.connection_context():
        IdempotencyKey.insert(
            user=client.account.user_id,
            route="sync.push",
            key="k-old",
            fingerprint=idempotency.fingerprint(json.loads(body)),
            created_at=0,
            status=200,
            body='{"accepted":1,"duplicates":0,"cursor":1}',
        ).execute()
    replayed = client.push_body(body, "k-old")
    assert (replayed.accepted, replayed.duplicates) == (0, 1)


def test_new_cards_arrive_with_the_state_a_fold_gives_them(tmp_path):
    """A page's new, unstudied cards are inserted with a new card's derived state (queue by
    suspension, due at their note's creation) instead of being re-folded afterwards; a card
    whose review came in an earlier page, or whose note comes in a later one, still gets its
    state from the fold. Every card ends as a full rebuild leaves it, and as on the sender."""
    clock, col, _deck, made = _device(tmp_path, 6)
    clock.advance(minutes=5)
    (_, (plain,)), (_, (suspended,)), (_, (studied,)), (late_note, (orphan,)), *_ = made
    with col.transaction():
        cards.set_suspended(col, [suspended], True)
        reviews.answer(col, studied, 3)
    changes = _outbox(col)
    state_sql = f"SELECT id, queue, {reviews.STATE_COLUMNS} FROM cards ORDER BY id"
    sender = col.conn.execute(state_sql).fetchall()
    col.close()

    def early(change) -> bool:  # the review before its card, a card before its note
        return change.entity == "review" or change.row in (orphan, studied)

    first = [c for c in changes if early(c) and c.row != late_note.id]
    second = [c for c in changes if not early(c)]
    b = new_collection(tmp_path / "b" / "c.db", clock)
    with b.transaction():
        inbox.apply(b, first)
    assert b.conn.execute("SELECT due FROM cards WHERE id = ?", (orphan,)).fetchone() == (None,)
    with b.transaction():
        inbox.apply(b, second)
    received = b.conn.execute(state_sql).fetchall()
    reviews.rebuild(b)
    assert received == b.conn.execute(state_sql).fetchall() == sender
    queues = dict(b.conn.execute("SELECT id, queue FROM cards"))
    assert (queues[plain], queues[suspended], queues[studied]) == (0, -1, 1)
    b.close()
