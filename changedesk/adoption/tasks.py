"""FITS's preparation tasks, each ticked from the data (never by hand where the data can tell).

    roles          every change role has a holder (peer reviewer only while peer review is on)
    training       every participant has confirmed the guide of each change role they hold
    go_live_date   a go-live date is set and not yet passed (or the school is live); it was
                   at least two weeks ahead when set (`services.set_go_live` refuses less)
    plan           the team has agreed the plan (recorded: who and when)
    introduction   the notice introducing change management is published to the users
    materials      someone has said the materials are available (who and when)
    pilot          the pilot RFC is closed, every participant has answered its review and
                   the discussion is noted
    self_review    (optional) the school's ICT self-review is recorded

`evaluate(facts)` reads only the `services.Facts` already loaded: no query of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext, ngettext

from changedesk.accounts.choices import Role
from changedesk.adoption import services
from changedesk.adoption.services import Facts
from changedesk.changes.choices import State


@dataclass(frozen=True)
class Task:
    key: str
    title: str
    done: bool
    detail: str
    link: str
    link_text: str
    optional: bool = False


def url(name: str, facts: Facts, anchor: str = "") -> str:
    """A page of the adoption for the school; "" when the page does not exist (yet)."""
    try:
        path = reverse(name)
    except NoReverseMatch:
        return ""
    return f"{path}?school={facts.school.slug}{anchor}"


def _day(value: date | datetime | None, facts: Facts) -> str:
    """A day as people say it ("4 December 2026"); an instant as the school's local day."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = timezone.localtime(value, facts.school.zone)
    return date_format(value, "j F Y")


