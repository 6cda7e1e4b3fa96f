"""Importing a change log: the preview's row errors, all or nothing, the kept dates, states
and outcomes, and a history whose chain verifies."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from changedesk.accounts.services import set_membership
from changedesk.changes.choices import EventKind, State
from changedesk.changes.history import verify_history
from changedesk.changes.models import Change, ChangeEvent
from changedesk.lib.errors import InvalidAction, NotPermitted
from changedesk.spreadsheets import importer
from changedesk.spreadsheets.models import ChangeImport, ColumnMapping, ImportState
from changedesk.spreadsheets.row_checks import MAX_ROWS
from changedesk.spreadsheets.tests import files

LONDON = ZoneInfo("Europe/London")


def checked(school, user, data, name="log.csv", mapping=None):
    job = importer.start(school, user, data, name)
    return importer.check(job, user, job.mapping if mapping is None else mapping)


def test_an_ugly_workbook_is_imported_with_its_dates_states_and_outcomes(team, school):
    sam, olivia = team["sam"], team["olivia"]
    job = checked(school, sam, files.ugly_xlsx(), "log.xlsx")
    assert job.state == ImportState.PREVIEWED
    assert job.header_row == 3
    assert job.error_count == 0
    assert [row["number"] for row in job.preview] == [4, 6, 7]  # the blank row 5 skipped

    done = importer.apply(job, sam)

    assert done.state == ImportState.DONE
    assert (done.created_count, done.first_number, done.last_number) == (3, 1, 3)
    assert bytes(done.content) == b""  # the file is not kept once imported
    wifi, printer, trial = Change.objects.filter(school=school).order_by("number")
    assert wifi.title == "Upgrade the Wi-Fi controller"
    assert wifi.created_at == datetime(2023, 9, 4, 10, 30, tzinfo=LONDON)
    assert wifi.planned_start == datetime(2023, 9, 8, 17, 0, tzinfo=LONDON)
    assert wifi.planned_end == datetime(2023, 9, 8, 19, 0, tzinfo=LONDON)
    assert (wifi.state, wifi.outcome, wifi.originator) == (State.CLOSED, "succeeded", olivia)
    # An Excel serial number (45200) is the 1st of October; a day alone is the whole day.
    assert printer.created_at == datetime(2023, 10, 1, tzinfo=LONDON)
    assert printer.planned_start == datetime(2023, 10, 2, tzinfo=LONDON)
    assert printer.planned_end == datetime(2023, 10, 3, tzinfo=LONDON)
    assert (printer.outcome, printer.originator) == ("partially_succeeded", olivia)
    # No originator given: the administrator who imported it.
    assert (trial.state, trial.originator, trial.outcome) == (State.WITHDRAWN, sam, "")
    event = wifi.events.get()
    assert (event.kind, event.sequence, event.actor, event.to_state) == (
        EventKind.IMPORTED,
        1,
        sam,
        State.CLOSED,
    )
    assert event.data["reference"] == "OLD-7"
    assert event.data["row"] == 4
    assert verify_history().problems == []


def test_imported_history_goes_on_and_still_verifies(team, school):
    from changedesk.changes.workflow import perform

    sam, olivia = team["sam"], team["olivia"]
    rows = [
        ["Title", "Description", "Reason", "Status", "Raised by", "Initial approver"],
        ["Move the server", "To the new rack.", "The old one is full.", "Draft", "olivia", "ian"],
    ]
    job = checked(school, sam, files.utf8_bom(rows))
    importer.apply(job, sam)
    change = Change.objects.get(school=school)
    perform(change.pk, "submit", olivia)
    assert [e.kind for e in change.events.order_by("sequence")] == ["imported", "submit"]
    assert verify_history().problems == []


@pytest.mark.parametrize(
    ("data", "name"),
    [(files.semicolon_cp1252(), "log.csv"), (files.utf8_bom(), "log.csv")],
)
def test_csv_files_in_either_encoding_and_either_separator(team, school, data, name):
    sam = team["sam"]
    job = checked(school, sam, data, name)
    assert job.mapping == [
        "reference",
        "title",
        "raised",
        "state",
        "outcome",
        "planned_start",
        "notes",
    ]
    importer.apply(job, sam)
    till, projector = Change.objects.filter(school=school).order_by("number")
    assert till.title == "Replace café till"
    assert till.created_at == datetime(2024, 3, 5, tzinfo=LONDON)
    assert till.planned_start == datetime(2024, 3, 6, 18, 0, tzinfo=LONDON)
    assert till.events.get().comment == "Cost £120"
    assert (projector.state, projector.outcome) == (State.WITHDRAWN, "")


BAD = [
    ["Ref", "Title", "Date raised", "Status", "Outcome", "Planned start", "Planned end",
     "Raised by", "Date closed"],
    ["A1", "Fine row", "01/02/2024", "Closed", "Success", "", "", "olivia", "03/02/2024"],
    ["A2", "", "01/02/2024", "Closed", "", "", "", "", ""],
    ["A3", "Bad date", "31/02/2024", "Closed", "", "", "", "", ""],
    ["A4", "Bad state", "01/02/2024", "Sort of done", "", "", "", "", ""],
    ["A5", "Outcome of a draft", "01/02/2024", "Draft", "Success", "", "", "", ""],
    ["A6", "Backwards window", "01/02/2024", "Closed", "", "05/02/2024 10:00",
     "05/02/2024 09:00", "", ""],
    ["A7", "Stranger", "01/02/2024", "Closed", "", "", "", "nobody", ""],
    ["A1", "Same reference", "01/02/2024", "Closed", "", "", "", "", ""],
    ["A9", "Future", "01/02/2099", "Closed", "", "", "", "", ""],
    ["A10", "Closed before raised", "01/02/2024", "Closed", "", "", "", "", "01/01/2024"],
]  # fmt: skip


def test_the_preview_gives_each_rows_problem_and_nothing_is_written(team, school):
    sam = team["sam"]
    job = checked(school, sam, files.utf8_bom(BAD))
    by_row = {(row, field) for row, field, _ in job.errors}
    assert by_row == {
        (3, "title"),
        (4, "raised"),
        (5, "state"),
        (6, "outcome"),
        (7, "planned_end"),
        (8, "originator"),
        (9, "reference"),
        (10, "raised"),
        (11, "closed"),
    }
    messages = {row: message for row, _, message in job.errors}
    assert "not a date" in messages[4]
    assert "No member of Greenfield Primary" in messages[8]
    assert "Row 2 has the same reference" in messages[9]
    assert [row["problem"] for row in job.preview] == [False] + [True] * 9
    with pytest.raises(InvalidAction, match="9 problems"):
        importer.apply(job, sam)
    assert not Change.objects.exists()
    assert not ChangeEvent.objects.exists()


def test_a_row_gone_bad_since_the_check_fails_the_whole_import(team, school):
    """All or nothing: olivia leaves between the check and the apply; the good rows before
    and after hers are not written either."""
    sam, olivia = team["sam"], team["olivia"]
    rows = [
        ["Title", "Raised by", "Status"],
        ["First", "sam", "Closed"],
        ["Second", "olivia", "Closed"],
        ["Third", "sam", "Closed"],
    ]
    job = checked(school, sam, files.utf8_bom(rows))
    assert job.error_count == 0
    set_membership(olivia, school, [])
    olivia.memberships.filter(school=school).delete()

    done = importer.apply(job, sam)

    assert done.state == ImportState.FAILED
    assert "nothing was imported" in done.failure
    assert done.errors == [[3, "originator", done.errors[0][2]]]
    assert not Change.objects.exists()
    assert not ChangeEvent.objects.exists()
    with pytest.raises(InvalidAction, match="over"):
        importer.apply(done, sam)


def test_the_same_references_cannot_be_imported_twice(team, school):
    sam = team["sam"]
    importer.apply(checked(school, sam, files.utf8_bom()), sam)
    again = checked(school, sam, files.utf8_bom())
    assert {message for _, _, message in again.errors} == {
        "CL-1 was imported before.",
        "CL-2 was imported before.",
    }


def test_the_schools_mapping_is_remembered_and_offered_next_time(team, school, other_school):
    sam = team["sam"]
    rows = [["Ticket", "What", "Status"], ["T-1", "Swap the switch", "Closed"]]
    first = importer.start(school, sam, files.utf8_bom(rows), "log.csv")
    assert first.mapping == ["", "", "state"]  # neither name is known
    importer.check(first, sam, ["reference", "title", "state"])
    assert ColumnMapping.objects.get(school=school).fields == {
        "ticket": "reference",
        "what": "title",
        "status": "state",
    }
    second = importer.start(school, sam, files.utf8_bom(rows), "log2.csv")
    assert second.mapping == ["reference", "title", "state"]


def test_a_bad_mapping_is_refused_with_a_field_error(team, school):
    sam = team["sam"]
    job = importer.start(school, sam, files.utf8_bom(), "log.csv")
    for mapping, message in [
        (["title"], "each of the 7 columns"),
        (["reference", "title", "title", "", "", "", ""], "More than one column"),
        (["reference", "", "", "", "", "", ""], "title"),
        (["reference", "nonsense", "", "", "", "", ""], "Unknown field"),
    ]:
        with pytest.raises(InvalidAction) as refused:
            importer.check(job, sam, mapping)
        assert message in refused.value.fields["mapping"]


def test_only_the_schools_administrator_may_import(team, school, hilda, root):
    with pytest.raises(NotPermitted):
        importer.start(school, team["olivia"], files.utf8_bom(), "log.csv")
    with pytest.raises(NotPermitted):
        importer.start(school, hilda, files.utf8_bom(), "log.csv")
    job = importer.start(school, team["sam"], files.utf8_bom(), "log.csv")
    with pytest.raises(NotPermitted):
        importer.check(job, team["olivia"], job.mapping)
    with pytest.raises(NotPermitted):
        importer.apply(job, hilda)
    assert importer.start(school, root, files.utf8_bom(), "log.csv")  # a superuser may


def test_files_that_cannot_be_read_are_refused(team, school):
    sam = team["sam"]
    with pytest.raises(importer.ImportRefused, match="no changes under it"):
        importer.start(school, sam, b"Title,Status\r\n\r\n", "log.csv")
    with pytest.raises(importer.ImportRefused, match="NUL"):
        importer.start(school, sam, b"Title\x00,Status", "log.csv")
    # The upload reads only the head of a long file: the rows are counted by the check.
    long = importer.start(school, sam, b"Title\n" + b"x\n" * (MAX_ROWS + 20), "log.csv")
    checked = importer.check(long, sam, long.mapping)
    assert checked.state == ImportState.FAILED
    assert f"more than {MAX_ROWS:,} rows" in checked.failure
    assert bytes(ChangeImport.objects.get(pk=long.pk).content) == b""
