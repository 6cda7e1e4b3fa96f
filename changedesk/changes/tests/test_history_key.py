"""A history that cannot be quietly rewritten: the keyed chain, the re-seal of the plain
chains made before it, and the daily anchors kept outside the database."""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from django.db import connection

from changedesk import cli
from changedesk.changes import anchors, evidence
from changedesk.changes.history import reseal_and_record, verify_all, verify_chain
from changedesk.changes.models import (
    HASH_KEYED,
    HASH_PLAIN,
    Change,
    ChangeEvent,
    HistoryAnchor,
    HistoryReseal,
    event_payload,
    history_key,
    history_key_id,
    plain_seal,
    seal,
)
from changedesk.changes.services import create_change
from changedesk.changes.workflow import perform
from changedesk.conftest import REQUEST, advance
from changedesk.notifications.email import render
from changedesk.notifications.models import OutboxMessage

DAY = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def chain(change: Change) -> list[ChangeEvent]:
    return list(change.events.order_by("sequence"))


def rewrite(change: Change, sequence: int, comment: str, hashing) -> None:
    """What someone who can write to the database does: edit one event's comment and
    recompute its hash and every later one with `hashing(previous, payload) -> (hash, kind)`."""
    previous = ""
    with connection.cursor() as cursor:
        for event in chain(change):
            if event.sequence == sequence:
                event.comment = comment
            if event.sequence >= sequence:
                event.previous_hash = previous
                event.hash, event.hash_kind = hashing(previous, event_payload(event))
                cursor.execute(
                    "UPDATE changes_changeevent SET comment = %s, previous_hash = %s, hash = %s, "
                    "hash_kind = %s WHERE id = %s",
                    [event.comment, event.previous_hash, event.hash, event.hash_kind, event.pk],
                )
            previous = event.hash


def make_plain(change: Change) -> None:
    """Turn a chain into one made the old way: plain SHA-256 (as before the key)."""
    rewrite(change, 1, chain(change)[0].comment, lambda p, c: (plain_seal(p, c), HASH_PLAIN))


def verify_history(capsys) -> tuple[int, str, str]:
    status = cli.main(["verify-history"])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def closed(draft, team) -> Change:
    return advance(draft, team, "closed")


# --- The keyed chain. ---


def test_new_events_are_sealed_with_the_history_key(closed):
    events = chain(closed)
    key = history_key()
    assert {e.hash_kind for e in events} == {HASH_KEYED}
    for event in events:
        assert event.hash == seal(key, event.previous_hash, event.payload())
        assert event.hash != plain_seal(event.previous_hash, event.payload())


def test_the_key_follows_history_key_else_the_secret_key(settings):
    settings.HISTORY_KEY = settings.SECRET_KEY
    from_secret = history_key()
    settings.HISTORY_KEY = "another key of at least thirty-two characters"
    assert history_key() != from_secret
    assert len(history_key_id()) == 16


@pytest.mark.parametrize("made_plain", [False, True])
def test_a_rewrite_with_every_later_hash_recomputed_without_the_key_is_found(
    closed, capsys, made_plain
):
    kind = HASH_PLAIN if made_plain else HASH_KEYED
    rewrite(
        closed, 3, "Approved, and the budget is unlimited.", lambda p, c: (plain_seal(p, c), kind)
    )
    events = chain(closed)
    assert all(after.previous_hash == before.hash for before, after in pairwise(events))

    link = verify_chain(closed, events)
    assert link is not None
    if made_plain:
        # Made plain and re-hashed from the edit on: the edited event is not sealed.
        assert (link.sequence, link.problem) == (3, "is not sealed with the history key")
    else:
        assert (link.sequence, link.problem) == (3, "content does not match its hash")
    status, out, err = verify_history(capsys)
    assert status == 1
    assert f"BROKEN greenfield:RFC-0001 event {link.sequence}" in out
    assert "was altered in the database" in err


