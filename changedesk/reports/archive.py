"""The report archive: freezing a school's report at the end of each period, and the
decisions recorded from it.

- `freeze(school, period, start)` computes the report (`figures.report`) for a period that
  has ended where the school is (a month ends at midnight London time, in summer time or
  not), stores it as JSON with the SHA-256 of its canonical form, and returns the snapshot.
  With it, outside the digest, the period's stage times (`figures.stored_samples`), from
  which a report across several schools makes its medians without reading the period again.
  Freezing again returns the snapshot already there: it is never rewritten.
- `freeze_due(now)` is the worker's job (`report-archive`, registered in `apps.py`): for
  every school, the last period that has ended at the school's frequency, and any missed
  since its last snapshot (or, with none, since its first RFC), at most `MOST_CATCH_UP`.
  When everything is frozen a pass costs three queries, however many schools.
- `record_decision(...)` appends a decision to a snapshot (those who may decide, see
  `permissions.may_decide`); decisions are never edited or removed.
- `digest_of(figures)` and `verify(snapshot)`: the digest, recomputed.
- `ArchiveFilterSet`: the archive list's filters (`school`, `period`), page and API.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import date, datetime, timedelta
from typing import Any

import django_filters
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext

from changedesk.accounts.models import School, User
from changedesk.changes.models import Change
from changedesk.lib.days import today_in
from changedesk.lib.errors import InvalidAction, NotPermitted
from changedesk.lib.filters import FilterSet, SchoolFilter
from changedesk.reports import figures
from changedesk.reports.models import Decision, Period, ReportSettings, Snapshot
from changedesk.reports.permissions import may_decide

logger = logging.getLogger("changedesk.reports")

JOB_NAME = "report-archive"
# How many missed periods one pass catches up (the most recent ones).
MOST_CATCH_UP = 12
MOST_TEXT = 5000
MOST_DECIDED_BY = 200


# --- The digest. ---


def canonical(data: Any) -> str:
    """`data` as canonical JSON: keys sorted, no spaces, dates as ISO text."""
    return json.dumps(
        data, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def digest_of(data: Any) -> str:
    return hashlib.sha256(canonical(data).encode("utf-8")).hexdigest()


def verify(snapshot: Snapshot) -> bool:
    """Whether the stored figures still have the digest they were frozen with."""
    return digest_of(snapshot.figures) == snapshot.digest


# --- Periods. ---


def period_start(period: str, day: date) -> date:
    """The first day of the `period` that holds `day`."""
    start: date = figures.period_bounds(period, day)[0]
    return start


def period_end(period: str, start: date) -> date:
    """The day after the `period` that starts on `start` (exclusive)."""
    end: date = figures.period_bounds(period, start)[1]
    return end


def last_ended(period: str, today: date) -> date:
    """The start of the last `period` that ended by `today` (the one before today's)."""
    return period_start(period, period_start(period, today) - timedelta(days=1))


def has_ended(school: School, period: str, start: date, now: datetime | None = None) -> bool:
    """Whether the period has ended where the school is: its last day is over."""
    return today_in(school, now) >= period_end(period, start)


# --- Freezing. ---


def freeze(school: School, period: str, start: date, now: datetime | None = None) -> Snapshot:
    """The school's report for the period from `start`, frozen: the snapshot already there,
    or a new one. Refused (InvalidAction) for an unknown period, a day that does not start
    one, or a period that has not ended in the school's time zone."""
    if period not in Period.values:
        raise InvalidAction(
            gettext("Choose a week or a month."), {"period": gettext("Choose week or month.")}
        )
    weekly = period == Period.WEEK
    day = date_format(start, "j F Y")
    if period_start(period, start) != start:
        raise InvalidAction(
            (
                gettext("%(day)s does not start a week.")
                if weekly
                else gettext("%(day)s does not start a month.")
            )
            % {"day": day},
            {
                "start": gettext("Give the first day of a week.")
                if weekly
                else gettext("Give the first day of a month.")
            },
        )
    existing = Snapshot.objects.filter(school=school, period=period, start=start).first()
    if existing is not None:
        return existing
    if not has_ended(school, period, start, now):
        raise InvalidAction(
            (
                gettext(
                    "The week from %(day)s has not ended yet at %(school)s: it is frozen once "
                    "it has."
                )
                if weekly
                else gettext(
                    "The month from %(day)s has not ended yet at %(school)s: it is frozen once "
                    "it has."
                )
            )
            % {"day": day, "school": school.name},
            {"start": gettext("This period has not ended yet.")},
        )
    # Through JSON and back: what is stored is exactly what the digest covers.
    result, samples = figures.report_and_samples(school, period, start)
    data = json.loads(canonical(result))
    try:
        with transaction.atomic():
            return Snapshot.objects.create(
                school=school,
                period=period,
                start=start,
                end=period_end(period, start),
                figures=data,
                digest=digest_of(data),
                samples=samples,
                frozen_at=now or timezone.now(),
            )
    except IntegrityError:
        # Another worker froze it meanwhile: theirs stands.
        return Snapshot.objects.get(school=school, period=period, start=start)


def due_periods(
    school: School,
    period: str,
    now: datetime,
    after: date | None,
    first_rfc: datetime | None,
) -> list[date]:
    """The starts of the periods to freeze: from the first period after the day `after` (the
    last snapshot's end) or, with none, the period of the first RFC (or, with no RFC, only
    the last ended period), up to the last one that has ended; at most `MOST_CATCH_UP`."""
    today = today_in(school, now)
    last = last_ended(period, today)
    if after is not None:
        first = period_start(period, after)
        if first < after:  # the frequency changed since: the next whole period
            first = period_end(period, first)
    elif first_rfc is not None:
        first = period_start(period, today_in(school, first_rfc))
    else:
        first = last
    starts: list[date] = []
    day = first
    while day <= last:
        starts.append(day)
        day = period_end(period, day)
    return starts[-MOST_CATCH_UP:]


def freeze_due(now: datetime) -> list[Snapshot]:
    """The worker's job: freeze each school's periods that have ended and are not frozen.
    A school whose report fails is logged and the others are frozen all the same."""
    frequencies = dict(ReportSettings.objects.values_list("school_id", "frequency"))
    latest = dict(
        Snapshot.objects.order_by()
        .values("school_id")
        .annotate(last=Max("end"))
        .values_list("school_id", "last")
    )
    frozen: list[Snapshot] = []
    for school in School.objects.order_by("pk"):
        period = frequencies.get(school.pk, Period.MONTH)
        after = latest.get(school.pk)
        if after is not None and after >= period_end(
            period, last_ended(period, today_in(school, now))
        ):
            continue  # the last ended period is frozen: nothing to do
        first_rfc = None
        if after is None:
            first_rfc = Change.objects.filter(school=school).aggregate(first=Min("created_at"))[
                "first"
            ]
        for start in due_periods(school, period, now, after, first_rfc):
            try:
                frozen.append(freeze(school, period, start, now))
            except Exception:
                logger.exception("Could not freeze %s's %s from %s", school.slug, period, start)
                break
    return frozen


# --- Decisions. ---


def record_decision(
    snapshot: Snapshot,
    actor: User,
    text: str,
    decided_by: str,
    decided_on: date | None,
    now: datetime | None = None,
) -> Decision:
    """Append what was decided from `snapshot`. Only those who may decide at its school
    (NotPermitted); each field is checked (InvalidAction with a message per field)."""
    school = snapshot.school
    if not may_decide(actor, school):
        raise NotPermitted(
            gettext("Only those who run change management at %(school)s record decisions.")
            % {"school": school.name}
        )
    text = (text or "").strip()
    decided_by = (decided_by or "").strip()
    errors: dict[str, str] = {}
    if not text:
        errors["text"] = gettext("Say what was decided.")
    elif len(text) > MOST_TEXT:
        errors["text"] = gettext("Keep it to %(most)s characters.") % {"most": MOST_TEXT}
    if not decided_by:
        errors["decided_by"] = gettext(
            "Say who decided: a person, or a meeting such as the committee."
        )
    elif len(decided_by) > MOST_DECIDED_BY:
        errors["decided_by"] = gettext("Keep it to %(most)s characters.") % {
            "most": MOST_DECIDED_BY
        }
    today = today_in(school, now)
    if decided_on is None:
        errors["decided_on"] = gettext("Give the day it was decided.")
    elif decided_on < snapshot.start:
        errors["decided_on"] = gettext("The report covers from %(day)s: not before.") % {
            "day": date_format(snapshot.start, "j F Y")
        }
    elif decided_on > today:
        errors["decided_on"] = gettext("That day has not come yet.")
    if "\x00" in text + decided_by:
        errors["text" if "\x00" in text else "decided_by"] = gettext(
            "This contains a NUL character."
        )
    if errors or decided_on is None:
        raise InvalidAction(gettext("The decision was not recorded: see the fields."), errors)
    return Decision.objects.create(
        snapshot=snapshot,
        text=text,
        decided_by=decided_by,
        decided_on=decided_on,
        recorded_by=actor,
        recorded_at=now or timezone.now(),
    )


# --- The archive list's filters (page and API). ---


class ArchiveFilterSet(FilterSet):
    school = SchoolFilter()
    period = django_filters.ChoiceFilter(choices=Period.choices, label="Period")

    class Meta:
        model = Snapshot
        fields: list[str] = []
