"""A school's adoption of FITS: what the getting-started page reads, and every write.

**Reading.** `load(school)` gathers, in a fixed number of queries whatever the number of
RFCs and members, everything the getting-started, roles, training and pilot pages and the
API need (`Facts`): the school's `Adoption` (made on first use) with its notice and pilot,
the members with their roles, the latest confirmation of each guide by each person, and the
pilot's answers. `holders`, `participants`, `training_rows`, `warnings` and
`pilot_participants` derive from those without another query.

**Writing.** Each write checks `adoption.permissions`, locks the school's `Adoption` row,
and raises a `WorkflowError` (400 bad input, 403 not allowed, 409 out of turn) having
written nothing:

- `set_go_live(school, actor, day)`: the go-live date, at least `MIN_LEAD_DAYS` (two weeks)
  after the school's today, so that there is time to train people and run the pilot;
  before going live only.
- `agree_plan`, `materials_ready`: who and when the team agreed the plan / said the
  materials are available.
- `draft_introduction`: a general notice in `communication` introducing change management
  and the go-live date (a communicator writes it, through `communication.services`), kept
  as `Adoption.introduction_notice`; asked again, the same notice while it is not withdrawn.
- `confirm_training`: "I have read this and know my part", dated (append-only).
- `choose_pilot`: the pilot RFC (the school's, not rejected or withdrawn), recording
  whether the school has peer review off at the time; changed only until someone answers.
- `answer_pilot`: a participant's answers, once the pilot RFC is closed (asked again, the
  answers are replaced until the school goes live).
- `save_discussion`, `record_self_review`.
- `go_live`: refused until the pilot RFC is closed; sets `live_at`, and switches peer
  review back on when asked and the school started without it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef, Q
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext, gettext_noop

from changedesk.accounts.choices import Language, Role
from changedesk.accounts.models import Membership, School, User
from changedesk.accounts.permissions import is_member, with_roles
from changedesk.adoption import permissions
from changedesk.adoption.guidance import CHANGE_ROLES, guide_keys, guide_title
from changedesk.adoption.models import Adoption, PilotAnswer, TrainingConfirmation
from changedesk.changes.choices import State
from changedesk.changes.models import Change
from changedesk.communication import services as communication
from changedesk.communication.choices import NoticeStatus
from changedesk.communication.models import Notice
from changedesk.lib.days import today_in
from changedesk.lib.errors import InvalidAction, NotPermitted, StaleChange

# The go-live date leaves at least this long to train people and run the pilot.
MIN_LEAD_DAYS = 14
MOST_TEXT = 10_000
INTRODUCTION_TITLE = gettext_noop("Introducing change management")
# Who to ask, when the school has no initial approver yet.
ICT_TEAM = gettext_noop("The ICT team")

# The RFC's FITS sections a pilot participant may say were not completed well enough.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("title", "Name"),
    ("description", "Brief description"),
    ("reason", "Reason for the change"),
    ("details", "Full details (the steps)"),
    ("impact", "Impact on ICT services and users"),
    ("risk", "Risk of failure and its impact"),
    ("fallback_plan", "Fallback plan"),
    ("planned_window", "Date and time"),
    ("outcome", "Outcome"),
)
SECTION_KEYS = frozenset(key for key, _ in SECTIONS)
# The pilot can be any RFC of the school but one turned down or withdrawn.
NOT_A_PILOT = frozenset({State.REJECTED, State.WITHDRAWN})


def _lead_only(actor: Any, school: School) -> None:
    if not permissions.may_lead(actor, school):
        raise NotPermitted(permissions.not_lead(school))


# --- Reading. ---


def adoption_for(school: School) -> Adoption:
    """The school's adoption, made on first use."""
    found = Adoption.objects.filter(school=school).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return Adoption.objects.create(school=school)
    except IntegrityError:
        return Adoption.objects.get(school=school)


