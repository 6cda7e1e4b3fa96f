"""The history of an RFC: append-only, chained, and tamper-evident."""

from __future__ import annotations

from itertools import pairwise

import pytest
from django.db import connection

from changedesk.changes.choices import TERMINAL_STATES
from changedesk.changes.history import verify_all, verify_chain
from changedesk.changes.models import Change, ChangeEvent
from changedesk.changes.services import create_change
from changedesk.changes.workflow import perform
from changedesk.conftest import REQUEST, advance


def chain(change: Change) -> list[ChangeEvent]:
    return list(change.events.order_by("sequence"))


def raw(sql: str, params: list[object]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def closed(draft, team) -> Change:
    return advance(draft, team, "closed")


def test_it_never_saves_an_event_again(closed):
    event = closed.events.first()
    assert event is not None
    event.comment = "Rewritten."
    with pytest.raises(TypeError, match="append-only"):
        event.save()


def test_it_never_deletes_an_event(closed):
    event = closed.events.first()
    assert event is not None
    with pytest.raises(TypeError, match="append-only"):
        event.delete()


def test_it_never_updates_or_deletes_events_in_bulk(closed):
    with pytest.raises(TypeError, match="append-only"):
        ChangeEvent.objects.filter(change=closed).update(comment="Rewritten.")
    with pytest.raises(TypeError, match="append-only"):
        ChangeEvent.objects.filter(change=closed).delete()
    with pytest.raises(TypeError, match="append-only"):
        closed.events.all().delete()
    assert closed.events.count() == 9
    assert not closed.events.filter(comment="Rewritten.").exists()


def test_it_chains_each_event_to_the_one_before(closed):
    events = chain(closed)
    assert [e.sequence for e in events] == list(range(1, len(events) + 1))
    assert events[0].previous_hash == ""
    for before, after in pairwise(events):
        assert after.previous_hash == before.hash
    assert all(e.hash == e.compute_hash() for e in events)
    assert len({e.hash for e in events}) == len(events)


def test_it_finds_whole_chains_after_a_full_path(closed, team, school):
    returned = create_change(school, team["olivia"], dict(REQUEST))
    advance(returned, team, "awaiting_final_approval")
    perform(returned.pk, "return", team["fiona"], comment="Not in exam week.")
    advance(returned, team, "approved")
    perform(returned.pk, "withdraw", team["olivia"])

    assert verify_chain(closed, chain(closed)) is None
    assert verify_chain(returned, chain(returned)) is None
    assert list(verify_all()) == []
    assert list(verify_all(batch_size=1)) == []


def test_it_finds_a_comment_changed_in_the_database(closed, team, school):
    other = advance(create_change(school, team["olivia"], dict(REQUEST)), team, "planning")
    event = closed.events.get(kind="approve", from_state="awaiting_final_approval")
    raw("UPDATE changes_changeevent SET comment = %s WHERE id = %s", ["Approved.", event.pk])

    broken = list(verify_all())
    assert len(broken) == 1
    link = broken[0]
    assert link.change == closed
    assert link.sequence == event.sequence
    assert "does not match" in link.problem
    assert str(link) == f"greenfield:RFC-0001 event {event.sequence}: {link.problem}"
    assert verify_chain(other, chain(other)) is None
    # The same answer whatever the batch size.
    assert [(b.change.pk, b.sequence) for b in verify_all(batch_size=1)] == [
        (closed.pk, event.sequence)
    ]


def test_it_finds_a_state_changed_in_the_database(closed):
    event = closed.events.get(kind="close")
    raw("UPDATE changes_changeevent SET to_state = %s WHERE id = %s", ["withdrawn", event.pk])
    assert [(b.change, b.sequence) for b in verify_all()] == [(closed, event.sequence)]


def test_it_finds_a_rehashed_event_by_the_next_link(closed):
    """Re-computing a forged event's own hash still breaks the link after it."""
    event = closed.events.get(sequence=3)
    event.comment = "Approved, and the budget is unlimited."
    forged = event.compute_hash()
    raw(
        "UPDATE changes_changeevent SET comment = %s, hash = %s WHERE id = %s",
        [event.comment, forged, event.pk],
    )
    link = verify_chain(closed, chain(closed))
    assert link is not None
    assert link.sequence == 4
    assert "does not follow" in link.problem


def test_it_finds_a_middle_event_deleted_in_the_database(closed):
    event = closed.events.get(sequence=4)
    raw("DELETE FROM changes_changeevent WHERE id = %s", [event.pk])

    broken = list(verify_all())
    assert len(broken) == 1
    assert broken[0].change == closed
    assert broken[0].sequence == 4
    assert "missing" in broken[0].problem


def test_it_finds_the_last_event_deleted_only_by_its_state(closed):
    """Dropping the final event leaves a whole chain; the state no longer matches it."""
    last = closed.events.get(kind="close")
    raw("DELETE FROM changes_changeevent WHERE id = %s", [last.pk])
    events = chain(closed)
    closed.refresh_from_db()
    assert events[-1].to_state != closed.state


def test_it_records_exactly_one_event_per_state_change(closed, team, school):
    rejected = create_change(school, team["olivia"], dict(REQUEST))
    advance(rejected, team, "awaiting_initial_approval")
    perform(rejected.pk, "return", team["ian"], comment="Which suite?")
    advance(rejected, team, "awaiting_final_approval")
    perform(rejected.pk, "reject", team["fiona"], comment="Not this year.")

    for change in (closed, rejected):
        change.refresh_from_db()
        assert change.state in TERMINAL_STATES
        events = chain(change)
        moves = [e for e in events if e.is_state_change]
        # Each move starts where the one before it ended, and the last ends where it is now.
        assert moves[0].to_state == "draft"
        for before, after in pairwise(moves):
            assert after.from_state == before.to_state
        assert moves[-1].to_state == change.state
        # Edits never move the state; every other event does.
        assert all(e.is_state_change != (e.kind == "edit") for e in events)
        assert change.version == len(events)

    assert [e.to_state for e in chain(rejected) if e.is_state_change] == [
        "draft",
        "awaiting_initial_approval",
        "draft",
        "awaiting_initial_approval",
        "planning",
        "awaiting_peer_review",
        "awaiting_final_approval",
        "rejected",
    ]