def test_a_rewrite_with_another_key_is_found(closed, settings):
    wrong = b"a guess at the key" * 2
    rewrite(closed, 5, "Peer reviewed.", lambda p, c: (seal(wrong, p, c), HASH_KEYED))
    assert [(b.change, b.sequence) for b in verify_all()] == [(closed, 5)]


# --- The re-seal of the chains made before the key (migration 0004). ---


def reseal():
    return reseal_and_record(Change, ChangeEvent, HistoryReseal)


def test_the_reseal_turns_plain_chains_into_keyed_ones_and_records_it(closed, team, school):
    other = advance(create_change(school, team["olivia"], dict(REQUEST)), team, "planning")
    make_plain(closed)
    make_plain(other)
    assert {b.problem for b in verify_all()} == {"is not sealed with the history key"}
    plain_hashes = {e.pk: e.hash for e in ChangeEvent.objects.all()}

    done = reseal()

    assert (done.changes, done.events, done.left_unsealed) == (2, ChangeEvent.objects.count(), [])
    assert list(verify_all()) == []
    events = list(ChangeEvent.objects.all())
    assert {e.hash_kind for e in events} == {HASH_KEYED}
    assert all(e.hash != plain_hashes[e.pk] for e in events)
    record = HistoryReseal.objects.get()
    assert (record.changes, record.events, record.key_id) == (2, len(events), history_key_id())
    lines = [json.loads(line) for line in anchors.anchors_path().read_text().splitlines()]
    assert lines == [
        {
            "type": "reseal",
            "at": record.at.isoformat(),
            "key": history_key_id(),
            "changes": 2,
            "events": len(events),
            "left_unsealed": [],
        }
    ]
    # Again: nothing left to do, nothing recorded.
    assert reseal().events == 0
    assert HistoryReseal.objects.count() == 1


def test_the_reseal_leaves_a_chain_broken_before_it_as_it_was(closed, team, school):
    whole = advance(create_change(school, team["olivia"], dict(REQUEST)), team, "planning")
    make_plain(closed)
    make_plain(whole)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE changes_changeevent SET comment = %s WHERE change_id = %s AND sequence = 4",
            ["Edited before the upgrade.", closed.pk],
        )

    done = reseal()

    assert done.changes == 1
    assert done.left_unsealed == ["greenfield:RFC-0001 event 4: content does not match its hash"]
    assert HistoryReseal.objects.get().left_unsealed == done.left_unsealed
    # Re-sealing hid nothing: the edit is still found where it was made.
    assert [(b.change, b.sequence, b.problem) for b in verify_all()] == [
        (closed, 4, "content does not match its hash")
    ]


def test_a_reseal_of_a_new_database_records_nothing(db):
    assert reseal().events == 0
    assert not HistoryReseal.objects.exists()
    assert not anchors.anchors_path().exists()


def test_an_event_added_to_a_chain_left_plain_is_keyed(closed, team):
    make_plain(closed)
    change = create_change(closed.school, team["olivia"], dict(REQUEST))
    perform(change.pk, "submit", team["olivia"])
    assert chain(change)[-1].hash_kind == HASH_KEYED
    assert verify_chain(change, chain(change)) is None


# --- Anchors. ---


def lines() -> list[dict]:
    return [json.loads(line) for line in anchors.anchors_path().read_text().splitlines()]


def digest_mail() -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(template="history_anchor").order_by("pk"))


def test_each_school_is_anchored_once_a_day(closed, team, school, other_school, oscar):
    hillside = create_change(other_school, oscar, dict(REQUEST))
    mail_before = OutboxMessage.objects.count()

    assert anchors.run(DAY) == 2
    assert anchors.run(DAY + timedelta(hours=5)) == 0

    written = lines()
    assert [(a["school"], a["day"], a["rfcs"]) for a in written] == [
        ("greenfield", "2026-11-30", 1),
        ("hillside", "2026-11-30", 1),
    ]
    head = chain(closed)[-1]
    assert written[0]["heads"][str(closed.pk)][:3] == ["RFC-0001", head.sequence, head.hash]
    assert written[0]["heads"][str(closed.pk)][3] == anchors.content_digest(chain(closed))
    assert written[0]["events"] == 9
    assert written[0]["key"] == history_key_id()
    assert written[1]["heads"][str(hillside.pk)][1] == 1
    assert HistoryAnchor.objects.count() == 2
    # The digest goes to each school's administrators (Greenfield: Sam; Hillside has none).
    queued = digest_mail()
    assert [(m.recipient.username, m.school) for m in queued] == [("sam", school)]
    assert OutboxMessage.objects.count() == mail_before + 1
    assert queued[0].context["digest"] == written[0]["digest"]


