"""How Greenfield brought FITS in, a year ago: its completed adoption and pilot.

Before the pilot the team agreed the plan, every member confirmed the training of each of
their roles (and the overview), the materials were made available, and the introduction
notice was published to the users (a general notice, through the communication services,
at its past moment). The pilot is the first RFC of the year's history (`demo_history`),
closed and successful; once it closed each participant answered the pilot review, the
answers were discussed, and the school went live two weeks later. The members who are ICT
staff are marked so (the technician, the network manager, the supplier's engineer), the
headteacher not.

The adoption's rows are written directly through the models (they are plain rows); made
once: nothing is written when the school is live already.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.utils import timezone

from changedesk.accounts.models import Membership, School, User
from changedesk.adoption.models import Adoption, PilotAnswer, TrainingConfirmation
from changedesk.changes.models import Change
from changedesk.communication.services import create_notice, publish_notice
from changedesk.site.demo_history import PILOT_TITLE, SchoolYear, at, go_live_day

ICT_STAFF = ("olivia", "peter", "ivan")
INTRODUCTION = {
    "title": "Introducing change management at Greenfield",
    "what": "From next term, every change to the school's ICT (new software, updates, new "
    "equipment, changes to the network) is asked for, planned and approved before it is "
    "made, and you are told before it happens. Our first change goes through the new way "
    "this month.",
    "when_text": "From the start of next term",
    "what_you_will_notice": "Notices like this one on the board and in your e-mail before "
    "each change that affects you, saying what will happen and when.",
    "what_to_do": "Nothing. If a change would clash with something you have planned, tell "
    "the person named below.",
    "who_to_ask": "Olivia Okafor, ICT technician",
}
# (username, understood their part, sections lacking, needs more training, comment)
ANSWERS: tuple[tuple[str, bool, list[str], bool, str], ...] = (
    ("olivia", True, [], False, "Writing the plan took longer than the work, but it helped."),
    ("ian", True, ["impact"], False, "The impact should name the rooms, not just 'staff'."),
    ("peter", True, ["fallback_plan"], False, "Give the fallback plan a time to decide by."),
    ("fiona", True, [], False, "Clear enough to decide from."),
    ("carol", False, [], True, "I was not sure when to publish the notice: more on that please."),
)
DISCUSSION = (
    "Staff meeting after the pilot: everyone knew about the printer beforehand and nothing "
    "broke. From now on the impact names the rooms affected, and the fallback plan says by "
    "when we decide to use it. Carol and Olivia go through the notice guide together before "
    "go-live. Agreed to go live at the start of term."
)


def build_adoption(school: School, people: dict[str, User]) -> Adoption | None:
    """Greenfield's adoption, completed (None when the history has no pilot)."""
    for username, user in people.items():
        Membership.objects.filter(user=user, school=school).exclude(
            is_ict_staff=username in ICT_STAFF
        ).update(is_ict_staff=username in ICT_STAFF)
    adoption = Adoption.objects.filter(school=school).first()
    if adoption is not None and adoption.is_live:
        return adoption
    pilot = Change.objects.filter(school=school, title=PILOT_TITLE, state="closed").first()
    if pilot is None:
        return None
    year = SchoolYear(school, timezone.now())
    raised = pilot.created_at
    last = pilot.events.order_by("-sequence").first()
    assert last is not None
    closed = last.created_at
    sam, carol = people["sam"], people["carol"]
    agreed = raised - timedelta(days=14)
    notice = _introduction(carol, school, raised - timedelta(days=7))
    _training(school, people, raised - timedelta(days=12))
    answered = _answers(school, pilot, people, closed)
    go_live = go_live_day(year, closed)
    values: dict[str, Any] = {
        "plan_agreed_at": agreed,
        "plan_agreed_by": sam,
        "introduction_notice": notice,
        "materials_ready_at": raised - timedelta(days=10),
        "materials_ready_by": sam,
        "pilot": pilot,
        "pilot_discussion": DISCUSSION,
        "started_without_peer_review": False,
        "go_live_on": go_live,
        "live_at": max(answered + timedelta(days=1), year.local(go_live, 7, 45)),
        "live_by": sam,
    }
    if adoption is None:
        return Adoption.objects.create(school=school, **values)
    for name, value in values.items():
        setattr(adoption, name, value)
    adoption.save()
    return adoption


def _introduction(carol: User, school: School, moment: datetime) -> Any:
    """The general notice introducing change management, published at `moment`."""
    notice = at(moment, lambda: create_notice(school, carol, dict(INTRODUCTION)))
    return at(moment + timedelta(minutes=30), lambda: publish_notice(notice.pk, carol))


def _training(school: School, people: dict[str, User], first: datetime) -> None:
    """Each member confirmed the overview and the guide of each role they hold, over a
    week (once: a confirmation already there is kept)."""
    done = set(TrainingConfirmation.objects.filter(school=school).values_list("user_id", "role"))
    rows = []
    for n, (_username, user) in enumerate(sorted(people.items())):
        membership = Membership.objects.filter(user=user, school=school).first()
        if membership is None:
            continue
        day = first + timedelta(days=n % 5, hours=n)
        for k, role in enumerate(["overview", *membership.role_list]):
            if (user.pk, role) not in done:
                rows.append(
                    TrainingConfirmation(
                        school=school,
                        user=user,
                        role=role,
                        confirmed_at=day + timedelta(minutes=20 * k),
                    )
                )
    TrainingConfirmation.objects.bulk_create(rows)


def _answers(school: School, pilot: Change, people: dict[str, User], closed: datetime) -> datetime:
    """Each participant's answers to the pilot review, over the days after it closed;
    returns when the last was given."""
    zone = school.zone
    last = closed
    for n, (username, understood, lacking, training, comment) in enumerate(ANSWERS):
        day = closed.astimezone(zone).date() + timedelta(days=1 + n // 2)
        answered = datetime.combine(day, time(15, 40 + n), tzinfo=zone)
        last = max(last, answered)
        PilotAnswer.objects.get_or_create(
            change=pilot,
            user=people[username],
            defaults={
                "school": school,
                "understood_part": understood,
                "sections_lacking": lacking,
                "needs_training": training,
                "caused_incidents": False,
                "everyone_knew": True,
                "comment": comment,
                "answered_at": answered,
            },
        )
    return last
