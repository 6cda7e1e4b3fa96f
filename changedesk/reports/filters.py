"""What a period report is asked for, read the same way by the page, its print, the figure
page and the API: `?school=<slug>|all&period=week|month&start=YYYY-MM-DD`.

- `school`: one of the person's schools (a school not theirs, or no such school: 404; theirs
  but not a reader of its reports, `permissions.may_read`: 403), or `all`: the schools whose
  reports they read, together (`figures.report_many`, at most `MOST_SCHOOLS`). Left out: the
  school, when the person reads one school's reports only (or belongs to one school); else
  the page offers a choice and the API answers 400.
- `period`: week or month; by default the school's frequency (`figures.frequency_of`; all
  schools: month).
- `start`: any day (the period holding it); by default today at the school. A day that is not
  a date, or outside 2000-2100, is a 400 with the field's error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import Http404

from changedesk.accounts import permissions as accounts_permissions
from changedesk.accounts.models import School
from changedesk.lib.days import today_in
from changedesk.reports import figures
from changedesk.reports.models import Period
from changedesk.reports.permissions import may_read

ALL = "all"
# The most schools read together (the release figures cost four queries a school).
MOST_SCHOOLS = 25


class ReportQuery(forms.Form):
    school = forms.CharField(required=False, max_length=100)
    period = forms.ChoiceField(
        required=False,
        choices=[("", "")] + [(p, p) for p in figures.PERIODS],
        error_messages={"invalid_choice": "Choose week or month."},
    )
    start = forms.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": "Give a date as YYYY-MM-DD."},
    )

    def clean_start(self) -> date | None:
        day: date | None = self.cleaned_data.get("start")
        if day is not None and not figures.sane_day(day):
            raise forms.ValidationError(figures.DAYS_TEXT)
        return day


@dataclass
class Asked:
    """A report asked for: the schools (one, or several together), the period and its start."""

    schools: list[School]
    together: bool
    period: str
    start: date
    end: date
    errors: dict[str, str] = field(default_factory=dict)
    choose: list[School] = field(default_factory=list)

    @property
    def school(self) -> School | None:
        return None if self.together else self.schools[0]

    @property
    def slug(self) -> str:
        return ALL if self.together else self.schools[0].slug

    def report(self) -> dict[str, Any]:
        if self.together:
            return figures.report_many(self.schools, self.period, self.start)
        return figures.report(self.schools[0], self.period, self.start)


class BadQuery(Exception):
    """The query's fields are wrong (400): `errors` by field."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


class MustChoose(Exception):
    """No school named, and the person reads several schools' reports: `schools`."""

    def __init__(self, schools: list[School]):
        super().__init__("Choose a school.")
        self.schools = schools


def ask(user: Any, data: Any) -> Asked:
    """Read the query for `user`: raises `BadQuery` (400), `Http404`, `PermissionDenied`
    (403) or `MustChoose`."""
    form = ReportQuery(data)
    if not form.is_valid():
        raise BadQuery(
            {name: " ".join(str(e) for e in errors) for name, errors in form.errors.items()}
        )
    slug: str = form.cleaned_data["school"].strip()
    mine = accounts_permissions.schools(user)
    readable = [s for s in mine if may_read(user, s)]
    if slug == ALL:
        if not readable:
            raise PermissionDenied("You read no school's reports.")
        if len(readable) > MOST_SCHOOLS:
            raise BadQuery(
                {"school": f"Choose a school: all of them together is for at most {MOST_SCHOOLS}."}
            )
        chosen, together = readable, True
    elif slug:
        school = next((s for s in mine if s.slug == slug), None)
        if school is None:
            raise Http404("No such school of yours.")
        if not may_read(user, school):
            raise PermissionDenied(_refusal(school))
        chosen, together = [school], False
    elif len(mine) == 1 or len(readable) == 1:
        school = mine[0] if len(mine) == 1 else readable[0]
        if not may_read(user, school):
            raise PermissionDenied(_refusal(school))
        chosen, together = [school], False
    elif not readable:
        raise PermissionDenied("You read no school's reports.")
    else:
        raise MustChoose(readable)
    period = form.cleaned_data["period"] or (
        figures.frequency_of(chosen[0]) if not together else Period.MONTH.value
    )
    day = form.cleaned_data["start"] or today_in(chosen[0])
    start, end = figures.period_bounds(period, day)
    return Asked(schools=chosen, together=together, period=period, start=start, end=end)


def _refusal(school: School) -> str:
    return (
        f"Only the approvers, peer reviewers, release managers, patch administrators and the "
        f"school administrator of {school.name} may read its reports."
    )