def test_the_next_day_adds_only_what_moved_and_the_file_only_grows(closed, team, school):
    anchors.run(DAY)
    first = anchors.anchors_path().read_bytes()
    second = create_change(school, team["olivia"], dict(REQUEST))

    assert anchors.run(DAY + timedelta(days=1)) == 1
    # A day on which nothing moved: marked done, but no line and no mail.
    assert anchors.run(DAY + timedelta(days=2)) == 0

    assert anchors.anchors_path().read_bytes().startswith(first)
    written = lines()
    assert [a["day"] for a in written] == ["2026-11-30", "2026-12-01"]
    assert list(written[1]["heads"]) == [str(second.pk)]
    assert written[1]["rfcs"] == 2
    assert HistoryAnchor.objects.filter(school=school).count() == 3
    assert len(digest_mail()) == 2


def test_the_anchor_job_runs_from_the_worker(closed, settings):
    from changedesk.notifications import worker

    worker.register_job(anchors.JOB_NAME, anchors.run)
    worker.run_jobs(DAY)
    assert [a["school"] for a in lines()] == ["greenfield"]


def test_the_digest_mail_says_what_to_keep(closed, team):
    anchors.run(DAY)
    message = digest_mail()[0]

    rendered = render(message.template, message.context)

    digest = lines()[0]["digest"]
    assert rendered.subject == f"History anchor of Greenfield Primary for 2026-11-30: {digest[:16]}"
    assert digest in rendered.text
    assert "Please keep this e-mail" in rendered.text
    assert "RFC-0001: 9 events, hash" in rendered.text
    assert digest in rendered.html


def test_verify_history_says_which_rfc_changed_since_which_anchor(closed, team, school, capsys):
    """Even with the key (a rewrite no chain check can see), the anchors show it."""
    other = create_change(school, team["olivia"], dict(REQUEST))
    anchors.run(DAY)
    perform(other.pk, "submit", team["olivia"])
    anchors.run(DAY + timedelta(days=1))
    status, out, _ = verify_history(capsys)
    assert status == 0
    assert out.splitlines()[0] == "OK: 11 events in 2 RFCs"
    assert "matches 2 anchors of 1 schools" in out

    key = history_key()
    rewrite(other, 2, "Submitted on time.", lambda p, c: (seal(key, p, c), HASH_KEYED))
    assert list(verify_all()) == []

    status, out, err = verify_history(capsys)

    assert status == 1
    assert (
        "CHANGED RFC-0002 at Greenfield Primary: event 2 changed since the anchor of 2026-12-01"
        in out
    )
    assert "RFC-0001" not in out
    assert "the history of 1 of 2 RFCs was altered" in err


def test_verify_history_finds_events_and_rfcs_deleted_since_an_anchor(closed, team, school, capsys):
    other = create_change(school, team["olivia"], dict(REQUEST))
    anchors.run(DAY)
    last = chain(closed)[-1]
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM changes_changeevent WHERE id = %s", [last.pk])
        cursor.execute("DELETE FROM changes_changeevent WHERE change_id = %s", [other.pk])
        cursor.execute("DELETE FROM changes_change WHERE id = %s", [other.pk])

    status, out, _ = verify_history(capsys)

    assert status == 1
    assert (
        "CHANGED RFC-0001 at Greenfield Primary: events after 8 were deleted since the anchor "
        "of 2026-11-30" in out
    )
    assert (
        "CHANGED RFC-0002 at greenfield: the RFC and its events were deleted since the anchor "
        "of 2026-11-30" in out
    )


