"""`verify-history` at scale: the events streamed in batches (a chain's state carried from
one batch to the next), the RFCs checked in worker processes on PostgreSQL, and progress."""

from __future__ import annotations

import importlib
import io
from datetime import UTC, datetime

import pytest
from django.core.management.base import OutputWrapper
from django.db import connection

from changedesk import cli
from changedesk.changes import anchors, history
from changedesk.changes.history import verify_all, verify_chain, verify_history
from changedesk.changes.models import Change, ChangeEvent
from changedesk.changes.services import create_change
from changedesk.conftest import REQUEST, advance

DAY = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
command = importlib.import_module("changedesk.changes.management.commands.verify-history")


def raw(sql: str, params: list[object]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def ordered() -> list[ChangeEvent]:
    """Every event in the order the check reads them."""
    return list(ChangeEvent.objects.order_by("change_id", "sequence"))


def found(**kwargs) -> list[tuple[int, int, str]]:
    return [(b.change.pk, b.sequence, b.problem) for b in verify_all(**kwargs)]


@pytest.fixture
def changes(draft, team, school) -> list[Change]:
    """Chains of 9, 1, 3 and 9 events: 22 events in all."""
    closed = advance(draft, team, "closed")
    new = create_change(school, team["olivia"], dict(REQUEST))
    planning = advance(create_change(school, team["olivia"], dict(REQUEST)), team, "planning")
    other = advance(create_change(school, team["olivia"], dict(REQUEST)), team, "closed")
    return [closed, new, planning, other]


@pytest.mark.parametrize("batch_size", [1, 2, 3, 4, 5, 8, 9, 10, 21, 22, 23, 5000])
def test_every_batch_size_finds_whole_chains(changes, batch_size):
    """Batches that end inside a chain, on its last event, or hold several chains."""
    assert [c.events.count() for c in changes] == [9, 1, 3, 9]
    verified = verify_history(batch_size=batch_size)
    assert verified.problems == []
    assert (verified.events, verified.changes) == (22, 4)


@pytest.mark.parametrize("batch_size", [1, 3, 4, 5, 9, 5000])
@pytest.mark.parametrize("position", [0, 8, 9, 10, 12, 13, 21])
def test_an_edit_is_found_wherever_it_falls_in_a_batch(changes, batch_size, position):
    """An edited event at each place of a batch: first, last or in the middle, and the first
    or last event of its chain; the same answer as checking the chain on its own."""
    event = ordered()[position]
    raw("UPDATE changes_changeevent SET comment = %s WHERE id = %s", ["Edited.", event.pk])
    change = Change.objects.get(pk=event.change_id)

    link = verify_chain(change, list(change.events.order_by("sequence")))

    assert link is not None
    assert found(batch_size=batch_size) == [
        (change.pk, event.sequence, "content does not match its hash")
    ]


@pytest.mark.parametrize("batch_size", [1, 3, 4, 5, 9])
def test_a_link_broken_across_a_batch_edge_is_found(changes, batch_size):
    """The 5th event's hash re-computed over its edit: the 6th no longer follows it. With a
    batch of 5 (or 1) the two are in different batches, so the link is checked across."""
    closed = changes[0]
    event = closed.events.get(sequence=5)
    event.comment = "Peer reviewed, and more."
    raw(
        "UPDATE changes_changeevent SET comment = %s, hash = %s WHERE id = %s",
        [event.comment, event.compute_hash(), event.pk],
    )
    assert found(batch_size=batch_size) == [(closed.pk, 6, "does not follow the event before it")]


@pytest.mark.parametrize("batch_size", [1, 2, 3, 4, 9, 5000])
def test_deleted_events_are_found_at_a_batch_edge(changes, batch_size):
    """A middle event, and a chain's first, each deleted: a batch of 9 or 3 ends right
    before them."""
    closed, _new, planning, other = changes
    raw("DELETE FROM changes_changeevent WHERE change_id = %s AND sequence = 4", [closed.pk])
    raw("DELETE FROM changes_changeevent WHERE change_id = %s AND sequence = 1", [planning.pk])
    raw("DELETE FROM changes_changeevent WHERE change_id = %s AND sequence = 9", [other.pk])
    assert found(batch_size=batch_size) == [
        (closed.pk, 4, "event is missing"),
        (planning.pk, 1, "event is missing"),
    ]
    assert verify_history(batch_size=batch_size).events == 19


def test_several_problems_come_in_the_order_of_the_rfcs(changes):
    closed, new, _planning, other = changes
    for change, sequence in [(other, 2), (new, 1), (closed, 9)]:
        raw(
            "UPDATE changes_changeevent SET comment = %s WHERE change_id = %s AND sequence = %s",
            ["Edited.", change.pk, sequence],
        )
    expected = [(closed.pk, 9), (new.pk, 1), (other.pk, 2)]
    for batch_size in (1, 4, 5000):
        assert [(pk, seq) for pk, seq, _ in found(batch_size=batch_size)] == expected


def test_an_anchored_rfc_whose_events_were_all_deleted_is_found(changes, capsys):
    _closed, new, *_ = changes
    anchors.run(DAY)
    raw("DELETE FROM changes_changeevent WHERE change_id = %s", [new.pk])

    status = cli.main(["verify-history"])

    out, err = capsys.readouterr()
    assert status == 1
    assert out.splitlines() == [
        "CHANGED RFC-0002 at Greenfield Primary: events after 0 were deleted since the anchor "
        "of 2026-11-30"
    ]
    assert "the history of 1 of 4 RFCs was altered" in err


def test_anchors_are_checked_across_batches(changes):
    closed, *_ = changes
    anchors.run(DAY)
    key = history.history_key()
    events = list(closed.events.order_by("sequence"))
    # A rewrite with the key, from event 3 on: every chain whole, but not the anchor.
    previous = events[1].hash
    with connection.cursor() as cursor:
        for event in events[2:]:
            if event.sequence == 3:
                event.comment = "Approved, and the budget is unlimited."
            event.previous_hash = previous
            event.hash = history.seal(key, previous, history.event_payload(event))
            cursor.execute(
                "UPDATE changes_changeevent SET comment = %s, previous_hash = %s, hash = %s "
                "WHERE id = %s",
                [event.comment, event.previous_hash, event.hash, event.pk],
            )
            previous = event.hash
    read = anchors.Anchors.read()
    for batch_size in (1, 2, 5000):
        assert [str(p) for p in verify_all(batch_size=batch_size, anchors=read)] == [
            "RFC-0001 at Greenfield Primary: events 1 to 9 changed since the anchor of 2026-11-30"
        ]


# --- In parallel: worker processes, each with its own connection (PostgreSQL only). ---


@pytest.mark.django_db(transaction=True)
def test_the_parallel_check_finds_what_one_process_finds(
    changes, other_school, oscar, capsys, monkeypatch
):
    """Committed rows (the workers' own connections see nothing uncommitted), in several
    parts; on SQLite both run in one process."""
    closed, new, planning, _other = changes
    hillside = create_change(other_school, oscar, dict(REQUEST))
    anchors.run(DAY)
    raw(
        "UPDATE changes_changeevent SET comment = %s WHERE change_id = %s AND sequence = 7",
        ["Edited.", closed.pk],
    )
    raw("DELETE FROM changes_changeevent WHERE change_id = %s AND sequence = 2", [planning.pk])
    raw(
        "UPDATE changes_changeevent SET comment = %s WHERE change_id = %s AND sequence = 1",
        ["Edited.", hillside.pk],
    )
    raw("DELETE FROM changes_changeevent WHERE change_id = %s", [new.pk])

    parallel = []
    real = history._in_parallel
    monkeypatch.setattr(
        history, "_in_parallel", lambda *args: parallel.append(args[1]) or real(*args)
    )
    one = verify_history(jobs=1, batch_size=2, anchors=anchors.Anchors.read())
    assert parallel == []
    two = verify_history(jobs=2, batch_size=2, anchors=anchors.Anchors.read())
    assert parallel == ([2] if connection.vendor == "postgresql" else [])

    assert [str(p) for p in two.problems] == [str(p) for p in one.problems]
    assert [p.change for p in two.problems] == [p.change for p in one.problems]
    assert (two.events, two.changes) == (one.events, one.changes) == (21, 5)
    assert [str(p) for p in one.problems] == [
        "greenfield:RFC-0001 event 7: content does not match its hash",
        "RFC-0002 at Greenfield Primary: events after 0 were deleted since the anchor of "
        "2026-11-30",
        "greenfield:RFC-0003 event 2: event is missing",
        "RFC-0003 at Greenfield Primary: events after 2 were deleted since the anchor of "
        "2026-11-30",
        "hillside:RFC-0001 event 1: content does not match its hash",
    ]

    outputs = []
    for jobs in ("1", "2"):
        status = cli.main(["verify-history", "--jobs", jobs])
        outputs.append((status, *capsys.readouterr()))
    assert outputs[0] == outputs[1]
    assert outputs[0][0] == 1
    assert "the history of 4 of 5 RFCs was altered in the database; first: " in outputs[0][2]


@pytest.mark.django_db(transaction=True)
def test_the_parallel_check_of_whole_chains(changes, capsys):
    assert cli.main(["verify-history", "--jobs", "2"]) == 0
    assert capsys.readouterr().out == "OK: 22 events in 4 RFCs\n"


def test_inside_a_transaction_the_check_runs_in_one_process(changes, monkeypatch):
    """The workers could not see rows this transaction has not committed."""
    monkeypatch.setattr(history, "_in_parallel", None)
    assert verify_history(jobs=4).problems == []


def test_an_empty_database_is_whole(db, capsys):
    assert verify_history(jobs=2) == history.Verified([], 0, 0)
    assert cli.main(["verify-history", "--progress"]) == 0
    out, err = capsys.readouterr()
    assert out == "OK: 0 events in 0 RFCs\n"
    assert err == "checked 0 of 0 events (100%), 0 events/s\n"


# --- The command's options and progress. ---


def test_progress_is_shown_on_request(changes, capsys):
    assert cli.main(["verify-history", "--progress"]) == 0
    out, err = capsys.readouterr()
    assert out == "OK: 22 events in 4 RFCs\n"
    lines = err.splitlines()
    assert lines[-1].startswith("checked 22 of 22 events (100%), ")
    assert lines[-1].endswith(" events/s")


def test_no_progress_when_standard_error_is_not_a_terminal(changes, capsys):
    assert cli.main(["verify-history"]) == 0
    assert capsys.readouterr().err == ""


def test_progress_goes_as_it_checks(changes):
    told: list[tuple[int, int]] = []
    verify_history(batch_size=10, progress=lambda checked, total: told.append((checked, total)))
    assert told[:3] == [(10, 22), (20, 22), (22, 22)]
    assert told[-1] == (22, 22)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_progress_line_is_rewritten_in_place(monkeypatch):
    clock = iter([0.0, 0.1, 0.2, 1.0, 2.0])
    monkeypatch.setattr(command.time, "monotonic", lambda: next(clock))
    stream = Terminal()
    line = command.ProgressLine(OutputWrapper(stream), terminal=True)
    line(1000, 3000)  # shown: the first
    line(1500, 3000)  # not: too soon after it
    line(2000, 3000)  # shown
    line(3000, 3000)  # shown: the last
    line.end()
    assert stream.getvalue() == (
        "\rchecked 1,000 of 3,000 events (33%), 10,000 events/s"
        "\rchecked 2,000 of 3,000 events (66%), 2,000 events/s "
        "\rchecked 3,000 of 3,000 events (100%), 1,500 events/s\n"
    )


@pytest.mark.parametrize("jobs", ["0", "-1", "two"])
def test_jobs_must_be_a_positive_number(db, capsys, jobs):
    assert cli.main(["verify-history", "--jobs", jobs]) == 2
    assert "jobs" in capsys.readouterr().err
