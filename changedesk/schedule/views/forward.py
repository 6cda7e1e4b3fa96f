"""The forward schedule of change: month, week and agenda views, and their printable form.

It shows the RFCs with a planned window in the caller's schools only; a school or item
of someone else's is a 404. What each day shows is capped (see `queries.day_cells`), so
a page costs the same few queries however many RFCs the schools have.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, pgettext
from django.views.decorators.http import require_GET

from changedesk.accounts.current import current_user
from changedesk.accounts.models import School, Trust
from changedesk.changes import extensions
from changedesk.changes.choices import ChangeType, State
from changedesk.changes.models import Change
from changedesk.configuration.models import ConfigurationItem
from changedesk.lib import paging
from changedesk.schedule import planned, queries
from changedesk.schedule.calendar import (
    CalendarData,
    day_abbr,
    day_name,
    describe_dates,
    load_calendars,
    month_name,
    sane_year,
)
from changedesk.schedule.conflicts import find_conflicts_many
from changedesk.schedule.filters import ScheduleFilterSet
from changedesk.schedule.models import CalendarPeriod
from changedesk.schedule.templatetags import schedule_tags as tags
from changedesk.schedule.views.common import schools_of

VIEWS = ("month", "week", "agenda")
MONTH_PER_DAY = 4
WEEK_PER_DAY = 20
AGENDA_DAYS = 31
AGENDA_PAGE = 50
PRINT_AGENDA_PAGE = 500
AGENDA_OVERLAPS = 3  # overlapping RFCs named per row; the rest are counted


@dataclass
class ScheduleQuery:
    """What the schedule is asked to show, read from the query string: the view and the
    day it starts from, and the filters' values (to show them and to keep them in links)."""

    view: str
    day: date
    schools: list[School]
    school: School | None
    item: ConfigurationItem | None
    state: str
    approval: str
    tz: ZoneInfo
    type: str = ""
    # The trust whose schools (among the caller's) are shown, when asked for by slug.
    trust: Trust | None = None
    # The apps' filters asked for (`changes.extensions`, e.g. one trust-wide change's
    # RFCs): (name, value, what it keeps in words).
    app_filters: tuple[tuple[str, str, str], ...] = ()

    def params(self, **overrides: Any) -> str:
        values: dict[str, Any] = {
            "view": self.view,
            "date": self.day.isoformat(),
            "school": self.school.slug if self.school else "",
            "item": self.item.pk if self.item else "",
            "state": self.state,
            "approval": self.approval,
            "type": self.type,
            "trust": self.trust.slug if self.trust else "",
            **{name: value for name, value, _ in self.app_filters},
        }
        values.update(overrides)
        return urlencode({k: v for k, v in values.items() if v not in ("", None)})

    @property
    def shown(self) -> list[School]:
        return [self.school] if self.school else self.schools


def _parse_date(value: str | None, default: date) -> date:
    try:
        parsed = date.fromisoformat(value) if value else default
    except ValueError:
        return default
    return parsed if sane_year(parsed.year) else default


def _schedule_query(request: HttpRequest) -> tuple[ScheduleQuery, QuerySet[Change]]:
    """What is asked for, and the RFCs it covers (see `filters.ScheduleFilterSet`)."""
    schools = schools_of(current_user(request))
    trust = None
    if request.GET.get("trust"):
        # A trust's forward schedule: its schools among the caller's.
        trust = Trust.objects.filter(slug=request.GET["trust"][:60]).first()
        schools = [s for s in schools if trust is not None and s.trust_id == trust.pk]
        if not schools:
            raise Http404("No such trust among yours.")
    filters = ScheduleFilterSet(request.GET, schools=schools)
    if not filters.is_valid() and {"school", "item"} & set(filters.errors):
        raise Http404("No such school or item among yours.")
    shown = filters.shown
    zones = {s.timezone for s in shown}
    tz = ZoneInfo(zones.pop() if len(zones) == 1 else settings.TIME_ZONE)
    view = request.GET.get("view", "month")
    query = ScheduleQuery(
        view=view if view in VIEWS else "month",
        day=_parse_date(request.GET.get("date"), timezone.now().astimezone(tz).date()),
        schools=filters.schools,
        school=filters.value("school"),
        item=filters.value("item"),
        state=filters.value("state") or "",
        approval=filters.value("approval") or "",
        type=filters.value("type") or "",
        tz=tz,
        trust=trust,
        app_filters=tuple(filters.app_filters(current_user(request))),
    )
    return query, filters.qs


