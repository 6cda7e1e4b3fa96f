"""Everything of one school as a ZIP archive of JSON and CSV files, for its administrator.

What it holds is said in its README.txt (`README`). Each table is written as it is read, a
chunk of rows at a time, into a ZIP archive in a temporary file (never the whole in memory);
the file is then sent. A person is named by username, an RFC by its reference, rather than
by the database's ids, so the archive reads on its own; the ids are there too, for joining.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from typing import IO, Any

from django.db import models
from django.db.models import QuerySet
from django.utils import timezone

from changedesk.accounts.models import Membership, School, User
from changedesk.changes.models import Change, ChangeEvent, ChangeItem, format_reference
from changedesk.committee.models import AgendaItem, Meeting
from changedesk.communication.models import Notice
from changedesk.configuration.models import ConfigurationItem
from changedesk.lib.cells import csv_cell
from changedesk.reports.models import Decision, Snapshot
from changedesk.schedule.models import CalendarPeriod, MaintenanceWindow, SchoolCalendar

CHUNK = 1000

README = """\
Everything changedesk holds of {school} ({slug}), exported on {when} by {who}.

Each table is a CSV file (UTF-8, a header row, for a spreadsheet) and a JSON file (a list
of objects, for a program). Times are ISO 8601 in UTC; a person is named by username
(the column ending in "__username"), an RFC by its reference ("change__number" is its
number: RFC-0007 is 7). The "id" columns join the files to one another.

school.json                 The school and its settings.
members.csv / .json         Its members: username, name, e-mail address and roles.
changes.csv                 Its requests for change (RFCs), one a row.
changes.json                The same RFCs, each with its history ("events"), oldest first.
change_events.csv / .json   Every RFC's history, one event a row: what happened, who did it,
                            when, and the hash chain ("previous_hash", "hash") that shows
                            it was not altered (`changedesk verify-history` checks it).
