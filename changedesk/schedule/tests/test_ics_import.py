"""Importing the school calendar from an iCalendar file: all-day and timed events, kinds
chosen or guessed, idempotent re-import on UID, cancellations, and bad files."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from changedesk.schedule.ics_import import IcsError, guess_kind, import_ics, read_ics
from changedesk.schedule.models import CalendarPeriod
from changedesk.schedule.tests.factories import at

pytestmark = pytest.mark.django_db

VTIMEZONE = """BEGIN:VTIMEZONE
TZID:Europe/London
BEGIN:STANDARD
DTSTART:19701025T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700329T010000
TZOFFSETFROM:+0000
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
END:VTIMEZONE
"""


def ics(*events: str) -> bytes:
    body = "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Test LA//Term dates//EN\n" + VTIMEZONE
    body += "".join(events) + "END:VCALENDAR\n"
    return body.replace("\n", "\r\n").encode()


def event(uid: str, summary: str, *lines: str) -> str:
    return "BEGIN:VEVENT\nUID:{}\nDTSTAMP:20250101T000000Z\nSUMMARY:{}\n{}\nEND:VEVENT\n".format(
        uid, summary, "\n".join(lines)
    )


TERM_DATES = ics(
    event(
        "spring-2025@la", "Spring term", "DTSTART;VALUE=DATE:20250106", "DTEND;VALUE=DATE:20250405"
    ),
    event(
        "feb-half@la",
        "February half term",
        "DTSTART;VALUE=DATE:20250217",
        "DTEND;VALUE=DATE:20250222",
    ),
    event("inset-1@la", "INSET day", "DTSTART;VALUE=DATE:20250331"),
    event("mocks@school", "GCSE mocks", "DTSTART;VALUE=DATE:20250303", "DTEND;VALUE=DATE:20250315"),
    event(
        "paper1@school",
        "Maths paper 1",
        "DTSTART;TZID=Europe/London:20250602T090000",
        "DTEND;TZID=Europe/London:20250602T103000",
    ),
)


def test_it_guesses_the_kind_from_the_name():
    assert guess_kind("Spring Term 2025") == "term"
    assert guess_kind("October half-term") == "holiday"
    assert guess_kind("Half Term") == "holiday"
    assert guess_kind("Christmas holidays") == "holiday"
    assert guess_kind("INSET day") == "inset"
    assert guess_kind("Staff training day") == "inset"
    assert guess_kind("GCSE mocks") == "exam"
    assert guess_kind("Year 6 SATs") == "exam"
    assert guess_kind("Summer term exams") == "exam"
    assert guess_kind("Sports day") is None


def test_it_previews_without_writing(school):
    preview = read_ics(TERM_DATES, school)
    assert CalendarPeriod.objects.count() == 0
    assert [(r.name, r.kind, r.action) for r in preview.rows] == [
        ("Spring term", "term", "create"),
        ("February half term", "holiday", "create"),
        ("INSET day", "inset", "create"),
        ("GCSE mocks", "exam", "create"),
        ("Maths paper 1", "exam", "create"),
    ]
    assert preview.rows[3].when == "3\u201314 March"
    assert preview.created == 5


def test_all_day_events_run_local_midnight_to_local_midnight(school):
    import_ics(TERM_DATES, school)
    spring = CalendarPeriod.objects.get(source_uid="spring-2025@la")
    assert spring.starts_at == at(2025, 1, 6)
    # The last day is Fri 4 Apr, after the clocks went forward: midnight BST is 23:00 UTC.
    assert spring.ends_at == at(2025, 4, 5)
    assert spring.ends_at == datetime(2025, 4, 4, 23, tzinfo=UTC)
    inset = CalendarPeriod.objects.get(source_uid="inset-1@la")
    assert (inset.starts_at, inset.ends_at) == (at(2025, 3, 31), at(2025, 4, 1))
    assert inset.kind == "inset"


def test_timed_events_keep_their_time_zone(school):
    import_ics(TERM_DATES, school)
    paper = CalendarPeriod.objects.get(source_uid="paper1@school")
    assert paper.starts_at == datetime(2025, 6, 2, 8, tzinfo=UTC)  # 09:00 BST
    assert paper.ends_at == datetime(2025, 6, 2, 9, 30, tzinfo=UTC)
    data = ics(
        event("utc@x", "Exam", "DTSTART:20250110T090000Z", "DTEND:20250110T100000Z"),
        event("float@x", "Exam", "DTSTART:20250602T090000", "DURATION:PT2H"),
    )
    preview = import_ics(data, school)
    utc_exam = CalendarPeriod.objects.get(source_uid="utc@x")
    assert utc_exam.starts_at == datetime(2025, 1, 10, 9, tzinfo=UTC)
    floating = CalendarPeriod.objects.get(source_uid="float@x")
    assert (floating.starts_at, floating.ends_at) == (at(2025, 6, 2, 9), at(2025, 6, 2, 11))
    assert "read in Europe/London" in preview.rows[1].note


def test_importing_again_updates_rather_than_duplicates(school):
    import_ics(TERM_DATES, school)
    assert CalendarPeriod.objects.count() == 5
    again = import_ics(TERM_DATES, school)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 5)
    assert CalendarPeriod.objects.count() == 5
    moved = TERM_DATES.replace(b"DTEND;VALUE=DATE:20250315", b"DTEND;VALUE=DATE:20250318")
    moved = moved.replace(b"SUMMARY:GCSE mocks", b"SUMMARY:GCSE mock exams")
    result = import_ics(moved, school)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 4)
    mocks = CalendarPeriod.objects.get(source_uid="mocks@school")
    assert mocks.name == "GCSE mock exams"
    assert mocks.ends_at == at(2025, 3, 18)
    assert CalendarPeriod.objects.count() == 5


def test_the_same_uid_in_another_school_is_another_period(school, other_school):
    import_ics(TERM_DATES, school)
    import_ics(TERM_DATES, other_school)
    assert CalendarPeriod.objects.filter(school=other_school).count() == 5
    assert CalendarPeriod.objects.count() == 10


def test_a_chosen_kind_wins_over_the_guess(school):
    preview = import_ics(TERM_DATES, school, kind="holiday")
    assert {row.kind for row in preview.rows} == {"holiday"}
    assert set(CalendarPeriod.objects.values_list("kind", flat=True)) == {"holiday"}


def test_events_it_cannot_place_are_listed_not_imported(school):
    data = ics(
        event("sports@x", "Sports day", "DTSTART;VALUE=DATE:20250620"),
        event("weekly@x", "Exam club", "DTSTART;VALUE=DATE:20250620", "RRULE:FREQ=WEEKLY"),
        event("nostart@x", "Exam without a date"),
        event("mixed@x", "Exam", "DTSTART:20250602T090000Z", "DTEND;VALUE=DATE:20250603"),
        event("backwards@x", "Exam", "DTSTART:20250602T090000Z", "DTEND:20250602T080000Z"),
        event("mocks@x", "Mocks", "DTSTART;VALUE=DATE:20250303"),
        event("mocks@x", "Mocks again", "DTSTART;VALUE=DATE:20250304"),
    )
    preview = import_ics(data, school)
    notes = {row.uid: row.note for row in preview.rows if row.action == "skip"}
    assert "does not say what kind" in notes["sports@x"]
    assert "Repeating events" in notes["weekly@x"]
    assert "start" in notes["nostart@x"]
    assert "mix a date" in notes["mixed@x"]
    assert "no length" in notes["backwards@x"]
    assert list(CalendarPeriod.objects.values_list("source_uid", "name")) == [("mocks@x", "Mocks")]
    # Choosing a kind imports the one whose name said nothing.
    assert import_ics(data, school, kind="term").created == 1


def test_a_cancelled_event_removes_its_period(school):
    import_ics(TERM_DATES, school)
    cancelled = TERM_DATES.replace(
        b"SUMMARY:INSET day\r\n", b"SUMMARY:INSET day\r\nSTATUS:CANCELLED\r\n"
    )
    preview = import_ics(cancelled, school)
    assert preview.deleted == 1
    assert not CalendarPeriod.objects.filter(source_uid="inset-1@la").exists()
    again = import_ics(cancelled, school)
    assert again.deleted == 0
    assert CalendarPeriod.objects.count() == 4


def test_a_freeze_keeps_its_hardness_when_reimported(school):
    data = ics(event("census@x", "Census day freeze", "DTSTART;VALUE=DATE:20250515"))
    import_ics(data, school)
    CalendarPeriod.objects.filter(source_uid="census@x").update(is_hard=True)
    import_ics(data.replace(b"SUMMARY:Census day freeze", b"SUMMARY:Census freeze"), school)
    assert CalendarPeriod.objects.get(source_uid="census@x").is_hard


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "it is not text"),
        (b"Name,Start\nSpring,2025-01-06\n", "it should begin with BEGIN:VCALENDAR"),
        (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", "no events"),
        (b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nthis is not a line\r\n", "cannot be read"),
    ],
)
def test_a_bad_file_is_refused_with_a_clear_error(school, data, message):
    with pytest.raises(IcsError) as caught:
        import_ics(data, school)
    assert message in caught.value.message
    assert CalendarPeriod.objects.count() == 0


def test_a_huge_file_is_refused(school):
    with pytest.raises(IcsError, match="too large"):
        read_ics(b"BEGIN:VCALENDAR\r\n" + b"X" * (3 * 1024 * 1024), school)


# --- Bounded work: a file of many time zones and rules is refused before it is parsed. ---


def outlook_like(zones: int, rules: int, *, fold: bool = False) -> bytes:
    """What the probe sent: many VTIMEZONE blocks, each with many rules from 1601."""
    parts = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Probe//EN"]
    for zone in range(zones):
        parts += ["BEGIN:VTIMEZONE", f"TZID:Zone {zone}"]
        for rule in range(rules):
            name = "STANDARD" if rule % 2 else "DAYLIGHT"
            begin = f"BEGIN:{name[:3]}\r\n {name[3:]}" if fold else f"BEGIN:{name}"
            parts += [begin, f"DTSTART:{1601 + rule}0101T020000", "TZOFFSETFROM:+0100",
                      "TZOFFSETTO:+0000", "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
                      f"END:{name}"]  # fmt: skip
        parts.append("END:VTIMEZONE")
    parts += ["BEGIN:VEVENT", "UID:x@probe", "SUMMARY:Spring term",
              'DTSTART;TZID="Zone 0":20250106T090000', 'DTEND;TZID="Zone 0":20250106T100000',
              "END:VEVENT", "END:VCALENDAR"]  # fmt: skip
    return ("\r\n".join(parts) + "\r\n").encode()


@pytest.fixture
def parser_not_called(monkeypatch):
    import icalendar

    def refuse(*args, **kwargs):
        raise AssertionError("the file was handed to the iCalendar parser")

    monkeypatch.setattr(icalendar.Calendar, "from_ical", refuse)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (outlook_like(200, 40), "The file defines 200 time zones (VTIMEZONE)"),
        (outlook_like(11, 2), "The file defines 11 time zones"),
        (outlook_like(1, 400), "up to 400 in one zone; at most 6 in a zone"),
        (outlook_like(5, 6), "have 30 rules (STANDARD and DAYLIGHT)"),
        # Folded lines (RFC 5545 3.1) are unfolded before counting.
        (outlook_like(2, 40, fold=True), "up to 40 in one zone"),
    ],
)
def test_a_file_of_many_time_zone_rules_is_refused_before_it_is_parsed(
    school, parser_not_called, data, message
):
    with pytest.raises(IcsError) as caught:
        read_ics(data, school)
    assert message in caught.value.message
    assert "Export it again" in caught.value.message


def test_too_many_events_are_refused_before_the_file_is_parsed(school, parser_not_called):
    many = ics(*(event(f"e{n}", "INSET day", "DTSTART;VALUE=DATE:20250331") for n in range(2001)))
    with pytest.raises(IcsError, match="The file has 2001 events: at most 2000"):
        read_ics(many, school)


def test_an_ordinary_outlook_file_still_imports(school):
    preview = read_ics(outlook_like(2, 2), school)
    [row] = preview.rows
    assert row.action == "create"
    assert row.starts_at == datetime(2025, 1, 6, 9, tzinfo=UTC)


def test_an_event_outside_the_calendars_years_is_not_imported(school):
    preview = read_ics(
        ics(
            event(
                "old@la", "Spring term", "DTSTART;VALUE=DATE:18000106", "DTEND;VALUE=DATE:18000405"
            )
        ),
        school,
    )
    [row] = preview.rows
    assert row.action == "skip"
    assert "between 1900 and 2999" in row.note


def test_the_confirm_step_imports_the_previews_rows_without_parsing_again(
    client, school, team, monkeypatch
):
    import re

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    client.force_login(team["sam"])
    url = reverse("schedule:import", args=[school.slug])
    upload = SimpleUploadedFile("terms.ics", TERM_DATES, content_type="text/calendar")
    preview = client.post(url, {"file": upload, "kind": "guess"}).content.decode()
    payload = re.search(r'name="payload" value="([^"]+)"', preview)[1]
    import icalendar

    def refuse(*args, **kwargs):
        raise AssertionError("the confirm step parsed the file again")

    monkeypatch.setattr(icalendar.Calendar, "from_ical", refuse)
    response = client.post(url, {"payload": payload})
    assert response.status_code == 302
    assert CalendarPeriod.objects.filter(school=school).count() == 5
    # Confirmed twice: matched against the calendar as it is now, so nothing is doubled.
    client.post(url, {"payload": payload})
    assert CalendarPeriod.objects.filter(school=school).count() == 5


def test_a_tampered_confirmation_is_a_400_saying_so(client, school, team):
    from django.core import signing
    from django.urls import reverse

    from changedesk.schedule.views import ICS_SALT

    client.force_login(team["sam"])
    url = reverse("schedule:import", args=[school.slug])
    response = client.post(url, {"payload": "not-signed"})
    assert response.status_code == 400
    assert "That preview could not be read. Nothing was imported" in response.content.decode()
    garbled = signing.dumps({"school": school.pk, "rows": [{"uid": "x"}]}, salt=ICS_SALT)
    response = client.post(url, {"payload": garbled}, follow=True)
    assert "The calendar changed while importing" in response.content.decode()
    assert not CalendarPeriod.objects.exists()


def test_many_times_in_a_files_own_zones_are_refused_before_it_is_parsed(school, parser_not_called):
    timed = (
        event(f"t{n}", "INSET day", 'DTSTART;TZID="Zone 0":20250106T090000',
              'DTEND;TZID="Zone 0":20250106T100000')
        for n in range(1500)
    )  # fmt: skip
    zones = outlook_like(1, 6).decode().split("BEGIN:VEVENT")[0]
    data = (zones + "".join(timed).replace("\n", "\r\n") + "END:VCALENDAR\r\n").encode()
    with pytest.raises(IcsError, match="gives 3000 times in its own time zones"):
        read_ics(data, school)


def custom_zone_file(uid: str, offset: str) -> bytes:
    """An event at 09:00 in a zone the file defines itself, under a made-up TZID."""
    body = (
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Test//EN\n"
        "BEGIN:VTIMEZONE\nTZID:School Office Time\nBEGIN:STANDARD\nDTSTART:19700101T000000\n"
        f"TZOFFSETFROM:{offset}\nTZOFFSETTO:{offset}\nEND:STANDARD\nEND:VTIMEZONE\n"
        + event(
            uid,
            "Exam",
            "DTSTART;TZID=School Office Time:20250110T090000",
            "DTEND;TZID=School Office Time:20250110T100000",
        )
        + "END:VCALENDAR\n"
    )
    return body.replace("\n", "\r\n").encode()


def test_one_files_own_time_zone_never_reads_another_schools_times(school, other_school):
    """The library caches a file's own zones by TZID for the whole process, first one
    winning; each file is read afresh, so the second school's +0500 is its own."""
    first = read_ics(custom_zone_file("a@x", "+0200"), school)
    second = read_ics(custom_zone_file("b@x", "+0500"), other_school)

    assert first.rows[0].starts_at == datetime(2025, 1, 10, 7, tzinfo=UTC)
    assert second.rows[0].starts_at == datetime(2025, 1, 10, 4, tzinfo=UTC)