@dataclass
class Facts:
    school: School
    adoption: Adoption
    memberships: list[Membership]
    # (user id, guide key) -> when they last confirmed it.
    confirmed: dict[tuple[int, str], datetime]
    answers: list[PilotAnswer] = field(default_factory=list)
    today: date = field(default_factory=date.today)

    @property
    def peer_review(self) -> bool:
        return bool(self.school.peer_review_enabled)

    @property
    def needed_roles(self) -> list[str]:
        """The change roles that need a holder (peer review only while it is on)."""
        return [r for r in CHANGE_ROLES if r != Role.PEER_REVIEWER or self.peer_review]


def load(school: School, now: datetime | None = None) -> Facts:
    """Everything the pages read, in five queries at most (see the module's docstring)."""
    adoption = adoption_for(school)
    adoption = Adoption.objects.select_related(
        "introduction_notice", "pilot", "plan_agreed_by", "materials_ready_by", "live_by"
    ).get(pk=adoption.pk)
    adoption.school = school
    memberships = list(
        Membership.objects.filter(school=school, user__is_active=True)
        .select_related("user")
        .prefetch_related("roles")
        .order_by("user__first_name", "user__last_name", "user__username")
    )
    confirmed = {
        (row["user_id"], row["role"]): row["last"]
        for row in TrainingConfirmation.objects.filter(school=school)
        .values("user_id", "role")
        .annotate(last=Max("confirmed_at"))
        .order_by()
    }
    answers: list[PilotAnswer] = []
    if adoption.pilot_id is not None:
        answers = list(
            PilotAnswer.objects.filter(change_id=adoption.pilot_id).select_related("user")
        )
    return Facts(school, adoption, memberships, confirmed, answers, today_in(school, now))


def holders(facts: Facts) -> dict[str, list[Membership]]:
    """Each role's holders (memberships of active people), by role name."""
    found: dict[str, list[Membership]] = defaultdict(list)
    for membership in facts.memberships:
        for role in membership.role_list:
            found[role].append(membership)
    return found


@dataclass
class TrainingRow:
    user: User
    # (guide key, its title, when confirmed or None)
    guides: list[tuple[str, str, datetime | None]]

    @property
    def done(self) -> bool:
        return all(when is not None for _, _, when in self.guides)


def training_rows(facts: Facts) -> list[TrainingRow]:
    """Each participant (a member holding a change role the school needs) and whether they
    have confirmed the guide of each such role they hold."""
    needed = facts.needed_roles
    rows = []
    for membership in facts.memberships:
        held = [r for r in membership.role_list if r in needed]
        if held:
            rows.append(
                TrainingRow(
                    membership.user,
                    [
                        (r, guide_title(r), facts.confirmed.get((membership.user_id, r)))
                        for r in held
                    ],
                )
            )
    return rows


@dataclass(frozen=True)
class Warning:
    key: str
    message: str
    role: str


def warnings(facts: Facts) -> list[Warning]:
    """The roles page's warnings (FITS's advice on who should hold what)."""
    held = holders(facts)
    found: list[Warning] = []
    if not held.get(Role.FINAL_APPROVER):
        found.append(
            Warning(
                "no_final_approver",
                "No one is the final approver yet: no change can be agreed to go ahead.",
                Role.FINAL_APPROVER,
            )
        )
    initial = held.get(Role.INITIAL_APPROVER, [])
    if len(initial) > 1:
        found.append(
            Warning(
                "many_initial_approvers",
                f"{len(initial)} people are initial approvers. FITS suggests usually one, "
                "so that everyone knows who agrees to start work on a change.",
                Role.INITIAL_APPROVER,
            )
        )
    for membership in held.get(Role.FINAL_APPROVER, []):
        if membership.is_ict_staff:
            found.append(
                Warning(
                    "final_approver_ict",
                    f"{membership.user.display_name}, a final approver, works in ICT support. "
                    "That is fine while you start, but in time the final approver should be "
                    "someone outside ICT, so that those who make changes are not the ones "
                    "who agree to them.",
                    Role.FINAL_APPROVER,
                )
            )
    if facts.peer_review and not held.get(Role.PEER_REVIEWER):
        found.append(
            Warning(
                "no_peer_reviewer",
                "Peer review is on but no one is a peer reviewer: plans would wait for ever. "
                "Give someone the role, or switch peer review off in the school's settings "
                "while you start out.",
                Role.PEER_REVIEWER,
            )
        )
    for role in facts.needed_roles:
        if role in (Role.FINAL_APPROVER, Role.PEER_REVIEWER) or held.get(role):
            continue
        found.append(
            Warning("role_unheld", f"No one holds the {Role(role).label.lower()} role yet.", role)
        )
    return found