change_items.csv / .json    Which configuration items each RFC touches, and what changed.
items.csv / .json           The configuration items (the school's systems and kit).
calendar_periods.csv / .json  The school calendar: terms, holidays, exams, freezes.
maintenance_windows.csv / .json  The preferred times for changes.
school_calendar.json        The teaching day and the school days.
notices.csv / .json         The notices to staff and pupils about changes.
meetings.csv / .json        The change advisory committee's meetings.
agenda_items.csv / .json    What each meeting discussed and decided.
report_snapshots.json       The frozen reports of each week or month, with their figures
                            and the SHA-256 ("digest") they were frozen with.
report_decisions.csv / .json  What was decided from each frozen report.
"""


def _columns(model: type[models.Model], leave_out: Iterable[str] = ()) -> list[str]:
    """A model's columns as `values()` names them: a person by username, an RFC by its
    number (with its id), the school left out (it is the archive's one school)."""
    names: list[str] = []
    for field in model._meta.concrete_fields:
        if field.name in leave_out or field.name == "school":
            continue
        target = field.related_model
        if target is User:
            names.append(f"{field.name}__username")
        elif target is Change:
            names.extend([field.attname, f"{field.name}__number"])
        else:
            names.append(field.attname)
    return names


def _plain(value: Any) -> Any:
    """A value as JSON holds it."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, memoryview | bytes):
        return None
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if not isinstance(value, str):
        return str(_plain(value))
    # Text a spreadsheet would read as a formula starts with a quote mark instead.
    return "'" + value if value.startswith(("=", "+", "-", "@")) else value


def _rows(queryset: QuerySet[Any], names: list[str]) -> Iterator[dict[str, Any]]:
    for row in queryset.values(*names).iterator(chunk_size=CHUNK):
        yield {name: _plain(value) for name, value in row.items()}


class _Writer:
    """Writes tables into the open ZIP archive, a row at a time."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive

    def text(self, name: str, text: str) -> None:
        self.archive.writestr(name, text)

    def json_list(self, name: str, rows: Iterable[dict[str, Any]]) -> None:
        with self.archive.open(name, "w") as raw, io.TextIOWrapper(raw, "utf-8") as out:
            out.write("[")
            for index, row in enumerate(rows):
                out.write(",\n" if index else "\n")
                out.write(json.dumps(row, ensure_ascii=False, default=str))
            out.write("\n]\n")

    def csv(self, name: str, names: list[str], rows: Iterable[dict[str, Any]]) -> None:
        with self.archive.open(name, "w") as raw, io.TextIOWrapper(raw, "utf-8", newline="") as out:
            out.write("\ufeff")  # so a spreadsheet reads it as UTF-8
            # As every CSV changedesk writes: each cell quoted, none read as a formula.
            writer = csv.writer(out, quoting=csv.QUOTE_ALL)
            writer.writerow(names)
            for row in rows:
                writer.writerow([csv_cell(_cell(row.get(n))) for n in names])

    def table(self, name: str, queryset: QuerySet[Any], names: list[str]) -> None:
        self.csv(f"{name}.csv", names, _rows(queryset, names))
        self.json_list(f"{name}.json", _rows(queryset, names))


def write_archive(school: School, user: User) -> IO[bytes]:
    """The school's archive, in a temporary file at its start."""
    out = tempfile.TemporaryFile()  # noqa: SIM115  (handed to the response, which closes it)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        put = _Writer(archive)
        put.text(
            "README.txt",
            README.format(
                school=school.name,
                slug=school.slug,
                when=timezone.now().isoformat(timespec="seconds"),
                who=user.username,
            ),
        )
        school_row = School.objects.filter(pk=school.pk).values().get()
        put.text(
            "school.json",
            json.dumps({k: _plain(v) for k, v in school_row.items()}, indent=2, default=str),
        )
        _members(put, school)
        _changes(put, school)
        events = ChangeEvent.objects.filter(change__school=school).order_by("change_id", "sequence")
        put.table("change_events", events, _columns(ChangeEvent))
        links = ChangeItem.objects.filter(change__school=school).order_by("change_id", "id")
        put.table("change_items", links, _columns(ChangeItem))
        for name, queryset in (
            ("items", ConfigurationItem.objects.filter(school=school).order_by("id")),
            ("calendar_periods", CalendarPeriod.objects.filter(school=school).order_by("id")),
            ("maintenance_windows", MaintenanceWindow.objects.filter(school=school)),
            ("notices", Notice.objects.filter(school=school).order_by("id")),
            ("meetings", Meeting.objects.filter(school=school).order_by("id")),
        ):
            put.table(name, queryset, _columns(queryset.model))
        agenda = AgendaItem.objects.filter(meeting__school=school).order_by("meeting_id", "order")
        put.table("agenda_items", agenda, _columns(AgendaItem))
        calendar = SchoolCalendar.objects.filter(school=school)
        put.json_list("school_calendar.json", _rows(calendar, _columns(SchoolCalendar)))
        snapshots = Snapshot.objects.filter(school=school).order_by("start", "id")
        put.json_list("report_snapshots.json", _rows(snapshots, _columns(Snapshot)))
        decisions = Decision.objects.filter(snapshot__school=school).order_by("snapshot_id", "id")
        put.table("report_decisions", decisions, _columns(Decision))
    out.seek(0)
    return out


def _members(put: _Writer, school: School) -> None:
    memberships = (
        Membership.objects.filter(school=school)
        .select_related("user")
        .prefetch_related("roles")
        .order_by("user__username")
    )
    names = ["username", "first_name", "last_name", "email", "job_title", "is_active", "roles"]

    def rows() -> Iterator[dict[str, Any]]:
        for membership in memberships:
            person = membership.user
            yield {
                "username": person.username,
                "first_name": person.first_name,
                "last_name": person.last_name,
                "email": person.email,
                "job_title": person.job_title,
                "is_active": person.is_active,
                "roles": " ".join(sorted(r.role for r in membership.roles.all())),
            }

    put.csv("members.csv", names, rows())
    put.json_list("members.json", rows())


def _changes(put: _Writer, school: School) -> None:
    """changes.csv, one RFC a row, and changes.json, each RFC with its events: a chunk of
    RFCs and then their events at a time."""
    names = ["reference", *_columns(Change)]
    changes = Change.objects.filter(school=school).order_by("number")
    event_names = [n for n in _columns(ChangeEvent) if n not in ("change_id", "change__number")]

    def rows() -> Iterator[dict[str, Any]]:
        for row in _rows(changes, names[1:]):
            yield {"reference": format_reference(row["number"]), **row}

    put.csv("changes.csv", names, rows())

    def with_events() -> Iterator[dict[str, Any]]:
        chunk: list[dict[str, Any]] = []

        def flush() -> Iterator[dict[str, Any]]:
            by_change: dict[int, list[dict[str, Any]]] = {row["id"]: [] for row in chunk}
            events = ChangeEvent.objects.filter(change_id__in=list(by_change)).order_by(
                "change_id", "sequence"
            )
            for event in _rows(events, ["change_id", *event_names]):
                by_change[event.pop("change_id")].append(event)
            for row in chunk:
                yield {**row, "events": by_change[row["id"]]}

        for row in rows():
            chunk.append(row)
            if len(chunk) == CHUNK:
                yield from flush()
                chunk = []
        yield from flush()

    put.json_list("changes.json", with_events())