def _days(query: ScheduleQuery, *, show_school: bool) -> tags.DayRenderer:
    """What renders the days of a month or week (see `templatetags.schedule_tags`)."""
    # The agenda from each day: the page's parameters around the day (a NUL, encoded as
    # %00, marks its place: any "%" in a value is encoded as %25).
    before, after = query.params(view="agenda", date="\0").split("%00")
    return tags.DayRenderer(
        forward_url=reverse("schedule:forward"),
        agenda_link=(before, after),
        detail=tags.detail_pattern(),
        tz=query.tz,
        school_names={s.pk: s.name for s in query.schools} if show_school else None,
    )


def _month_context(query: ScheduleQuery, changes: Any, today: date) -> dict[str, Any]:
    first = query.day.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    grid_first = first - timedelta(days=first.weekday())
    grid_last = last + timedelta(days=6 - last.weekday())
    shown = query.shown
    cells = queries.day_cells(
        changes,
        shown,
        grid_first,
        grid_last,
        query.tz,
        per_day=MONTH_PER_DAY,
        today=today,
        month=first.month,
    )
    days = _days(query, show_school=False)
    return {
        "range": queries.day_range(grid_first, grid_last, query.tz),
        "title": f"{month_name(first)} {first.year}",
        "weeks": days.month(cells),
        "previous": query.params(date=(first - timedelta(days=1)).replace(day=1).isoformat()),
        "next": query.params(date=(last + timedelta(days=1)).isoformat()),
        "previous_label": gettext("Previous month"),
        "next_label": gettext("Next month"),
    }


def _week_context(query: ScheduleQuery, changes: Any, today: date) -> dict[str, Any]:
    first = query.day - timedelta(days=query.day.weekday())
    last = first + timedelta(days=6)
    shown = query.shown
    cells = queries.day_cells(
        changes, shown, first, last, query.tz, per_day=WEEK_PER_DAY, today=today
    )
    days = _days(query, show_school=True)
    return {
        "range": queries.day_range(first, last, query.tz),
        "title": gettext("Week of %(day)s %(month)s %(year)s")
        % {"day": first.day, "month": month_name(first), "year": first.year},
        "days": days.week(cells),
        "previous": query.params(date=(first - timedelta(days=7)).isoformat()),
        "next": query.params(date=(first + timedelta(days=7)).isoformat()),
        "previous_label": gettext("Previous week"),
        "next_label": gettext("Next week"),
    }


def _agenda_rows(
    request: HttpRequest,
    entries: list[Change],
    query: ScheduleQuery,
    calendars: dict[int, CalendarData],
) -> dict[int, str]:
    """Each RFC's row of the agenda, with its conflicts and the apps' marks, by id."""
    conflicts = find_conflicts_many(entries, max_overlaps=AGENDA_OVERLAPS, calendars=calendars)
    marks = extensions.marks(current_user(request), entries)
    detail = tags.detail_pattern()
    show_school = len(query.shown) > 1
    words = tags.AgendaWords.now()
    return {
        change.pk: tags.agenda_row_html(
            change,
            conflicts[change.pk],
            detail=detail,
            tz=query.tz,
            school_name=change.school.name if show_school else None,
            words=words,
            marks=marks.get(change.pk, ()),
        )
        for change in entries
    }


def _shown_periods(
    calendars: dict[int, CalendarData], start: datetime, end: datetime
) -> list[CalendarPeriod]:
    """What `queries.periods_between` gives, from calendars loaded over [start, end) or
    more: the periods the agenda lists meeting [start, end), each with its school."""
    periods = sorted(
        (
            period
            for calendar in calendars.values()
            for period in calendar.periods_of(queries.SHOWN_PERIODS, start, end)
        ),
        key=lambda p: (p.starts_at, p.pk),
    )[: queries.PERIOD_LIMIT]
    for period in periods:
        period.school = calendars[period.school_id].school
    return periods