def pilot_participants(facts: Facts) -> dict[int, User]:
    """Who answers the pilot review: the pilot RFC's originator, approvers and implementer,
    and the school's communicators (members, by id)."""
    pilot = facts.adoption.pilot
    if pilot is None:
        return {}
    by_id = {m.user_id: m.user for m in facts.memberships}
    wanted = [
        pilot.originator_id,
        pilot.initial_approver_id,
        pilot.peer_reviewer_id,
        pilot.final_approver_id,
        pilot.implementer_id,
    ]
    wanted += [m.user_id for m in holders(facts).get(Role.COMMUNICATOR, [])]
    return {pk: by_id[pk] for pk in dict.fromkeys(wanted) if pk is not None and pk in by_id}


def review_held(facts: Facts) -> bool:
    """The pilot is closed, every participant has answered, and the discussion is noted."""
    pilot = facts.adoption.pilot
    if pilot is None or pilot.state != State.CLOSED:
        return False
    answered = {a.user_id for a in facts.answers}
    return set(pilot_participants(facts)) <= answered and bool(
        facts.adoption.pilot_discussion.strip()
    )


def countdown(facts: Facts) -> int | None:
    day = facts.adoption.go_live_on
    return (day - facts.today).days if day is not None else None


# --- Writing. ---


def _locked(school: School) -> Adoption:
    adoption_for(school)
    adoption = Adoption.objects.select_for_update().get(school=school)
    adoption.school = school
    return adoption


def _not_live(adoption: Adoption) -> None:
    if adoption.is_live:
        raise StaleChange(gettext("%(school)s is already live.") % {"school": adoption.school.name})


def set_go_live(
    school: School, actor: Any, day: date | None, now: datetime | None = None
) -> Adoption:
    actor = with_roles(actor)
    _lead_only(actor, school)
    if day is None:
        message = gettext("Give the go-live date.")
        raise InvalidAction(message, {"go_live_on": message})
    today = today_in(school, now)
    earliest = today + timedelta(days=MIN_LEAD_DAYS)
    if day < earliest:
        message = gettext(
            "Choose a day at least two weeks ahead (on or after %(day)s), so there is time "
            "to train people and run the pilot."
        ) % {"day": f"{earliest:%d/%m/%Y}"}
        raise InvalidAction(message, {"go_live_on": message})
    if day.year > 2100:
        message = gettext("Choose a nearer day.")
        raise InvalidAction(message, {"go_live_on": message})
    with transaction.atomic():
        adoption = _locked(school)
        _not_live(adoption)
        adoption.go_live_on = day
        adoption.save(update_fields=["go_live_on", "updated_at"])
    return adoption


def agree_plan(school: School, actor: Any, now: datetime | None = None) -> Adoption:
    actor = with_roles(actor)
    _lead_only(actor, school)
    with transaction.atomic():
        adoption = _locked(school)
        adoption.plan_agreed_at = now or timezone.now()
        adoption.plan_agreed_by = actor
        adoption.save(update_fields=["plan_agreed_at", "plan_agreed_by", "updated_at"])
    return adoption


def materials_ready(school: School, actor: Any, now: datetime | None = None) -> Adoption:
    actor = with_roles(actor)
    _lead_only(actor, school)
    with transaction.atomic():
        adoption = _locked(school)
        adoption.materials_ready_at = now or timezone.now()
        adoption.materials_ready_by = actor
        adoption.save(update_fields=["materials_ready_at", "materials_ready_by", "updated_at"])
    return adoption


def _long_date(day: date) -> str:
    """The day as people say it, in the active language: "Monday 4 January 2027"."""
    return date_format(day, "l j F Y")


