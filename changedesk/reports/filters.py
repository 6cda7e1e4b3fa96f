"""What a period report is asked for, read the same way by the page, its print, the figure
page and the API: `?school=<slug>|all&period=week|month&start=YYYY-MM-DD`, or
`?trust=<slug>&period=...&start=...` for a trust's schools together.

- `school`: one of the person's schools (a school not theirs, or no such school: 404; theirs
  but not a reader of its reports, `permissions.may_read`: 403), or `all`: the schools whose
  reports they read, together (`figures.report_many`, at most `MOST_SCHOOLS`). Left out: the
  school, when the person reads one school's reports only (or belongs to one school); else
  the page offers a choice and the API answers 400.
- `trust`: a trust's slug, instead of `school`: the schools of the trust now (one that has
  left drops out), together, however many (`report_many` reads them in the same queries).
  Read by the trust's people (`permissions.may_read_trust`: any trust role) and operators;
  a member of one of its schools with no trust role: 403; anyone else, or no such trust: 404.
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
from django.utils.translation import gettext, gettext_lazy

from changedesk.accounts import permissions as accounts_permissions
from changedesk.accounts.models import School, Trust
from changedesk.lib.days import today_in
from changedesk.reports import figures
from changedesk.reports.models import Period
from changedesk.reports.permissions import may_read, may_read_trust

ALL = "all"
# The most of a person's schools read together as `all` (a trust's report, `trust=`, reads
# all of the trust's schools, in the same queries however many).
MOST_SCHOOLS = 25


class ReportQuery(forms.Form):
    school = forms.CharField(required=False, max_length=100)
    trust = forms.CharField(required=False, max_length=100)
    period = forms.ChoiceField(
        required=False,
        choices=[("", "")] + [(p, p) for p in figures.PERIODS],
        error_messages={"invalid_choice": gettext_lazy("Choose week or month.")},
    )
    start = forms.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": gettext_lazy("Give a date as YYYY-MM-DD.")},
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
    trust: Trust | None = None

    @property
    def school(self) -> School | None:
        return None if self.together else self.schools[0]

    @property
    def slug(self) -> str:
        return ALL if self.together else self.schools[0].slug

    @property
    def params(self) -> dict[str, str]:
        """The query naming the report's schools and period (links to its other periods)."""
        if self.trust is not None:
            return {"trust": self.trust.slug, "period": self.period}
        return {"school": self.slug, "period": self.period}

    def report(self) -> dict[str, Any]:
        if self.trust is not None:
            return figures.report_many(self.schools, self.period, self.start, trust=self.trust)
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
        super().__init__(gettext("Choose a school."))
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
    trust_slug: str = form.cleaned_data["trust"].strip()
    if trust_slug:
        trust = trust_of(user, trust_slug)  # 404 or 403 first: then the query's own errors
        if slug:
            raise BadQuery({"trust": gettext("Give a school or a trust, not both.")})
        return _trust_asked(trust, form.cleaned_data)
    mine = accounts_permissions.schools(user)
    readable = [s for s in mine if may_read(user, s)]
    if slug == ALL:
        if not readable:
            raise PermissionDenied(gettext("You read no school's reports."))
        if len(readable) > MOST_SCHOOLS:
            raise BadQuery(
                {
                    "school": gettext(
                        "Choose a school: all of them together is for at most %(most)s."
                    )
                    % {"most": MOST_SCHOOLS}
                }
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
        raise PermissionDenied(gettext("You read no school's reports."))
    else:
        raise MustChoose(readable)
    period = form.cleaned_data["period"] or (
        figures.frequency_of(chosen[0]) if not together else Period.MONTH.value
    )
    day = form.cleaned_data["start"] or today_in(chosen[0])
    start, end = figures.period_bounds(period, day)
    return Asked(schools=chosen, together=together, period=period, start=start, end=end)


def trust_of(user: Any, slug: str) -> Trust:
    """The trust `slug` whose reports `user` reads: else `Http404` (no such trust, or not
    theirs) or `PermissionDenied` (a member of one of its schools, without a trust role)."""
    trust = Trust.objects.filter(slug=slug).first()
    if trust is None:
        raise Http404("No such trust.")
    if not may_read_trust(user, trust):
        if any(s.trust_id == trust.pk for s in accounts_permissions.schools(user)):
            raise PermissionDenied(
                gettext(
                    "Only the trust's administrators, technicians and peer reviewers read "
                    "the reports of %(trust)s across its schools."
                )
                % {"trust": trust.name}
            )
        raise Http404("No such trust.")
    return trust


def _trust_asked(trust: Trust, cleaned: dict[str, Any]) -> Asked:
    # The trust's schools now: one that has left drops out.
    chosen = list(School.objects.filter(trust=trust).order_by("name"))
    if not chosen:
        raise BadQuery({"trust": gettext("%(trust)s has no schools yet.") % {"trust": trust.name}})
    period = cleaned["period"] or Period.MONTH.value
    # A trust's schools keep one time zone.
    day = cleaned["start"] or today_in(chosen[0])
    start, end = figures.period_bounds(period, day)
    return Asked(schools=chosen, together=True, period=period, start=start, end=end, trust=trust)


def _refusal(school: School) -> str:
    return gettext(
        "Only the approvers, peer reviewers, release managers, patch administrators and "
        "the school administrator of %(school)s may read its reports."
    ) % {"school": school.name}
