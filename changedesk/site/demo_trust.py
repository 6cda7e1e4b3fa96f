"""The demo's trust: Oakfield Trust, three schools and a change across all of them.

Greenfield Primary (the demo school), Oakfield Academy, and Ysgol Bryn Derw, a Welsh-medium
school whose people use changedesk in Welsh and whose notices are bilingual, Welsh first.
The trust's ICT lead, Tess, is its administrator and a trust technician; Peter, Greenfield's
network manager, is the trust's peer reviewer. Tess has raised one change for the three
schools, each placed in its own next safe slot, and each school's approvers are deciding
it for their own school: Oakfield's initial approver has yet to decide, Bryn Derw's plan is
being written, and Greenfield's waits on Peter's review. Bryn Derw's own content (its
technician Dafydd's RFCs, a bilingual notice, its calendar) is in Welsh: `demo_welsh`.

Made once: the trust, schools and people by slug and username, the change by its title.
"""

from __future__ import annotations

from changedesk.accounts import trusts
from changedesk.accounts.choices import Language, Role, TrustRole
from changedesk.accounts.models import Membership, School, Trust, User
from changedesk.accounts.permissions import trust_roles
from changedesk.accounts.services import create_school, create_user, set_membership
from changedesk.changes.workflow import perform
from changedesk.site.demo_welsh import build_welsh_school
from changedesk.trustwide import services as trustwide
from changedesk.trustwide.models import ParentChange

TRUST_NAME = "Oakfield Trust"
TRUST_SLUG = "oakfield"
EMAIL_DOMAIN = "oakfield.example"

# (name, slug, language, bilingual notices)
SCHOOLS = (
    ("Oakfield Academy", "oakfield-academy", Language.EN_GB, False),
    ("Ysgol Bryn Derw", "bryn-derw", Language.CY, True),
)
# (username, first, last, job title, school slug or "" for the trust's own, roles, language)
PEOPLE: tuple[tuple[str, str, str, str, str, tuple[Role, ...], Language | None], ...] = (
    ("tess", "Tess", "Turner", "ICT lead, Oakfield Trust", "", (), None),
    ("amir", "Amir", "Hassan", "Principal", "oakfield-academy",
     (Role.SCHOOL_ADMIN, Role.FINAL_APPROVER), None),
    ("beth", "Beth", "Moore", "Assistant principal", "oakfield-academy",
     (Role.INITIAL_APPROVER,), None),
    ("catrin", "Catrin", "Jones", "Pennaeth (headteacher)", "bryn-derw",
     (Role.SCHOOL_ADMIN, Role.FINAL_APPROVER), Language.CY),
    ("gareth", "Gareth", "Evans", "Cydlynydd TGCh (ICT co-ordinator)", "bryn-derw",
     (Role.INITIAL_APPROVER,), Language.CY),
    ("dafydd", "Dafydd", "Price", "Technegydd TGCh (ICT technician)", "bryn-derw",
     (Role.ORIGINATOR, Role.IMPLEMENTER, Role.COMMUNICATOR), Language.CY),
)  # fmt: skip

TITLE = "Block a phishing domain at every school's firewall"
REQUEST = {
    "title": TITLE,
    "description": "Add a deny rule for login-microsoft-support.example on each school's "
    "firewall, and test it from a staff laptop.",
    "reason": "Staff at two of the trust's schools were sent a convincing phishing e-mail "
    "linking to it this week.",
}
PLAN = {
    "details": "1. Add the deny rule for the domain and its subdomains. 2. Reload the rules. "
    "3. From a staff laptop, check the domain is blocked and a few usual sites are not. "
    "4. Save the configuration backup.",
    "impact": "None expected: the firewall reloads its rules in about a second.",
    "risk": "Low. A mistyped rule could block a wanted site until it is corrected.",
    "fallback_plan": "Remove the rule and reload; restore the saved configuration if needed.",
}


def build_trust(password: str, greenfield: School) -> list[tuple[str, str, str]]:
    """Build (or find) the trust; returns its people's sign-ins: (username, password, who)."""
    trust = Trust.objects.filter(slug=TRUST_SLUG).first() or trusts.create_trust(
        TRUST_NAME, TRUST_SLUG
    )
    schools = {greenfield.slug: greenfield}
    for name, slug, language, bilingual in SCHOOLS:
        school = School.objects.filter(slug=slug).first()
        if school is None:
            school = create_school(name, slug)
            school.language = language
            school.bilingual_notices = bilingual
            school.save(update_fields=["language", "bilingual_notices"])
        schools[slug] = school
    for school in schools.values():
        if school.trust_id is None:
            trusts.add_school(trust, school)
    people = {}
    sign_ins = []
    for username, first, last, job, slug, roles, speaks in PEOPLE:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = create_user(
                username,
                email=f"{username}@{EMAIL_DOMAIN}",
                password=password,
                first_name=first,
                last_name=last,
                job_title=job,
                check_password=False,
            )
            if speaks is not None:
                user.language = speaks
                user.save(update_fields=["language"])
        if slug and not Membership.objects.filter(user=user, school=schools[slug]).exists():
            set_membership(user, schools[slug], roles)
        people[username] = user
        where = schools[slug].name if slug else TRUST_NAME
        held = (
            ", ".join(Role(role).label.lower() for role in roles)
            if roles
            else "trust administrator, trust technician"
        )
        sign_ins.append((username, password, f"{where}: {first} {last}, {job}: {held}"))
    trusts.set_trust_roles(
        trust, people["tess"], [TrustRole.TRUST_ADMIN, TrustRole.TRUST_TECHNICIAN]
    )
    peter = User.objects.filter(username="peter").first()
    if peter is not None and not trust_roles(peter, trust):
        trusts.set_trust_roles(trust, peter, [TrustRole.TRUST_PEER_REVIEWER])
    if not ParentChange.objects.filter(trust=trust, title=TITLE).exists():
        _trust_wide_change(trust, people["tess"], schools)
    # Bryn Derw's own RFCs, notice and calendar, in Welsh (after the trust's change, which
    # is placed in each school's next safe slot as the school stood).
    build_welsh_school(schools["bryn-derw"], people)
    return sign_ins


def _trust_wide_change(trust: Trust, tess: User, schools: dict[str, School]) -> None:
    """Raised for the three schools, each in its own next safe slot, and partly decided."""
    parent, _ = trustwide.raise_for_schools(
        trust,
        tess,
        dict(REQUEST),
        trustwide.schools_of(trust, None),
        trustwide.Placement(minutes=30),
    )
    trustwide.act_on_many(parent, tess, "submit", trustwide.children(parent))
    by_school = {row.school.slug: row for row in trustwide.children(parent)}
    # Greenfield's and Bryn Derw's initial approvers let it be planned; Oakfield's has not yet.
    for slug, approver in (("greenfield", "ian"), ("bryn-derw", "gareth")):
        row = by_school[slug]
        if row.change.initial_approver is not None:
            perform(row.change_id, "approve", User.objects.get(username=approver))
    planning = trustwide.chosen(parent, ["greenfield", "bryn-derw"])
    trustwide.copy_plan(parent, tess, dict(PLAN), planning)
    trustwide.act_on_many(parent, tess, "submit_plan", trustwide.chosen(parent, ["greenfield"]))