def introduction_text(school: School, go_live_on: date, askers: list[str]) -> dict[str, Any]:
    """The notice's words: plain, for every member of staff, in the school's notice
    language (Welsh, then English, where the school's notices are bilingual)."""
    languages = (
        [Language.CY.value, Language.EN_GB.value]
        if school.bilingual_notices
        else [school.language or settings.LANGUAGE_CODE]
    )
    parts = []
    for code in languages:
        with translation.override(code):
            parts.append(_introduction_words(go_live_on, askers))
    if len(parts) == 1:
        return parts[0]
    words = {name: "\n\n".join(part[name] for part in parts) for name in parts[0]}
    for name in ("title", "when_text", "who_to_ask"):
        words[name] = " / ".join(dict.fromkeys(part[name] for part in parts))[:200]
    return words


def _introduction_words(go_live_on: date, askers: list[str]) -> dict[str, str]:
    when = _long_date(go_live_on)
    if len(askers) > 1:
        asker = gettext("%(first)s or %(second)s") % {"first": askers[0], "second": askers[1]}
    else:
        asker = askers[0] if askers else gettext(ICT_TEAM)
    return {
        "title": gettext(INTRODUCTION_TITLE),
        "what": gettext(
            "From %(when)s, changes to the school's computers, network and software will be "
            "planned and agreed before they happen. Each change is written up as a request "
            "for change, checked and agreed by the right people, and announced on this "
            "notice board before it happens."
        )
        % {"when": when},
        "when_text": gettext("From %(when)s") % {"when": when},
        "what_you_will_notice": gettext(
            "A notice like this one before each change that affects you: what is happening, "
            "when, what you will notice and who to ask. Fewer surprises in lessons."
        ),
        "what_to_do": gettext(
            "Nothing different from day to day. If you need something changed, ask as you "
            "do now: the ICT team will raise it as a request for change."
        ),
        "who_to_ask": asker[:200],
    }


def draft_introduction(school: School, actor: Any) -> Notice:
    """The notice introducing change management (a communicator's), drafted once."""
    actor = with_roles(actor)
    if not is_member(actor, school):
        raise NotPermitted(
            gettext("Only a member of %(school)s may do that.") % {"school": school.name}
        )
    with transaction.atomic():
        adoption = _locked(school)
        notice = adoption.introduction_notice
        if notice is not None and notice.status != NoticeStatus.WITHDRAWN:
            return notice
        if adoption.go_live_on is None:
            raise InvalidAction(
                gettext("Set the go-live date first: the notice tells people the date.")
            )
        approvers = [u.display_name for u in school.holders_of(Role.INITIAL_APPROVER)[:2]]
        notice = communication.create_notice(
            school, actor, introduction_text(school, adoption.go_live_on, approvers)
        )
        adoption.introduction_notice = notice
        adoption.save(update_fields=["introduction_notice", "updated_at"])
    return notice


def confirm_training(
    school: School, actor: Any, key: str, now: datetime | None = None
) -> TrainingConfirmation:
    actor = with_roles(actor)
    if not any(m.school_id == school.pk for m in actor.memberships.all()):
        raise NotPermitted(
            gettext("Only a member of %(school)s confirms its training.") % {"school": school.name}
        )
    if key not in guide_keys():
        raise InvalidAction(gettext("No such guide."), {"role": gettext("No such guide.")})
    return TrainingConfirmation.objects.create(
        school=school, user=actor, role=key, confirmed_at=now or timezone.now()
    )