def _and(words: list[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    if len(words) == 1:
        return words[0]
    return gettext("%(some)s and %(last)s") % {"some": ", ".join(words[:-1]), "last": words[-1]}


def _roles(facts: Facts) -> Task:
    held = services.holders(facts)
    missing = [gettext(str(Role(r).label)).lower() for r in facts.needed_roles if not held.get(r)]
    detail = (
        gettext("Someone holds each role the change process needs.")
        if not missing
        else ngettext(
            "No one holds the %(roles)s role yet.",
            "No one holds the %(roles)s roles yet.",
            len(missing),
        )
        % {"roles": _and(missing)}
    )
    return Task(
        "roles",
        gettext("Give every FITS role a holder"),
        not missing,
        detail,
        url("adoption:roles", facts),
        gettext("Roles with guidance"),
    )


def _training(facts: Facts) -> Task:
    rows = services.training_rows(facts)
    ready = sum(1 for row in rows if row.done)
    if not rows:
        detail = gettext("Give the roles first: the people who hold them then read their guides.")
    else:
        detail = ngettext(
            "%(ready)s of %(count)s person taking part has confirmed their guides.",
            "%(ready)s of %(count)s people taking part have confirmed their guides.",
            len(rows),
        ) % {"ready": ready, "count": len(rows)}
    return Task(
        "training",
        gettext("Everyone taking part has read their guide"),
        bool(rows) and ready == len(rows),
        detail,
        url("adoption:training", facts),
        gettext("Training"),
    )


def _go_live(facts: Facts) -> Task:
    adoption = facts.adoption
    days = services.countdown(facts)
    done = adoption.go_live_on is not None and (adoption.is_live or (days or 0) >= 0)
    if adoption.go_live_on is None:
        detail = gettext(
            "Choose a day at least %(days)s days ahead: time to train people and run the pilot."
        ) % {"days": services.MIN_LEAD_DAYS}
    elif adoption.is_live:
        detail = gettext("Planned for %(day)s.") % {"day": _day(adoption.go_live_on, facts)}
    elif days is not None and days < 0:
        detail = gettext("%(day)s has passed without going live: choose a new day.") % {
            "day": _day(adoption.go_live_on, facts)
        }
    elif days == 0:
        detail = gettext("%(day)s: today.") % {"day": _day(adoption.go_live_on, facts)}
    else:
        detail = ngettext("%(day)s: in %(days)s day.", "%(day)s: in %(days)s days.", days or 0) % {
            "day": _day(adoption.go_live_on, facts),
            "days": days,
        }
    return Task(
        "go_live_date",
        gettext("Set a go-live date far enough ahead"),
        done,
        detail,
        url("adoption:getting_started", facts, "#go-live"),
        gettext("Set the date"),
    )


def _plan(facts: Facts) -> Task:
    adoption = facts.adoption
    done = adoption.plan_agreed_at is not None
    detail = (
        gettext("Agreed by %(name)s on %(day)s.")
        % {"name": adoption.plan_agreed_by, "day": _day(adoption.plan_agreed_at, facts)}
        if done
        else gettext(
            "Talk the plan through with the team (roles, date, pilot), then record it here."
        )
    )
    return Task(
        "plan",
        gettext("The team has agreed the plan"),
        done,
        detail,
        url("adoption:getting_started", facts, "#plan"),
        gettext("Record it"),
    )


def _introduction(facts: Facts) -> Task:
    notice = facts.adoption.introduction_notice
    done = services.notice_published(notice)
    if notice is None:
        detail = gettext("Draft the notice (it is written for you) and publish it to the staff.")
        link = url("adoption:getting_started", facts, "#introduction")
    else:
        detail = (
            gettext("Published on %(day)s.") % {"day": _day(notice.published_at, facts)}
            if done
            else gettext("Drafted: check the words, then publish it.")
        )
        link = reverse("communication:detail", args=[facts.school.slug, notice.pk])
    return Task(
        "introduction",
        gettext("Tell the users: the notice introducing change management"),
        done,
        detail,
        link,
        gettext("The notice"),
    )


def _materials(facts: Facts) -> Task:
    adoption = facts.adoption
    done = adoption.materials_ready_at is not None
    detail = (
        gettext("Marked available by %(name)s on %(day)s.")
        % {"name": adoption.materials_ready_by, "day": _day(adoption.materials_ready_at, facts)}
        if done
        else gettext(
            "Look through the blank RFC, the role cards and the worked examples, then say so."
        )
    )
    return Task(
        "materials",
        gettext("The materials are available"),
        done,
        detail,
        url("adoption:materials", facts) or url("adoption:getting_started", facts, "#materials"),
        gettext("The materials"),
    )


def _pilot(facts: Facts) -> Task:
    pilot = facts.adoption.pilot
    if pilot is None:
        detail = gettext("Choose one RFC to run end to end as the pilot.")
    elif pilot.state != State.CLOSED:
        detail = gettext("%(reference)s is %(state)s.") % {
            "reference": pilot.reference,
            "state": gettext(str(pilot.get_state_display())).lower(),
        }
    else:
        people = services.pilot_participants(facts)
        answered = len({a.user_id for a in facts.answers} & set(people))
        known = {"reference": pilot.reference, "answered": answered, "count": len(people)}
        if facts.adoption.pilot_discussion.strip():
            detail = ngettext(
                "%(reference)s is closed; %(answered)s of %(count)s person has answered and "
                "the discussion is noted.",
                "%(reference)s is closed; %(answered)s of %(count)s people have answered and "
                "the discussion is noted.",
                len(people),
            )
        else:
            detail = ngettext(
                "%(reference)s is closed; %(answered)s of %(count)s person has answered; the "
                "discussion is not noted yet.",
                "%(reference)s is closed; %(answered)s of %(count)s people have answered; the "
                "discussion is not noted yet.",
                len(people),
            )
        detail %= known
    return Task(
        "pilot",
        gettext("Run the pilot and hold its review"),
        services.review_held(facts),
        detail,
        url("adoption:pilot", facts),
        gettext("The pilot"),
    )


def _self_review(facts: Facts) -> Task:
    adoption = facts.adoption
    done = adoption.self_review_on is not None
    return Task(
        "self_review",
        gettext("Record the ICT self-review"),
        done,
        gettext("Recorded for %(day)s.") % {"day": _day(adoption.self_review_on, facts)}
        if done
        else gettext("If the school reviewed its ICT support before starting, note what it found."),
        url("adoption:getting_started", facts, "#self-review"),
        gettext("Record it"),
        optional=True,
    )


def evaluate(facts: Facts) -> list[Task]:
    return [
        _roles(facts),
        _training(facts),
        _go_live(facts),
        _plan(facts),
        _introduction(facts),
        _materials(facts),
        _pilot(facts),
        _self_review(facts),
    ]


def outstanding(tasks: list[Task]) -> list[Task]:
    return [t for t in tasks if not t.done and not t.optional]
