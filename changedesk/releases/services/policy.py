"""Writes of the release policy: the draft, publishing it, discarding it.

A school's policy is versioned. At most one version is published (the one in force) and at
most one is a draft; a published version is never edited again: publishing the draft gives
it the next version number and supersedes the version before it. Every write locks the
school's row first, so two people writing or publishing at once take turns (the second
finds the draft already published, or edits the draft the first one wrote).

**Stale writes.** A page or an API client that showed a draft says which draft it showed:
its `revision` (the draft's id and a digest of its title, summary, rules and windows;
`NO_DRAFT` when there was none). `save_draft` and `publish` given `expected` compare it
with the draft under the school's lock and refuse with `StaleChange` (409) when it
differs, so nobody publishes, or overwrites, an edit they have not seen. `policy_id`
(the API's `/release-policies/<id>/`) must be the draft's own: a draft published or
discarded meanwhile is a 409 too, not a new draft.

Who may: the release manager or the school administrator (`permissions.may_manage`).

Release windows are given as the school's local days, `{"name", "first_day", "last_day"}`,
and kept as instants: local midnight before the first day to local midnight after the
last (`schedule.calendar.all_day_bounds`), so the conflict engine compares them with RFCs'
windows as it does the school calendar's periods.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from changedesk.accounts.models import School, User
from changedesk.lib.errors import InvalidAction, NotPermitted, StaleChange
from changedesk.releases.choices import PolicyState
from changedesk.releases.models import ReleasePolicy, ReleaseWindow
from changedesk.releases.permissions import may_manage
from changedesk.schedule.calendar import all_day_bounds

POLICY_FIELDS = ("title", "summary", "rules")
WINDOW_FIELDS = ("name", "first_day", "last_day")
# The years a release window may fall in.
FIRST_YEAR, LAST_YEAR = 2000, 2100
MOST_WINDOWS = 50
MOST_RULES_CHARS = 20_000
DEFAULT_TITLE = "Release policy"
# The revision of "no draft" (a form made from the version in force).
NO_DRAFT = "none"
STALE = gettext_noop(
    "Someone else changed the draft since you loaded it, so nothing was saved or "
    "published. The draft as it is now is shown: check it, then try again."
)
GONE = gettext_noop(
    "This draft was published or discarded since you loaded it, so nothing was saved or "
    "published. Load the policy again."
)


def revision(
    policy: ReleasePolicy | None,
    windows: Iterable[tuple[str, datetime, datetime]] | None = None,
) -> str:
    """A draft's revision: its id and a digest of its contents (`NO_DRAFT` for none). One
    query (its windows), none when its `windows` (name, start, end), in order, are given."""
    if policy is None:
        return NO_DRAFT
    digest = hashlib.sha256()
    for part in (policy.title, policy.summary, policy.rules):
        digest.update(part.encode() + b"\0")
    if windows is None:
        windows = policy.windows.order_by("starts_at", "id").values_list(
            "name", "starts_at", "ends_at"
        )
    for name, start, end in windows:
        digest.update(f"{name}\0{start.isoformat()}\0{end.isoformat()}\0".encode())
    return f"{policy.pk}-{digest.hexdigest()[:20]}"


def _check_fresh(draft: ReleasePolicy | None, expected: str | None, policy_id: int | None) -> None:
    """Refuse (409) a write based on a draft other than the one there now."""
    gone = draft is None and expected not in (None, NO_DRAFT)
    if gone or (policy_id is not None and (draft is None or draft.pk != policy_id)):
        raise StaleChange(gettext(GONE))
    if expected is not None and revision(draft) != expected:
        raise StaleChange(gettext(STALE))


def current(school: School) -> ReleasePolicy | None:
    """The published version (the one in force), or None."""
    return (
        ReleasePolicy.objects.filter(school=school, state=PolicyState.PUBLISHED)
        .select_related("published_by")
        .first()
    )


def draft_of(school: School) -> ReleasePolicy | None:
    return ReleasePolicy.objects.filter(school=school, state=PolicyState.DRAFT).first()


def _require(user: User, school: School, what: str) -> None:
    if not may_manage(user, school):
        raise NotPermitted(
            gettext("Only a release manager or a school administrator of %(school)s may %(what)s.")
            % {"school": school.name, "what": what}
        )


def _lock(school: School) -> None:
    """Take the school's row: the policy's writers of one school go one at a time."""
    list(School.objects.select_for_update().filter(pk=school.pk).values_list("pk", flat=True))


# --- Checking what was given. ---


def _text(data: dict[str, Any], name: str, limit: int, errors: dict[str, str]) -> str | None:
    if name not in data:
        return None
    value = data[name]
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[name] = gettext("Give it as text.")
        return None
    value = value.strip()
    if len(value) > limit:
        errors[name] = gettext("Keep it to %(most)s characters (it has %(count)s).") % {
            "most": limit,
            "count": len(value),
        }
        return None
    return value


def _day(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def clean_windows(windows: Any) -> list[tuple[str, date, date]]:
    """`windows` as (name, first day, last day), sorted; refused with an error on
    `windows` naming each problem."""
    if not isinstance(windows, list | tuple):
        raise InvalidAction(
            gettext("Some fields need correcting."), {"windows": gettext("Give a list of windows.")}
        )
    if len(windows) > MOST_WINDOWS:
        raise InvalidAction(
            gettext("Some fields need correcting."),
            {
                "windows": gettext("A policy has at most %(most)s release windows.")
                % {"most": MOST_WINDOWS}
            },
        )
    problems: list[str] = []
    clean: list[tuple[str, date, date]] = []
    for number, window in enumerate(windows, start=1):
        if not isinstance(window, dict):
            problems.append(
                gettext("Window %(number)s: give its name, first day and last day.")
                % {"number": number}
            )
            continue
        unknown = sorted(set(window) - set(WINDOW_FIELDS))
        name = window.get("name")
        name = name.strip() if isinstance(name, str) else ""
        label = (
            gettext("Window %(number)s (“%(name)s”)") % {"number": number, "name": name}
            if name
            else gettext("Window %(number)s") % {"number": number}
        )
        first, last = _day(window.get("first_day")), _day(window.get("last_day"))
        if unknown:
            problems.append(
                gettext("%(label)s: %(fields)s is not a field of a window.")
                % {"label": label, "fields": ", ".join(unknown)}
            )
        elif not name:
            problems.append(
                gettext("%(label)s: give it a name, e.g. “Summer holidays”.") % {"label": label}
            )
        elif len(name) > 200:
            problems.append(
                gettext("%(label)s: keep its name to 200 characters.") % {"label": label}
            )
        elif first is None or last is None:
            problems.append(
                gettext("%(label)s: give its first and last days as dates (YYYY-MM-DD).")
                % {"label": label}
            )
        elif not (FIRST_YEAR <= first.year <= LAST_YEAR and FIRST_YEAR <= last.year <= LAST_YEAR):
            problems.append(
                gettext("%(label)s: give days between %(first)s and %(last)s.")
                % {"label": label, "first": FIRST_YEAR, "last": LAST_YEAR}
            )
        elif last < first:
            problems.append(
                gettext("%(label)s: its last day is before its first.") % {"label": label}
            )
        else:
            clean.append((name, first, last))
    clean.sort(key=lambda w: (w[1], w[2]))
    for before, after in pairwise(clean):
        if after[1] <= before[2]:
            problems.append(
                gettext("“%(first)s” and “%(second)s” overlap: windows may not overlap.")
                % {"first": before[0], "second": after[0]}
            )
    if problems:
        raise InvalidAction(
            gettext("Some release windows need correcting."), {"windows": " ".join(problems)}
        )
    return clean


def _clean_policy(data: dict[str, Any]) -> dict[str, str]:
    if not isinstance(data, dict):
        raise InvalidAction(
            gettext("Some fields need correcting."), {"title": gettext("Give the policy's fields.")}
        )
    errors: dict[str, str] = {
        n: gettext("Not a field you may set.") for n in set(data) - set(POLICY_FIELDS)
    }
    values: dict[str, str] = {}
    for name, limit in (("title", 200), ("summary", 5000), ("rules", MOST_RULES_CHARS)):
        value = _text(data, name, limit, errors)
        if value is not None:
            values[name] = value
    if values.get("title") == "" and "title" not in errors:
        errors["title"] = gettext("Give the policy a title.")
    if errors:
        raise InvalidAction(gettext("Some fields need correcting."), errors)
    return values


def _window_rows(policy: ReleasePolicy, windows: Iterable[tuple[str, date, date]]) -> None:
    tz = policy.school.zone
    rows = []
    for name, first, last in windows:
        start, end = all_day_bounds(first, last, tz)
        rows.append(
            ReleaseWindow(
                school=policy.school, policy=policy, name=name, starts_at=start, ends_at=end
            )
        )
    ReleaseWindow.objects.bulk_create(rows)


def window_days(window: ReleaseWindow, school: School) -> tuple[date, date]:
    """The first and last local days a window covers."""
    tz = school.zone
    first = window.starts_at.astimezone(tz).date()
    last = (window.ends_at.astimezone(tz) - timedelta(microseconds=1)).date()
    return first, max(first, last)


def shown_windows(policy: ReleasePolicy | None, school: School) -> list[dict[str, Any]]:
    """The version's windows for a page: name, local first and last days, whether it is
    over. One query."""
    if policy is None:
        return []
    now = timezone.now()
    shown = []
    for window in ReleaseWindow.objects.filter(policy=policy).order_by("starts_at", "id"):
        first, last = window_days(window, school)
        shown.append(
            {"name": window.name, "first": first, "last": last, "over": window.ends_at <= now}
        )
    return shown


# --- The writes. ---


@transaction.atomic
def save_draft(
    school: School,
    user: User,
    data: dict[str, Any],
    windows: list[dict[str, Any]] | None = None,
    *,
    expected: str | None = None,
    policy_id: int | None = None,
) -> ReleasePolicy:
    """Write the school's draft: made from the version in force (its rules and windows) when
    there is none, then given `data` (title, summary, rules: the fields given) and, unless
    None, `windows` (all of them, replacing the draft's). `expected`, `policy_id`: see
    "Stale writes" above."""
    _require(user, school, gettext("write the release policy"))
    values = _clean_policy(data)
    cleaned = clean_windows(windows) if windows is not None else None
    _lock(school)
    draft = (
        ReleasePolicy.objects.select_for_update()
        .filter(school=school, state=PolicyState.DRAFT)
        .first()
    )
    _check_fresh(draft, expected, policy_id)
    if draft is None:
        base = current(school)
        highest = ReleasePolicy.objects.filter(school=school).aggregate(n=Max("version"))["n"]
        draft = ReleasePolicy(
            school=school,
            version=(highest or 0) + 1,
            title=base.title if base else DEFAULT_TITLE,
            summary=base.summary if base else "",
            rules=base.rules if base else "",
            state=PolicyState.DRAFT,
            created_by=user,
        )
        if cleaned is None and base is not None:
            cleaned = [
                (w.name, *window_days(w, school)) for w in base.windows.order_by("starts_at", "id")
            ]
    for name, value in values.items():
        setattr(draft, name, value)
    if not draft.rule_list:
        raise InvalidAction(
            gettext("Some fields need correcting."),
            {"rules": gettext("Give at least one rule, one per line.")},
        )
    draft.save()
    if cleaned is not None:
        draft.windows.all().delete()
        _window_rows(draft, cleaned)
    return draft


@transaction.atomic
def publish(
    school: School,
    user: User,
    comment: str | None = None,
    *,
    expected: str | None = None,
    policy_id: int | None = None,
) -> ReleasePolicy:
    """The draft becomes the version in force, with the next version number; the version
    before it is superseded. `expected`, `policy_id`: see "Stale writes" above."""
    _require(user, school, gettext("publish the release policy"))
    note = (comment or "").strip()
    if len(note) > 2000:
        raise InvalidAction(
            gettext("Some fields need correcting."),
            {"comment": gettext("Keep it to %(most)s characters.") % {"most": 2000}},
        )
    _lock(school)
    draft = (
        ReleasePolicy.objects.select_for_update()
        .filter(school=school, state=PolicyState.DRAFT)
        .first()
    )
    _check_fresh(draft, expected, policy_id)
    if draft is None:
        raise InvalidAction(gettext("There is no draft to publish: write one first."))
    if not draft.rule_list:
        raise InvalidAction(
            gettext("The draft has no rules."),
            {"rules": gettext("Give at least one rule, one per line.")},
        )
    now = timezone.now()
    highest = (
        ReleasePolicy.objects.filter(school=school)
        .exclude(pk=draft.pk)
        .aggregate(n=Max("version"))["n"]
    )
    ReleasePolicy.objects.select_for_update().filter(
        school=school, state=PolicyState.PUBLISHED
    ).update(state=PolicyState.SUPERSEDED, superseded_at=now)
    draft.version = (highest or 0) + 1
    draft.state = PolicyState.PUBLISHED
    draft.published_by = user
    draft.published_at = now
    draft.comment = note
    draft.save()
    return draft


@transaction.atomic
def discard_draft(school: School, user: User) -> None:
    _require(user, school, gettext("discard the draft of the release policy"))
    _lock(school)
    draft = (
        ReleasePolicy.objects.select_for_update()
        .filter(school=school, state=PolicyState.DRAFT)
        .first()
    )
    if draft is None:
        raise InvalidAction(gettext("There is no draft to discard."))
    draft.delete()