def choose_pilot(school: School, actor: Any, change_id: Any) -> Adoption:
    actor = with_roles(actor)
    _lead_only(actor, school)
    try:
        change = Change.objects.get(pk=int(change_id), school=school)
    except (Change.DoesNotExist, TypeError, ValueError, OverflowError):
        message = gettext("Choose one of the school's RFCs.")
        raise InvalidAction(message, {"change": message}) from None
    if change.state in NOT_A_PILOT:
        message = gettext("%(reference)s is %(state)s: choose another.") % {
            "reference": change.reference,
            "state": change.get_state_display().lower(),
        }
        raise InvalidAction(message, {"change": message})
    with transaction.atomic():
        adoption = _locked(school)
        _not_live(adoption)
        if adoption.pilot_id == change.pk:
            return adoption
        if (
            adoption.pilot_id is not None
            and PilotAnswer.objects.filter(change_id=adoption.pilot_id).exists()
        ):
            raise StaleChange(
                gettext("People have answered the pilot review: the pilot stays as it is.")
            )
        adoption.pilot = change
        adoption.started_without_peer_review = not school.peer_review_enabled
        adoption.save(update_fields=["pilot", "started_without_peer_review", "updated_at"])
    return adoption


def _yes_no(data: dict[str, Any], name: str, errors: dict[str, str]) -> bool:
    value = data.get(name)
    if not isinstance(value, bool):
        errors[name] = gettext("Answer yes or no.")
        return False
    return value


def answer_pilot(
    school: School, actor: Any, data: dict[str, Any], now: datetime | None = None
) -> PilotAnswer:
    """A participant's answers to the five questions, once the pilot RFC is closed."""
    actor = with_roles(actor)
    facts = load(school)
    adoption = facts.adoption
    if adoption.pilot is None:
        raise InvalidAction(gettext("No pilot RFC has been chosen yet."))
    if actor.pk not in pilot_participants(facts):
        raise NotPermitted(
            gettext(
                "Only the pilot's participants answer its review: its originator, approvers, "
                "implementer and the school's communicators."
            )
        )
    if adoption.pilot.state != State.CLOSED:
        raise StaleChange(
            gettext("%(reference)s is not closed yet: the review is answered after it closes.")
            % {"reference": adoption.pilot.reference}
        )
    _not_live(adoption)
    errors: dict[str, str] = {}
    values: dict[str, Any] = {
        name: _yes_no(data, name, errors)
        for name in ("understood_part", "needs_training", "caused_incidents", "everyone_knew")
    }
    sections = data.get("sections_lacking", [])
    if not isinstance(sections, list) or not all(isinstance(s, str) for s in sections):
        errors["sections_lacking"] = gettext("Give a list of the RFC's sections.")
    elif set(sections) - SECTION_KEYS:
        errors["sections_lacking"] = gettext("Not sections of the RFC: %(sections)s") % {
            "sections": ", ".join(sorted(set(sections) - SECTION_KEYS))
        }
    comment = data.get("comment", "")
    if not isinstance(comment, str) or len(comment) > MOST_TEXT:
        errors["comment"] = gettext("Give some text, at most %(most)s characters.") % {
            "most": MOST_TEXT
        }
    if errors:
        raise InvalidAction(gettext("Some answers need correcting."), errors)
    values["sections_lacking"] = [k for k, _ in SECTIONS if k in set(sections)]
    values["comment"] = comment
    values["answered_at"] = now or timezone.now()
    with transaction.atomic():
        answer, _ = PilotAnswer.objects.update_or_create(
            change=adoption.pilot, user=actor, defaults={"school": school, **values}
        )
    return answer


def save_discussion(school: School, actor: Any, text: str) -> Adoption:
    actor = with_roles(actor)
    _lead_only(actor, school)
    if not isinstance(text, str) or len(text) > MOST_TEXT:
        message = gettext("Keep it to %(most)s characters.") % {"most": MOST_TEXT}
        raise InvalidAction(message, {"pilot_discussion": message})
    with transaction.atomic():
        adoption = _locked(school)
        adoption.pilot_discussion = text.strip()
        adoption.save(update_fields=["pilot_discussion", "updated_at"])
    return adoption


