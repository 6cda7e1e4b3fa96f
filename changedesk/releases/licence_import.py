"""Importing a school's licences from a CSV file, all or nothing, after a preview.

`parse` reads the file and checks every row as `services.licences.save_licence` and
`assign` would, against the school's licences, items and members, each loaded once; it
writes nothing and says what an import would do: the licences to add, those to update, and
every problem by row and column. `apply` asks who may (`permissions.may_manage`), parses the
file again as the database is then and, only if no row has a problem, saves every row
(`save_licence`) and gives each licence to the holders it names (`assign`), in one
transaction: every row is saved, or none is.

The file: UTF-8 (a byte-order mark is fine), comma- or semicolon-separated, its first row
naming the columns (any case; a space and an underscore are the same): product, kind,
seats, bought_on, expires_on, supplier, order_reference, notes and, optionally,
assigned_to. A row whose order reference (not empty) and product are those of a licence in
the log updates it. `assigned_to` lists holders separated by semicolons: an item's
identifier or name, else (not for a per-device licence) a member's username, else a
person's name; a holder the licence has already is left as it is.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext, ngettext

from changedesk.accounts import permissions as accounts
from changedesk.accounts.models import Membership, School, User
from changedesk.configuration.models import ConfigurationItem
from changedesk.lib.errors import InvalidAction, NotPermitted
from changedesk.releases import permissions
from changedesk.releases.choices import LicenceKind
from changedesk.releases.models import Licence, LicenceAssignment
from changedesk.releases.services import licences as services

COLUMNS = ("product", "kind", "seats", "bought_on", "expires_on", "supplier",
           "order_reference", "notes", "assigned_to")  # fmt: skip
REQUIRED_COLUMNS = ("product", "kind")
MOST_ROWS = 2000
MOST_BYTES = 2 * 1024 * 1024
MOST_HOLDERS = 2000
BOM = "\ufeff"
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")
KINDS = {
    "per_device": LicenceKind.PER_DEVICE,
    "device": LicenceKind.PER_DEVICE,
    "per_user": LicenceKind.PER_USER,
    "user": LicenceKind.PER_USER,
    "site": LicenceKind.SITE,
    "subscription": LicenceKind.SUBSCRIPTION,
}
SEPARATOR = ";"

NEW = "new"
UPDATE = "update"
PROBLEM = "problem"


@dataclass(frozen=True, slots=True)
class RowError:
    """A problem: its row (the first, naming the columns, is 1; 0 is the whole file), its
    column ("" for the row or the file) and what is wrong."""

    row: int
    field: str
    message: str


@dataclass(slots=True)
class Row:
    number: int
    cells: dict[str, str]
    # What `save_licence` is given.
    data: dict[str, Any] = field(default_factory=dict)
    # The licence it updates (None: a new one).
    licence: Licence | None = None
    # The holders to add, each as `assign` takes it.
    holders: list[dict[str, Any]] = field(default_factory=list)
    status: str = NEW
    errors: list[RowError] = field(default_factory=list)

    def fail(self, column: str, message: str) -> None:
        if any(e.field == column for e in self.errors):
            return  # one problem a column
        self.errors.append(RowError(self.number, column, message))
        self.status = PROBLEM


@dataclass
class Preview:
    """What importing the file would do; nothing is written to make it."""

    school: School
    columns: tuple[str, ...] = ()
    rows: list[Row] = field(default_factory=list)
    problems: list[RowError] = field(default_factory=list)

    @property
    def errors(self) -> list[RowError]:
        return [*self.problems, *(error for row in self.rows for error in row.errors)]

    @property
    def to_create(self) -> list[Row]:
        return [row for row in self.rows if row.status == NEW]

    @property
    def to_update(self) -> list[Row]:
        return [row for row in self.rows if row.status == UPDATE]

    @property
    def ok(self) -> bool:
        return not self.errors


class _Refused(Exception):
    def __init__(self, message: str, row: int = 0) -> None:
        super().__init__(message)
        self.row = row


def parse(school: School, text: str) -> Preview:
    """Read and check `text` against `school`'s log, items and members; writes nothing."""
    preview = Preview(school)
    try:
        records = _records(text)
        number, header = records[0]
        preview.columns = _columns(number, header)
        if len(records) == 1:
            raise _Refused(gettext("The file has no licences under its first row."), number)
    except _Refused as refusal:
        preview.problems.append(RowError(refusal.row, "", str(refusal)))
        return preview
    known = _Known.load(school, "assigned_to" in preview.columns)
    for number, cells in records[1:]:
        preview.rows.append(_row(known, preview.columns, number, cells))
    return preview