def _agenda_context(
    request: HttpRequest, query: ScheduleQuery, changes: Any, printable: bool
) -> dict[str, Any]:
    first = query.day
    last = first + timedelta(days=AGENDA_DAYS - 1)
    start, end = queries.day_range(first, last, query.tz)
    size = PRINT_AGENDA_PAGE if printable else AGENDA_PAGE
    shown = query.shown
    page = paging.page(
        queries.agenda(changes, start, end, with_school=False),
        request.GET.get("page"),
        size,
        # Bounded by its days, the agenda is read whole to be sorted: its page is read, and
        # counted, in one query.
        together=True,
    )
    entries = queries.with_schools(list(page.object_list), shown)
    if entries:
        # One calendar of the shown schools serves the conflicts (over the RFCs' windows)
        # and the periods the agenda lists (over its days).
        calendars = load_calendars(
            shown,
            min(start, *(c.planned_start for c in entries if c.planned_start is not None)),
            max(end, *(c.planned_end for c in entries if c.planned_end is not None)),
        )
        rows = _agenda_rows(request, entries, query, calendars)
        periods = _shown_periods(calendars, start, end)
    else:
        rows, periods = {}, queries.periods_between(shown, start, end)
    return {
        # The bands over the agenda's days are shown once, on its first page.
        "range": (start, end) if page.number == 1 else None,
        "bands_first_page": query.params(date=first.isoformat()),
        # Across a new year the dates name both years; else the year once, after them.
        "title": describe_dates(first, last) + ("" if first.year != last.year else f" {last.year}"),
        "page": page,
        "groups": [
            (day, tags.joined(rows[c.pk] for c in changes))
            for day, changes in queries.group_by_day(entries, query.tz, first)
        ],
        "periods": tags.agenda_periods_html(periods, query.tz, show_school=len(shown) > 1),
        "previous": query.params(date=(first - timedelta(days=AGENDA_DAYS)).isoformat()),
        "next": query.params(date=(first + timedelta(days=AGENDA_DAYS)).isoformat()),
        "previous_label": gettext("Earlier"),
        "next_label": gettext("Later"),
    }


def _view_label(view: str) -> str:
    """ "Month", "Week", "Agenda": the view switch's words."""
    labels = {
        "month": pgettext("schedule view", "Month"),
        "week": pgettext("schedule view", "Week"),
        "agenda": pgettext("schedule view", "Agenda"),
    }
    return labels[view]


def _schedule(request: HttpRequest, printable: bool) -> HttpResponse:
    query, changes = _schedule_query(request)
    today = timezone.now().astimezone(query.tz).date()
    shown = query.shown
    if query.view == "month":
        context = _month_context(query, changes, today)
    elif query.view == "week":
        context = _week_context(query, changes, today)
    else:
        context = _agenda_context(request, query, changes, printable)
    # What apps above plan over the same days (a release over its window): `planned`.
    over = context.pop("range")
    if over is not None:
        also = planned.shown(shown, *over)
        context["bands"], context["bands_more"] = also.bands, also.more
    else:
        context["bands_elsewhere"] = True
    context.update(
        {
            "query": query,
            "printable": printable,
            "day_names": [(day_name(d), day_abbr(d)) for d in range(7)],
            # The item filter's choices (the printable page has no filters).
            "items": [] if printable else queries.item_choices(shown),
            # The item filter names each item's school when it offers several schools'.
            "item_schools": len(query.schools) > 1 and not query.school,
            "states": State.choices,
            "types": ChangeType.choices,
            "views": [(v, _view_label(v), query.params(view=v)) for v in VIEWS],
            "today_params": query.params(date=today.isoformat()),
            "print_params": query.params(),
            "tz_name": str(query.tz),
            "forward_url": reverse("schedule:forward"),
            "show_school": len(shown) > 1,
            "agenda_columns": 5 if len(shown) > 1 else 4,
        }
    )
    template = "schedule/forward_print.html" if printable else "schedule/forward.html"
    with timezone.override(query.tz):
        return render(request, template, context)


@require_GET
def forward_schedule(request: HttpRequest) -> HttpResponse:
    return _schedule(request, printable=False)


@require_GET
def forward_schedule_print(request: HttpRequest) -> HttpResponse:
    return _schedule(request, printable=True)