def record_self_review(
    school: School, actor: Any, day: date | None, note: str, now: datetime | None = None
) -> Adoption:
    actor = with_roles(actor)
    _lead_only(actor, school)
    errors: dict[str, str] = {}
    if day is None:
        errors["self_review_on"] = gettext("Give the day of the review.")
    elif day > today_in(school, now):
        errors["self_review_on"] = gettext(
            "The review has to have happened: not a day in the future."
        )
    if not isinstance(note, str) or not note.strip():
        errors["self_review_note"] = gettext("Say briefly what the review found.")
    elif len(note) > MOST_TEXT:
        errors["self_review_note"] = gettext("Keep it to %(most)s characters.") % {
            "most": MOST_TEXT
        }
    if errors:
        raise InvalidAction(gettext("The self-review needs correcting."), errors)
    with transaction.atomic():
        adoption = _locked(school)
        adoption.self_review_on = day
        adoption.self_review_note = note.strip()
        adoption.save(update_fields=["self_review_on", "self_review_note", "updated_at"])
    return adoption


def offers_peer_review(adoption: Adoption, school: School) -> bool:
    """Go-live offers to switch peer review back on: it started without and is still off."""
    return adoption.started_without_peer_review and not school.peer_review_enabled


def go_live(
    school: School, actor: Any, *, peer_review: bool = False, now: datetime | None = None
) -> Adoption:
    actor = with_roles(actor)
    _lead_only(actor, school)
    with transaction.atomic():
        adoption = _locked(school)
        _not_live(adoption)
        pilot = adoption.pilot
        if pilot is None:
            raise InvalidAction(gettext("Choose and run a pilot RFC before going live."))
        pilot.refresh_from_db(fields=["state"])
        if pilot.state != State.CLOSED:
            raise InvalidAction(
                gettext(
                    "The pilot, %(reference)s, is %(state)s: go live once it is closed and its "
                    "review held."
                )
                % {"reference": pilot.reference, "state": pilot.get_state_display().lower()}
            )
        locked_school = School.objects.select_for_update().get(pk=school.pk)
        if peer_review and offers_peer_review(adoption, locked_school):
            if not locked_school.holders_of(Role.PEER_REVIEWER).exists():
                raise InvalidAction(
                    gettext(
                        "No one holds the peer reviewer role yet: give it to someone first, or "
                        "go live with peer review left off (every plan would wait for a check "
                        "no one can make)."
                    )
                )
            locked_school.peer_review_enabled = True
            locked_school.save(update_fields=["peer_review_enabled"])
            school.peer_review_enabled = True
        adoption.live_at = now or timezone.now()
        adoption.live_by = actor
        adoption.save(update_fields=["live_at", "live_by", "updated_at"])
    return adoption


def is_live(school: School) -> bool:
    return Adoption.objects.filter(school=school, live_at__isnull=False).exists()


def pending_schools(user: Any) -> list[School]:
    """The person's schools that are still getting started and that they lead or approve
    in (where they should land on signing in), by name. A school is getting started when it
    is not live and either has begun its adoption (a go-live date set or a pilot chosen)
    or has no RFC at all: a school already running RFCs is not sent there until it begins
    (merely opening the page changes nothing). One query: memberships are loaded."""
    if not user.is_authenticated:
        return []
    user = with_roles(user)
    mine = {
        m.school_id: m.school
        for m in user.memberships.all()
        if permissions.may_see_training_table(user, m.school)
    }
    if not mine:
        return []
    found = (
        School.objects.filter(pk__in=list(mine))
        .annotate(
            begun=Exists(
                Adoption.objects.filter(school=OuterRef("pk")).filter(
                    Q(go_live_on__isnull=False) | Q(pilot__isnull=False)
                )
            ),
            live=Exists(Adoption.objects.filter(school=OuterRef("pk"), live_at__isnull=False)),
            has_rfcs=Exists(Change.objects.filter(school=OuterRef("pk"))),
        )
        .filter(live=False)
        .filter(Q(begun=True) | Q(has_rfcs=False))
        .order_by("name")
    )
    return list(found)


def pilot_choices(school: School, limit: int = 200) -> list[Change]:
    """The RFCs a pilot may be chosen from: the school's newest, not rejected or withdrawn."""
    return list(
        Change.objects.filter(school=school)
        .exclude(state__in=NOT_A_PILOT)
        .select_related("school")
        .order_by("-created_at", "-id")[:limit]
    )


def notice_published(notice: Notice | None) -> bool:
    return notice is not None and notice.status == NoticeStatus.PUBLISHED