def _records(text: str) -> list[tuple[int, list[str]]]:
    size = len(text.encode("utf-8", "surrogatepass")) - text.count("\r\n")
    if size > MOST_BYTES:
        raise _Refused(
            gettext("The file is over %(most)s MB; split it in two.")
            % {"most": MOST_BYTES // (1024 * 1024)}
        )
    if "\x00" in text:
        raise _Refused(gettext("The file holds NUL characters: is it really a CSV file?"))
    text = text.removeprefix(BOM)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    records: list[tuple[int, list[str]]] = []
    number = 0
    try:
        for number, cells in enumerate(reader, start=1):
            if not any(cell.strip() for cell in cells):
                continue
            if len(records) > MOST_ROWS:
                raise _Refused(
                    gettext(
                        "The file has more than %(most)s licences (rows under the first); split "
                        "it into smaller files."
                    )
                    % {"most": f"{MOST_ROWS:,}"}
                )
            records.append((number, cells))
    except csv.Error as error:
        raise _Refused(
            gettext(
                'Row %(number)s cannot be read as CSV (%(error)s). A cell holding a quote (") '
                "must be quoted itself, the quote doubled."
            )
            % {"number": number + 1, "error": error},
            number + 1,
        ) from None
    if not records:
        raise _Refused(
            gettext("The file is empty. Its first row names the columns: %(columns)s.")
            % {"columns": ", ".join(COLUMNS)}
        )
    return records


def _delimiter(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    try:
        return csv.Sniffer().sniff(first[:4096], delimiters=",;").delimiter
    except csv.Error:
        return ","


def column_name(cell: str) -> str:
    return re.sub(r"[\s_]+", "_", cell.strip().lower())


def _columns(number: int, cells: list[str]) -> tuple[str, ...]:
    names = [column_name(cell) for cell in cells]
    while names and not names[-1]:
        names.pop()
    problems = []
    if "" in names:
        problems.append(
            gettext("Column %(number)s of the first row has no name.")
            % {"number": names.index("") + 1}
        )
    unknown = [cells[i].strip() for i, name in enumerate(names) if name and name not in COLUMNS]
    if unknown:
        problems.append(
            ngettext(
                "Unknown column: %(unknown)s. The columns are: %(columns)s.",
                "Unknown columns: %(unknown)s. The columns are: %(columns)s.",
                len(unknown),
            )
            % {"unknown": ", ".join(unknown)[:200], "columns": ", ".join(COLUMNS)}
        )
    repeated = sorted(name for name, count in Counter(names).items() if name and count > 1)
    if repeated:
        problems.append(
            gettext("More than one column is called %(names)s.") % {"names": ", ".join(repeated)}
        )
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        problems.append(
            ngettext(
                "The first row must name the column %(names)s: every licence needs them.",
                "The first row must name the columns %(names)s: every licence needs them.",
                len(missing),
            )
            % {"names": ", ".join(missing)}
        )
    if problems:
        raise _Refused(" ".join(problems), number)
    return tuple(names)


@dataclass
class _Known:
    school: School
    # (order reference, product), both folded: the log's licence.
    licences: dict[tuple[str, str], Licence]
    # Each licence's holders: items' ids, users' ids and people's names (folded).
    holders: dict[int, set[tuple[str, Any]]]
    counts: dict[int, int]
    items: dict[str, list[ConfigurationItem]]
    members: dict[str, User]
    seen: dict[tuple[str, str], int] = field(default_factory=dict)

    @classmethod
    def load(cls, school: School, holders: bool) -> _Known:
        licences = {
            (lic.order_reference.casefold(), lic.product.casefold()): lic
            for lic in Licence.objects.filter(school=school).exclude(order_reference="")
        }
        held: dict[int, set[tuple[str, Any]]] = {}
        counts: dict[int, int] = Counter()
        items: dict[str, list[ConfigurationItem]] = {}
        members: dict[str, User] = {}
        ids = [lic.pk for lic in licences.values()]
        for start in range(0, len(ids), 500):
            rows = LicenceAssignment.objects.filter(licence_id__in=ids[start : start + 500])
            for lic_id, item_id, user_id, person in rows.values_list(
                "licence_id", "item_id", "user_id", "person"
            ):
                counts[lic_id] += 1
                key = (
                    ("item", item_id)
                    if item_id
                    else ("user", user_id)
                    if user_id
                    else ("person", " ".join(person.split()).casefold())
                )
                held.setdefault(lic_id, set()).add(key)
        if holders:
            found = ConfigurationItem.objects.filter(school=school).only(
                "pk", "school_id", "name", "identifier", "is_active"
            )
            for item in found.order_by("name", "id"):
                names = {item.name.strip().casefold()}
                if item.identifier:
                    names.add(item.identifier.strip().casefold())
                for name in names:
                    items.setdefault(name, []).append(item)
            for membership in Membership.objects.filter(
                school=school, user__is_active=True
            ).select_related("user"):
                members[membership.user.username.casefold()] = membership.user
        return cls(school, licences, held, dict(counts), items, members)


def _row(known: _Known, columns: tuple[str, ...], number: int, cells: list[str]) -> Row:
    values = {name: cell.strip() for name, cell in zip(columns, cells, strict=False)}
    row = Row(number, {name: values.get(name, "") for name in COLUMNS})
    if len(cells) > len(columns) and any(cell.strip() for cell in cells[len(columns) :]):
        row.fail(
            "",
            gettext("This row has %(cells)s cells but there are %(columns)s columns.")
            % {"cells": len(cells), "columns": len(columns)},
        )
    text = row.cells
    kind = KINDS.get(column_name(text["kind"]).replace("-", "_"))
    if kind is None:
        row.fail("kind", gettext("Give the kind: per device, per user, site or subscription."))
    data: dict[str, Any] = {
        "product": text["product"],
        "kind": kind or LicenceKind.SITE,
        "seats": _seats(row, text["seats"]),
        "bought_on": _date(row, "bought_on", text["bought_on"]),
        "expires_on": _date(row, "expires_on", text["expires_on"]),
        "supplier": text["supplier"],
        "order_reference": text["order_reference"],
        "notes": text["notes"],
    }
    # A column the file does not have leaves what a licence it updates has.
    data = {n: v for n, v in data.items() if n in columns}
    key = (text["order_reference"].casefold(), text["product"].casefold())
    if text["order_reference"]:
        first = known.seen.setdefault(key, number)
        if first != number:
            row.fail(
                "order_reference",
                gettext("Row %(number)s has the same order reference and product.")
                % {"number": first},
            )
        row.licence = known.licences.get(key)
    # The licence as saving the row would leave it (what a new one has: the defaults).
    licence = row.licence or Licence(school=known.school)
    probe = Licence(pk=licence.pk, school=known.school)
    for name in services.LICENCE_FIELDS:
        setattr(probe, name, getattr(licence, name))
    for name, value in data.items():
        setattr(probe, name, value)
    try:
        services._check(probe)
    except InvalidAction as error:
        for name, message in error.fields.items():
            row.fail("" if name == "__all__" else name, message)
    if row.licence is not None and kind is not None:
        try:
            services._check_holders_fit(probe)
        except InvalidAction as error:
            for name, message in error.fields.items():
                row.fail(name, message)
    row.data = data
    _holders(known, row, kind, text["assigned_to"], probe.seats)
    if row.status != PROBLEM:
        row.status = UPDATE if row.licence is not None else NEW
    return row


def _seats(row: Row, text: str) -> int | None:
    if not text:
        return None
    cleaned = text.replace(",", "")
    if not cleaned.isdecimal():
        row.fail(
            "seats", gettext("“%(text)s” is not a whole number of seats.") % {"text": text[:20]}
        )
        return None
    return int(cleaned)


def _date(row: Row, column: str, text: str) -> date | None:
    if not text:
        return None
    for form in DATE_FORMATS:
        try:
            day = datetime.strptime(text, form).date()
        except ValueError:
            continue
        if not services.within_range(day):
            row.fail(column, f"“{text[:20]}”: {services.date_range_error()}")
            return None
        return day
    row.fail(
        column,
        gettext("“%(text)s” is not a date: give it as YYYY-MM-DD or DD/MM/YYYY.")
        % {"text": text[:20]},
    )
    return None


def _holders(known: _Known, row: Row, kind: str | None, text: str, seats: int | None) -> None:
    parts = [p.strip() for p in text.split(SEPARATOR) if p.strip()]
    if not parts:
        return
    if len(parts) > MOST_HOLDERS:
        row.fail(
            "assigned_to",
            gettext("At most %(most)s holders a row.") % {"most": f"{MOST_HOLDERS:,}"},
        )
        return
    held = known.holders.get(row.licence.pk, set()) if row.licence else set()
    school = known.school.name
    problems: list[str] = []
    added = 0
    # The holders named so far, as resolved: a holder named twice (“olivia;OLIVIA”, an
    # item's identifier and its name) is given the licence once, as `assign` would allow.
    named: set[tuple[str, Any]] = set()
    for part in parts:
        key = part.casefold()
        found = [i for i in known.items.get(key, []) if i.is_active]
        member = known.members.get(key)
        if len(found) > 1:
            problems.append(
                gettext("%(school)s has several items called “%(name)s”.")
                % {"school": school, "name": part[:60]}
            )
            continue
        if found:
            if kind == LicenceKind.PER_USER:
                problems.append(
                    gettext("“%(name)s” is an item: a per-user licence is for people.")
                    % {"name": part[:60]}
                )
                continue
            holder: dict[str, Any] = {"item": found[0]}
            mark: tuple[str, Any] = ("item", found[0].pk)
        elif kind == LicenceKind.PER_DEVICE:
            problems.append(
                gettext("%(school)s has no item “%(name)s”.")
                % {"school": school, "name": part[:60]}
            )
            continue
        elif member is not None:
            holder, mark = {"user": member}, ("user", member.pk)
        else:
            if len(part) > 200:
                problems.append(gettext("A person's name has at most 200 characters."))
                continue
            name = " ".join(part.split())
            holder, mark = {"person": name}, ("person", name.casefold())
        if mark in held or mark in named:
            continue
        named.add(mark)
        row.holders.append(holder)
        added += 1
    if problems:
        row.fail("assigned_to", " ".join(problems[:5]))
        return
    used = (known.counts.get(row.licence.pk, 0) if row.licence else 0) + added
    if kind in services.COUNTED and seats is not None and used > seats:
        row.fail(
            "assigned_to",
            gettext("It would have %(holders)s: add seats or name fewer.")
            % {"holders": services.holders_for(used, seats)},
        )


def apply(school: School, actor: User, text: str) -> tuple[int, int]:
    """Check the file again, as the database is now, and save every row: all, or (any
    problem: `InvalidAction`) none. Returns (added, updated)."""
    actor = accounts.with_roles(actor)
    if not permissions.may_manage(actor, school):
        raise NotPermitted(
            gettext("Only a release manager or a school administrator of %(school)s may %(what)s.")
            % {"school": school.name, "what": gettext("import licences")}
        )
    with transaction.atomic():
        School.objects.select_for_update(no_key=True).filter(pk=school.pk).first()
        preview = parse(school, text)
        errors = preview.errors
        if errors:
            first = errors[0]
            where = gettext("Row %(number)s: ") % {"number": first.row} if first.row else ""
            raise InvalidAction(
                ngettext(
                    "The file has %(count)s problem; nothing was imported.",
                    "The file has %(count)s problems; nothing was imported.",
                    len(errors),
                )
                % {"count": len(errors)},
                {"file": f"{where}{first.message}"},
            )
        for row in preview.rows:
            try:
                licence = services.save_licence(school, actor, dict(row.data), row.licence)
                for holder in row.holders:
                    services.assign(licence, actor, holder)
            except InvalidAction as error:
                raise InvalidAction(
                    gettext("Row %(number)s: %(message)s")
                    % {"number": row.number, "message": error.message},
                    error.fields,
                ) from error
    return len(preview.to_create), len(preview.to_update)
