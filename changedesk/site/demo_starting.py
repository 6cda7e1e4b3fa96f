"""The demo's second school, Meadowbank Primary School, just starting with FITS.

Where Greenfield shows a school a year on, Meadowbank shows the start of the journey: three
people (the headteacher, who is the school administrator and the final approver; a teacher
who co-ordinates ICT, the initial approver; the supplier's technician, who raises and
carries out the changes and is ICT staff), not every role held yet, peer review switched
off while they start, no RFC yet, not live and no go-live date. Its administrator and
approvers land on the getting-started page when they sign in, at the first step.

Made once: people by username, the school by slug.
"""

from __future__ import annotations

from changedesk.accounts.choices import Role
from changedesk.accounts.models import Membership, School, User
from changedesk.accounts.services import create_school, create_user, set_membership

NAME = "Meadowbank Primary School"
SLUG = "meadowbank"
EMAIL_DOMAIN = "meadowbank.example"

# (username, first name, last name, job title, roles, ICT staff)
PEOPLE: tuple[tuple[str, str, str, str, tuple[Role, ...], bool], ...] = (
    ("helen", "Helen", "Hughes", "Headteacher", (Role.SCHOOL_ADMIN, Role.FINAL_APPROVER), False),
    ("matt", "Matt", "Mensah", "Year 4 teacher and ICT co-ordinator",
     (Role.INITIAL_APPROVER,), False),
    ("dan", "Dan", "Doyle", "Technician, Brightwire IT Support",
     (Role.ORIGINATOR, Role.IMPLEMENTER), True),
)  # fmt: skip


def build_starting(password: str) -> list[tuple[str, str, str]]:
    """Build (or find) Meadowbank; returns its sign-ins: (username, password, who)."""
    school = School.objects.filter(slug=SLUG).first() or create_school(
        NAME, SLUG, peer_review_enabled=False
    )
    sign_ins = []
    for username, first, last, job, roles, ict in PEOPLE:
        user = User.objects.filter(username=username).first() or create_user(
            username,
            email=f"{username}@{EMAIL_DOMAIN}",
            password=password,
            first_name=first,
            last_name=last,
            job_title=job,
            check_password=False,
        )
        if not Membership.objects.filter(user=user, school=school).exists():
            set_membership(user, school, roles)
            Membership.objects.filter(user=user, school=school).update(is_ict_staff=ict)
        held = ", ".join(Role(role).label.lower() for role in roles)
        sign_ins.append(
            (username, password, f"{NAME}, just starting: {first} {last}, {job}: {held}")
        )
    return sign_ins