def test_verify_history_names_another_key(closed, settings, capsys):
    anchors.run(DAY)
    settings.HISTORY_KEY = "another key of at least thirty-two characters"

    status, out, _ = verify_history(capsys)

    assert status == 1
    assert "BROKEN greenfield:RFC-0001 event 1: content does not match its hash" in out
    assert "NOTE the anchors were written with another history key" in out


def test_a_torn_line_is_skipped_and_counted(closed, capsys):
    anchors.run(DAY)
    with anchors.anchors_path().open("a") as file:
        file.write('{"type": "anchor", "day": "2026-12-')

    status, out, _ = verify_history(capsys)

    assert status == 0
    assert "NOTE 1 lines of the anchors file unreadable" in out


# --- The evidence export. ---


def export_evidence(capsys, *args: str) -> tuple[int, str, str]:
    status = cli.main(["export-evidence", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_the_evidence_export_checks_without_the_key(closed, team, capsys, tmp_path):
    anchors.run(DAY)
    status, out, err = export_evidence(capsys, "RFC-0001", "--school", "greenfield")
    assert (status, err) == (0, "")
    document = json.loads(out)

    assert document["rfc"]["reference"] == "RFC-0001"
    assert document["chain"] == {"whole": True, "problem": ""}
    assert [e["hash"] for e in document["events"]] == [e.hash for e in chain(closed)]
    assert document["people"][str(team["olivia"].pk)]["username"] == "olivia"
    [anchor] = document["anchors"]
    assert (anchor["day"], anchor["sequence"]) == ("2026-11-30", 9)
    assert anchor["content"] == lines()[0]["heads"][str(closed.pk)][3]
    assert evidence.check(document) == []
    assert evidence.check(document, with_key=True) == []

    path = tmp_path / "evidence.json"
    path.write_text(out)
    assert export_evidence(capsys, "--check", str(path))[:2] == (
        0,
        "OK: RFC-0001 at Greenfield Primary, 9 events, 1 anchors, sealed\n",
    )


def test_an_evidence_file_changed_after_its_export_is_found(closed, capsys, tmp_path):
    anchors.run(DAY)
    document = json.loads(export_evidence(capsys, "greenfield:RFC-0001")[1])
    document["events"][2]["comment"] = "Approved, and the budget is unlimited."

    # Without the key: the content no longer matches the anchor (and the digest mail).
    assert evidence.check(document) == [
        "events 1 to 9 do not match the content anchored on 2026-11-30"
    ]
    # With the key, on the server: the keyed hash and the seal too.
    path = tmp_path / "evidence.json"
    path.write_text(json.dumps(document))
    status, out, _ = export_evidence(capsys, "--check", str(path))
    assert status == 1
    assert "BROKEN event 3: content does not match its keyed hash" in out
    assert "BROKEN the seal does not match" in out


def test_export_evidence_refuses_an_unknown_rfc(db, capsys):
    status, _, err = export_evidence(capsys, "RFC-0042")
    assert status == 1
    assert "no RFC RFC-0042" in err


def test_the_readme_recipe_checks_an_export_without_the_key(closed, capsys, tmp_path, monkeypatch):
    anchors.run(DAY)
    out = export_evidence(capsys, "greenfield:RFC-0001")[1]
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    block = readme.split("**Evidence for an auditor.**", 1)[1].split("```python", 1)[1]
    recipe = textwrap.dedent(block.split("```", 1)[0])
    monkeypatch.chdir(tmp_path)
    (tmp_path / "evidence.json").write_text(out)

    exec(recipe, {})  # the README's own code, run as an auditor would

    head = chain(closed)[-1].hash
    assert capsys.readouterr().out.split() == [
        "2026-11-30",
        "9",
        head[:32],
        lines()[0]["heads"][str(closed.pk)][3][:32],
    ]
    document = json.loads(out)
    document["events"][2]["comment"] = "Rewritten."
    (tmp_path / "evidence.json").write_text(json.dumps(document))
    with pytest.raises(AssertionError, match="2026-11-30"):
        exec(recipe, {})
