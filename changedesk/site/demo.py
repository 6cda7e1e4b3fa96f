"""The demo school: Greenfield Primary, its ICT team, an RFC in every state, and a month of
vendors' patches in every state of the patch cycle; behind them a year of history, how the
school brought FITS in and its frozen monthly reports (`demo_history`, `demo_adoption`); and
a second school just starting, Meadowbank (`demo_starting`).

Everything is made through the same services and workflow doors that people use, so the
histories are real (and verify). Running it again creates nothing new: people are
looked up by username, RFCs by title, vendors by name and patches by reference. The mail
the demo would send is dropped, and no vendor's feed is fetched from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from changedesk.accounts.choices import Role
from changedesk.accounts.models import Membership, School, User
from changedesk.accounts.services import create_school, create_user, set_membership
from changedesk.changes.models import Change
from changedesk.changes.services import create_change, update_change
from changedesk.changes.workflow import perform
from changedesk.configuration.models import ConfigurationItem, ItemKind
from changedesk.notifications.models import OutboxMessage
from changedesk.releases import demo as release_management
from changedesk.site.demo_adoption import build_adoption
from changedesk.site.demo_history import build_history, freeze_reports
from changedesk.site.demo_starting import SLUG as STARTING_SLUG
from changedesk.site.demo_starting import build_starting
from changedesk.site.demo_trust import SCHOOLS as TRUST_SCHOOLS
from changedesk.site.demo_trust import build_trust

if TYPE_CHECKING:
    from changedesk.patches.models import Patch

SCHOOL_NAME = "Greenfield Primary"
SCHOOL_SLUG = "greenfield"
PASSWORD = "changedesk-demo"
EMAIL_DOMAIN = "greenfield.example"


@dataclass(frozen=True)
class Person:
    username: str
    first_name: str
    last_name: str
    job_title: str
    roles: tuple[Role, ...]


PEOPLE = (
    Person(
        "olivia",
        "Olivia",
        "Okafor",
        "ICT technician",
        (Role.ORIGINATOR, Role.IMPLEMENTER, Role.PATCH_ADMINISTRATOR, Role.BUILD_DEVELOPER),
    ),
    Person("ian", "Ian", "Ingram", "ICT co-ordinator", (Role.INITIAL_APPROVER,)),
    Person(
        "peter",
        "Peter",
        "Patel",
        "Network manager, Oakfield Trust",
        (Role.PEER_REVIEWER, Role.RELEASE_MANAGER),
    ),
    Person("fiona", "Fiona", "Fraser", "Headteacher", (Role.FINAL_APPROVER,)),
    Person(
        "ivan",
        "Ivan",
        "Ivanov",
        "Engineer, Northgate IT Services",
        (Role.IMPLEMENTER, Role.INSTALLER),
    ),
    Person("sam", "Sam", "Singh", "School business manager", (Role.SCHOOL_ADMIN,)),
    Person("carol", "Carol", "Chen", "Office manager", (Role.COMMUNICATOR,)),
    Person("tom", "Tom", "Taylor", "Year 6 teacher", (Role.VIEWER,)),
)

# A step is a workflow action or edit, or "plan": fill in the scenario's plan.
Step = Callable[[Change, dict[str, User]], Any] | str

CLOSE_REVIEW = {"records_updated": True, "caused_incidents": False, "users_informed": True}


@dataclass
class Scenario:
    """One demo RFC: what it asks, its plan, and the steps that bring it to its state."""

    title: str
    description: str
    reason: str
    plan: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)


def _act(action: str, who: str, comment: str = "", **data: Any) -> Callable[..., Any]:
    def step(change: Change, people: dict[str, User]) -> Change:
        return perform(change.pk, action, people[who], comment=comment, data=data)

    return step


def _edit(values: dict[str, Any], comment: str = "") -> Callable[..., Any]:
    def step(change: Change, people: dict[str, User]) -> Change:
        return update_change(change.pk, people["olivia"], values, comment=comment)

    return step


def _people(**names: str) -> Callable[..., Any]:
    """Name people on the RFC, e.g. the supplier's engineer as implementer."""

    def step(change: Change, people: dict[str, User]) -> Change:
        return update_change(change.pk, people["olivia"], {k: people[v] for k, v in names.items()})

    return step


class _Calendar:
    """Planned times in the school's zone, relative to today, on school-friendly slots."""

    def __init__(self, zone: str) -> None:
        self.zone = ZoneInfo(zone)
        self.today = timezone.now().astimezone(self.zone).date()

    def friday(self, weeks: int) -> date:
        """The Friday `weeks` weeks from this one (0: the coming Friday; -1: last week's)."""
        ahead = (4 - self.today.weekday()) % 7 or 7
        return self.today + timedelta(days=ahead + 7 * weeks)

    def slot(self, day: date, start: time, hours: float) -> dict[str, datetime]:
        begins = datetime.combine(day, start, tzinfo=self.zone)
        return {"planned_start": begins, "planned_end": begins + timedelta(hours=hours)}


def _plan(
    details: str, impact: str, risk: str, fallback: str, when: dict[str, datetime]
) -> dict[str, Any]:
    return {"details": details, "impact": impact, "risk": risk, "fallback_plan": fallback, **when}


def scenarios(cal: _Calendar) -> list[Scenario]:
    """The demo RFCs, in the order they are numbered (RFC-0001 …)."""
    after_school = time(18, 0)
    return [
        Scenario(
            "Set up a guest Wi-Fi network for visitors",
            "Add a separate guest wireless network with its own password, changed each term, "
            "for visiting speakers, governors and supply staff.",
            "Visitors keep asking for the staff Wi-Fi password, which then spreads.",
            steps=[
                _act("submit", "olivia"),
                _act(
                    "return",
                    "ian",
                    "Which VLAN will it use, and how is it kept away from the curriculum "
                    "network? Talk to Peter first, then send it back.",
                ),
                _edit(
                    {
                        "description": "Add a separate guest wireless network on its own VLAN, "
                        "internet only, with a password changed each term, for visiting "
                        "speakers, governors and supply staff."
                    },
                    "Own VLAN, internet only, as agreed with Peter.",
                ),
            ],
        ),
        Scenario(
            "Roll out the new office printer driver",
            "Install the manufacturer's updated PCL6 driver for the two office "
            "multifunction printers on the 14 staff laptops and the office PCs.",
            "Since the last Windows update the office cannot print double-sided booklets; "
            "the vendor has withdrawn the driver we use.",
            steps=[_act("submit", "olivia")],
        ),
        Scenario(
            "Windows 11 24H2 feature update for the ICT suite",
            "Move the 30 PCs in the ICT suite from Windows 11 23H2 to 24H2.",
            "23H2 leaves support in November; the suite must stay on a supported version.",
            steps=[
                _act("submit", "olivia"),
                _act("approve", "ian", "Yes, but in half-term, not during the Year 6 tests."),
                _edit(
                    {
                        "details": "1. Pilot on two PCs for a week.\n2. Approve the update in "
                        "Intune for the ICT suite group.\n3. Check each PC signs in and prints.",
                        "impact": "The ICT suite is unavailable during the update window.",
                    }
                ),
            ],
        ),
        Scenario(
            "Update the firmware on the Wi-Fi access points",
            "Upgrade the 18 wireless access points to the vendor's current firmware.",
            "The current firmware drops iPads in the hall when more than 25 connect, and has a "
            "published security flaw.",
            plan=_plan(
                "1. Back up the controller configuration.\n2. Upgrade the two hall access "
                "points first and test with a class set of iPads.\n3. Upgrade the rest in "
                "groups of four.\n4. Check coverage in every classroom.",
                "No Wi-Fi in the affected rooms for about ten minutes per group, after school.",
                "Low. An access point may fail to come back; the hall would then have weaker "
                "coverage until it is replaced.",
                "Roll each access point back to the previous firmware from the controller.",
                cal.slot(cal.friday(1), after_school, 2),
            ),
            steps=[
                _act("submit", "olivia"),
                _act("approve", "ian"),
                "plan",
                _act("submit_plan", "olivia"),
            ],
        ),
        Scenario(
            "Upgrade the MIS to the spring release",
            "Apply the MIS supplier's spring release to the server and the office PCs.",
            "The spring release is needed for the May school census return.",
            plan=_plan(
                "1. Northgate take a full backup and verify it restores.\n2. Upgrade the "
                "database and the application server.\n3. Update the client on the office "
                "PCs.\n4. The office checks registers, the census module and reports.",
                "The MIS, registers and the parent app are unavailable from 16:00 to 20:00. "
                "Teachers take paper registers at the after-school clubs.",
                "Medium. A failed database upgrade could leave the MIS down the next morning.",
                "Restore the verified backup and reinstall the previous client version.",
                cal.slot(cal.friday(2), time(16, 0), 4),
            ),
            steps=[
                _act("submit", "olivia"),
                _act("approve", "ian", "Agreed; book Northgate's engineer."),
                _people(implementer="ivan"),
                "plan",
                _act("submit_plan", "olivia"),
                _act(
                    "return",
                    "peter",
                    "Add a check that the backup restores before you start, not just that it ran.",
                ),
                _edit(
                    {
                        "details": "1. Northgate take a full backup and restore it to the "
                        "test server to prove it.\n2. Upgrade the database and the application "
                        "server.\n3. Update the client on the office PCs.\n4. The office checks "
                        "registers, the census module and reports."
                    },
                    "Restore test added.",
                ),
                _act("submit_plan", "olivia"),
                _act("approve", "peter", "Sound plan now."),
            ],
        ),
        Scenario(
            "Replace the ICT suite 2 network switch",
            "Swap the failing 24-port switch in ICT suite 2 for the spare.",
            "Pupils lose their network drives several times a lesson.",
            plan=_plan(
                "1. Label every cable.\n2. Swap the switch.\n3. Restore the saved "
                "configuration.\n4. Test each PC signs in and reaches its drives.",
                "ICT suite 2 offline for an hour after school.",
                "Low. If the spare is faulty the suite stays offline until Monday.",
                "Refit the old switch and restore its saved configuration.",
                cal.slot(cal.friday(0), after_school, 1),
            ),
            steps=[
                _act("submit", "olivia"),
                _act("approve", "ian"),
                "plan",
                _act("submit_plan", "olivia"),
                _act("approve", "peter"),
                _act("approve", "fiona", "Fine after school on Friday."),
            ],
        ),
        Scenario(
            "Move the nightly backups to the new NAS",
            "Point the nightly backup jobs at the new network storage and retire the USB drives.",
            "The USB drives are full and are taken home by hand, which is neither safe nor "
            "reliable.",
            plan=_plan(
                "1. Create the backup share on the NAS.\n2. Change the target of the nightly "
                "jobs.\n3. Run one backup by hand and restore a test file.",
                "None for users; backups run overnight.",
                "Low. A failed job means one night without a backup.",
                "Point the jobs back at the USB drive.",
                cal.slot(cal.friday(-1), after_school, 1),
            ),
            steps=[
                _act("submit", "olivia"),
                _act("approve", "ian"),
                "plan",
                _act("submit_plan", "olivia"),
                _act("approve", "peter"),
                _act("approve", "fiona"),
                _act("record_outcome", "olivia", "Test restore worked.", outcome="succeeded"),
            ],
        ),
        Scenario(
            "Replace the UPS batteries in the server cupboard",
            "Replace the batteries of the uninterruptible power supply in the server cupboard.",
            "The UPS reports its batteries at end of life; a power cut would take the "
            "servers down hard.",
            plan=_plan(
                "1. Shut the servers down cleanly.\n2. Northgate swap the batteries.\n"
                "3. Start the servers and run the UPS self-test.",
                "Servers, MIS and file shares down for 45 minutes after school.",
                "Low.",
                "Run the servers from mains without the UPS until new batteries arrive.",
                cal.slot(cal.friday(-3), time(16, 30), 1),
            ),
            extra={"implementer": "ivan"},
            steps=[
                _act("submit", "olivia"),
                _act("approve", "ian"),
                "plan",
                _act("submit_plan", "olivia"),
                _act("approve", "peter"),
                _act("approve", "fiona"),
                _act("record_outcome", "ivan", "Self-test passed.", outcome="succeeded"),
                _act("close", "olivia", "Asset register updated.", **CLOSE_REVIEW),
            ],
        ),
        Scenario(
            "Give Year 6 pupils local administrator rights on their laptops",
            "Make the Year 6 pupil accounts local administrators so they can install the "
            "coding club's software themselves.",
            "The coding club loses half a session each week waiting for installs.",
            steps=[
                _act("submit", "olivia"),
                _act(
                    "reject",
                    "ian",
                    "Pupils must not be administrators: it would let them switch off the web "
                    "filter. Package the coding software for Intune instead.",
                ),
            ],
        ),
        Scenario(
            "Move the school website to a new host",
            "Move the school website from the current host to a cheaper one.",
            "The hosting contract renews in the summer at a higher price.",
            steps=[
                _act("submit", "olivia"),
                _act("approve", "ian"),
                _act(
                    "withdraw",
                    "olivia",
                    "The trust is buying one website platform for all its schools; we will "
                    "move with them instead.",
                ),
            ],
        ),
        Scenario(
            "Patch the firewall against the VPN vulnerability",
            "Apply the firewall vendor's emergency hotfix for the remote-access VPN.",
            "The vendor reports the flaw is being exploited against schools.",
            extra={
                "is_emergency": True,
                "emergency_justification": "The VPN is reachable from the internet and the "
                "flaw is under active attack; it cannot wait for the next approval round.",
            },
            plan=_plan(
                "1. Download the hotfix and check its checksum.\n2. Back up the firewall "
                "configuration.\n3. Apply the hotfix and restart.\n4. Test the staff VPN.",
                "Internet access and the VPN down for about 15 minutes at lunchtime.",
                "Low; the hotfix is a small change from the vendor.",
                "Restore the previous firmware image and configuration.",
                cal.slot(cal.today, time(12, 30), 0.5),
            ),
            steps=[
                _act("submit", "olivia"),
                _act("approve", "ian", "Go ahead now; Fiona to ratify afterwards."),
                "plan",
            ],
        ),
        Scenario(
            "Update the interactive display software",
            "Install the new version of the classroom interactive display software on the "
            "teachers' laptops.",
            "The new version is needed for the updated phonics resources.",
            plan=_plan(
                "1. Deploy the new version to the teachers' laptops from Intune.\n"
                "2. Check each classroom display still calibrates.",
                "None during lessons; deployed overnight.",
                "Medium. The displays in Reception are an older model.",
                "Redeploy the previous version from Intune.",
                cal.slot(cal.friday(-2), after_school, 1),
            ),
            steps=[
                _act("submit", "olivia"),
                _act("approve", "ian"),
                "plan",
                _act("submit_plan", "olivia"),
                _act("approve", "peter"),
                _act("approve", "fiona"),
                _act(
                    "record_outcome",
                    "olivia",
                    "The Reception displays would not calibrate; rolled back overnight.",
                    outcome="failed_backed_out",
                ),
                _act(
                    "close",
                    "olivia",
                    "Reception displays to be replaced first; new RFC to follow.",
                    records_updated=True,
                    caused_incidents=True,
                    users_informed=True,
                ),
            ],
        ),
    ]


def build_demo() -> list[tuple[str, str, str]]:
    """Build (or find) the demo school; returns the sign-ins: (username, password, roles)."""
    with transaction.atomic():
        before = OutboxMessage.objects.aggregate(n=Max("id"))["n"] or 0
        school = School.objects.filter(slug=SCHOOL_SLUG).first() or create_school(
            SCHOOL_NAME, SCHOOL_SLUG
        )
        people = {person.username: _ensure_person(person, school) for person in PEOPLE}
        existing = set(Change.objects.filter(school=school).values_list("title", flat=True))
        for scenario in scenarios(_Calendar(school.timezone)):
            if scenario.title not in existing:
                _build(scenario, school, people)
        _school_setting(school, people)
        _standard_changes(school, people)
        _patches(school, people)
        release_management.seed(school, people)
        # A year of history before all that, how the school brought FITS in, and a second
        # school just starting.
        build_history(school, people)
        build_adoption(school, people)
        freeze_reports(school, people)
        starting = build_starting(PASSWORD)
        # A trust of three schools, one of them Welsh-medium, with a change across them.
        in_trust = build_trust(PASSWORD, school)
        # Demo news is not news: the worker must never mail it to these made-up addresses.
        schools = School.objects.filter(
            slug__in=[SCHOOL_SLUG, STARTING_SLUG, *(slug for _, slug, _, _ in TRUST_SCHOOLS)]
        )
        OutboxMessage.objects.filter(id__gt=before, school__in=schools).delete()
    return (
        [
            (
                person.username,
                PASSWORD,
                f"{people[person.username].display_name}, {person.job_title}: "
                + ", ".join(Role(role).label.lower() for role in person.roles),
            )
            for person in PEOPLE
        ]
        + starting
        + in_trust
    )


def _ensure_person(person: Person, school: School) -> User:
    user = User.objects.filter(username=person.username).first()
    if user is None:
        user = create_user(
            person.username,
            email=f"{person.username}@{EMAIL_DOMAIN}",
            password=PASSWORD,
            first_name=person.first_name,
            last_name=person.last_name,
            job_title=person.job_title,
            check_password=False,
        )
    membership = Membership.objects.filter(user=user, school=school).first()
    if membership is None:
        set_membership(user, school, person.roles)
    elif missing := [role for role in person.roles if role not in membership.role_list]:
        # A role the demo has given since reaches a database built before (roles are only
        # added, never taken away).
        set_membership(user, school, [*membership.role_list, *missing])
    return user


def _build(scenario: Scenario, school: School, people: dict[str, User]) -> Change:
    data: dict[str, Any] = {
        "title": scenario.title,
        "description": scenario.description,
        "reason": scenario.reason,
    }
    for name, value in scenario.extra.items():
        data[name] = people[value] if name == "implementer" else value
    change = create_change(school, people["olivia"], data)
    for step in scenario.steps:
        if isinstance(step, str):
            update_change(change.pk, people["olivia"], scenario.plan)
        else:
            step(change, people)
    change.refresh_from_db()
    return change


# Configuration items, the school calendar and a notice, added once the RFCs exist (so
# their histories are as they were planned), and only when missing.
ITEMS = [
    ("Core network switch", ItemKind.NETWORK_DEVICE, "NET-001", "Server room", 420),
    ("ICT suite 2 switch", ItemKind.NETWORK_DEVICE, "NET-014", "ICT suite 2", 30),
    ("MIS server", ItemKind.SERVER, "SRV-002", "Server room", 60),
    ("Management information system", ItemKind.SERVICE, "SVC-MIS", "", 60),
    ("Wi-Fi access points", ItemKind.DEVICE_GROUP, "WIFI-ALL", "Whole school", 400),
    ("ICT suite 2, 30 PCs", ItemKind.DEVICE_GROUP, "SUITE-2", "ICT suite 2", 30),
    ("Office printers", ItemKind.DEVICE_GROUP, "PRN-OFFICE", "School office", 12),
]
# Which demo RFCs touch which items (by title prefix and identifiers), where the plan is
# still open to edit.
ITEMS_ON = {
    "Set up a guest Wi-Fi network": ["WIFI-ALL", "NET-001"],
    "Windows 11 24H2 feature update": ["SUITE-2"],
}


def _school_setting(school: School, people: dict[str, User]) -> None:
    from changedesk.changes.items import set_change_items
    from changedesk.configuration.services import create_item
    from changedesk.schedule.models import (
        CalendarPeriod,
        MaintenanceWindow,
        PeriodKind,
        SchoolCalendar,
    )

    by_tag = {i.identifier: i for i in ConfigurationItem.objects.filter(school=school)}
    for name, kind, tag, location, users in ITEMS:
        if tag not in by_tag:
            by_tag[tag] = create_item(
                school,
                people["sam"],
                {
                    "name": name,
                    "kind": kind,
                    "identifier": tag,
                    "location": location,
                    "users_affected": users,
                },
            )
    for change in Change.objects.filter(school=school).select_related("originator"):
        for prefix, tags in ITEMS_ON.items():
            if change.title.startswith(prefix) and not change.item_links.exists():
                set_change_items(change, [by_tag[t] for t in tags], change.originator)

    SchoolCalendar.objects.get_or_create(school=school)
    zone = school.zone
    today = timezone.now().astimezone(zone).date()

    def local(day: date) -> datetime:
        return datetime.combine(day, time(0, 0), tzinfo=zone)

    term_start = today - timedelta(days=today.weekday() + 21)
    # Exams over the week of the RFC awaiting final approval: the headteacher sees the
    # conflict and is asked for a reason to approve it anyway.
    awaiting = Change.objects.filter(school=school, state="awaiting_final_approval").first()
    exam_day = (
        awaiting.planned_start.astimezone(zone).date()
        if awaiting and awaiting.planned_start
        else today + timedelta(days=21)
    )
    periods = [
        ("demo-term", PeriodKind.TERM, "This term", term_start, today + timedelta(days=70), False),
        ("demo-inset", PeriodKind.INSET, "Staff training",
         term_start, term_start + timedelta(1), False),
        ("demo-exams", PeriodKind.EXAM, "Year 6 practice SATs",
         exam_day - timedelta(days=exam_day.weekday()),
         exam_day - timedelta(days=exam_day.weekday()) + timedelta(days=5), False),
        ("demo-freeze", PeriodKind.FREEZE, "Census day freeze",
         today + timedelta(days=45), today + timedelta(days=47), True),
    ]  # fmt: skip
    for _key, period_kind, name, first, after_last, hard in periods:
        CalendarPeriod.objects.get_or_create(
            school=school,
            kind=period_kind,
            name=name,
            defaults={
                "starts_at": local(first),
                "ends_at": local(after_last),
                "is_hard": hard,
            },
        )
    if not MaintenanceWindow.objects.filter(school=school).exists():
        MaintenanceWindow.objects.create(
            school=school, name="Weekdays after 17:30", weekdays=[0, 1, 2, 3, 4],
            start_time=time(17, 30), end_time=None,
        )  # fmt: skip
        MaintenanceWindow.objects.create(
            school=school, name="Weekends", weekdays=[5, 6], start_time=time(0, 0), end_time=None
        )


# Two standard change templates: the monthly patch run, approved through the RFC that
# proposed it (whose first run is planned) with this month's run raised from it, and a
# draft not yet proposed. Made once, by title.
PATCH_RUN: dict[str, Any] = {
    "title": "Monthly security updates for staff laptops",
    "description": "Approve and install the month's security updates on the staff laptops.",
    "reason": "Cyber Essentials: high and critical security updates within 14 days of release.",
    "details": "1. Approve the month's updates in the update console.\n2. Deploy to the pilot "
    "ring (ICT suite 2) and check it next morning.\n3. Deploy to every staff laptop.\n"
    "4. Check the console for failures and follow them up.",
    "impact": "Staff laptops restart once, after school; nothing else is affected.",
    "risk": "Low: an update may fail or misbehave on some laptops.",
    "fallback_plan": "Uninstall the update from the console and pause it until the vendor "
    "fixes it.",
    "duration_minutes": 90,
}
LAMP: dict[str, Any] = {
    "title": "Replace a classroom projector lamp",
    "description": "Swap a failed projector lamp for a spare from the store.",
    "reason": "A projector lamp has failed or is past its hours.",
    "details": "1. Switch off and let it cool for 30 minutes. 2. Swap the lamp. 3. Reset "
    "the lamp timer. 4. Test the picture.",
    "impact": "That classroom has no projector while the lamp is changed.",
    "risk": "Very low.",
    "fallback_plan": "Refit the old lamp, or lend the room a portable projector.",
    "duration_minutes": 45,
}


def _standard_changes(school: School, people: dict[str, User]) -> None:
    from changedesk.schedule.slots import ChangeKind, find_safe_slots
    from changedesk.standard import services as standard
    from changedesk.standard.models import Template

    olivia = people["olivia"]
    if not Template.objects.filter(school=school, title=LAMP["title"]).exists():
        standard.create_template(school, olivia, dict(LAMP))
    if Template.objects.filter(school=school, title=PATCH_RUN["title"]).exists():
        return
    laptops = list(ConfigurationItem.objects.filter(school=school, identifier="SUITE-2"))
    template = standard.create_template(school, olivia, dict(PATCH_RUN), items=laptops)
    proposal = standard.propose(template.pk, olivia)
    perform(proposal.pk, "submit", olivia)
    perform(proposal.pk, "approve", people["ian"], comment="A standard change for the patch run.")
    duration = timedelta(minutes=PATCH_RUN["duration_minutes"])
    ids = [item.pk for item in laptops]
    found = find_safe_slots(school, duration, ids, count=1).slots
    if not found:
        return
    start, end = found[0]
    update_change(
        proposal.pk,
        olivia,
        {"planned_start": start, "planned_end": end, "peer_reviewer": people["peter"],
         "final_approver": people["fiona"], "implementer": olivia},
    )  # fmt: skip
    perform(proposal.pk, "submit_plan", olivia)
    perform(proposal.pk, "approve", people["peter"], comment="The pilot ring goes first: good.")
    perform(proposal.pk, "approve", people["fiona"], comment="Yes, every month, after school.")
    after = find_safe_slots(
        school, duration, ids, kind=ChangeKind.STANDARD, after=end + timedelta(days=28), count=1
    ).slots
    if after:
        standard.raise_change(template.pk, olivia, planned_start=after[0][0])


# Patch management: the vendors the school watches and where each publishes, and a month of
# their patches, one or more in every state of the cycle. Olivia, the ICT technician, is
# the patch administrator. Made once: vendors by name, sources by address, the patches (and
# the RFC of last month's run) only when none of the demo's patch references is there yet.
@dataclass(frozen=True)
class DemoVendor:
    name: str
    products: tuple[str, ...]
    website: str
    notes: str
    # (kind, location, product). Every feed is made inactive: the demo fetches nothing from
    # the internet (a patch administrator switches one on with "Check now").
    sources: tuple[tuple[str, str, str], ...]


VENDORS = (
    DemoVendor(
        "Microsoft",
        ("Windows 11", "Microsoft 365 Apps"),
        "https://www.microsoft.com/",
        "The Security Update Guide's feed is switched off in the demo, which fetches nothing; "
        "use Check now to fetch it on a live instance.",
        (("feed", "https://api.msrc.microsoft.com/update-guide/rss", ""),),
    ),
    DemoVendor(
        "Google",
        ("Chrome",),
        "https://www.google.com/chrome/",
        "",
        (("web", "https://chromereleases.googleblog.com/", "Chrome"),),
    ),
    DemoVendor(
        "Apple",
        ("iPadOS",),
        "https://support.apple.com/en-gb/100100",
        "The class iPads, managed from the MDM.",
        (("mailing_list", "security-announce@lists.apple.com", "iPadOS"),),
    ),
    DemoVendor(
        "SchoolBase MIS",
        ("SchoolBase server", "SchoolBase client"),
        "https://www.schoolbase.example/",
        "The MIS supplier. Northgate IT Services install its releases on the MIS server.",
        (("web", "https://support.schoolbase.example/release-notes", ""),),
    ),
)


@dataclass(frozen=True)
class DemoPatch:
    """One demo patch: what its vendor published, and how far along its cycle it is."""

    vendor: str
    product: str
    # "{month}": its release month, as Microsoft writes it (2026-11).
    title: str
    reference: str
    cves: tuple[int, ...]
    # Days after an anchor: "tuesday", the Tuesday of this month's updates (the latest at
    # least a day ago); "last", four weeks before it (last month's); "today".
    released: tuple[str, int]
    severity: str
    state: str
    items: tuple[str, ...] = ()
    link: str = ""
    description: str = ""
    # The assessment's comment, or the reason it is deferred or does not apply.
    note: str = ""


WINDOWS = "Cumulative Update for Windows 11 Version 23H2 for x64-based Systems"
M365 = "https://learn.microsoft.com/officeupdates/microsoft365-apps-security-updates"
CHROME = "https://chromereleases.googleblog.com/"
APPLE = "https://support.apple.com/en-gb/100100"
SCHOOLBASE = "https://support.schoolbase.example/release-notes"
PILOT = (
    "Pilot ring: the 30 PCs of ICT suite 2 updated overnight; sign-in, printing, Office and "
    "Teams checked next morning."
)
PATCHES = (
    # Last month's run: deployed by its RFC, then verified and closed as far as each got.
    DemoPatch("Microsoft", "Windows 11", "{month} " + WINDOWS + " (KB5071546)", "KB5071546",
              (62215, 62217, 62230), ("last", 0), "critical", "closed", ("SUITE-2",),
              "https://support.microsoft.com/help/5071546",
              "Security fixes for the Windows kernel, SMB client and Windows Hello; one of "
              "them is exploited.", "Every Windows 11 PC: deploy with the month's run."),
    DemoPatch("Microsoft", "Microsoft 365 Apps",
              "Security update for Microsoft 365 Apps, Current Channel version 2510 "
              "(build 19328.20244)", "Build 19328.20244", (62205, 62206), ("last", 0), "high",
              "verified", ("SUITE-2",), M365, "Remote code execution in Excel and Word.",
              "Office is on every staff laptop: deploy."),
    DemoPatch("Google", "Chrome", "Stable Channel Update for Desktop: Chrome 143.0.7499.110",
              "143.0.7499.110", (13042, 13043), ("last", 2), "critical", "deployed",
              ("SUITE-2",), CHROME, "Google is aware that an exploit for CVE-{year}-13042 "
              "exists in the wild.", "Exploited already: with this month's run."),
    # This month's.
    DemoPatch("Microsoft", "Windows 11", "{month} " + WINDOWS + " (KB5072033)", "KB5072033",
              (64301, 64302, 64318, 64322), ("tuesday", 0), "critical", "scheduled",
              ("SUITE-2",), "https://support.microsoft.com/help/5072033",
              "Security fixes for the Windows kernel, Remote Desktop and the print spooler.",
              "Critical for every Windows 11 PC: deploy."),
    DemoPatch("Microsoft", "Microsoft 365 Apps",
              "Security update for Microsoft 365 Apps, Current Channel version 2511 "
              "(build 19426.20186)", "Build 19426.20186", (64290,), ("tuesday", 0), "high",
              "tested", ("SUITE-2",), M365, "Remote code execution in Outlook's preview pane.",
              "Deploy to every staff laptop."),
    DemoPatch("Microsoft", "Windows 11",
              "{month} Cumulative Update for .NET Framework 3.5 and 4.8.1 for Windows 11, "
              "version 23H2 (KB5071961)", "KB5071961", (64310,), ("tuesday", 0), "high",
              "available", ("SUITE-2",), "https://support.microsoft.com/help/5071961",
              "Fixes an elevation of privilege in the .NET Framework."),
    DemoPatch("Microsoft", "Windows 11",
              "Windows Malicious Software Removal Tool x64, v5.138 (KB890830)", "KB890830", (),
              ("tuesday", 0), "low", "available", ("SUITE-2",),
              "https://support.microsoft.com/help/890830", "This month's detections."),
    DemoPatch("Google", "Chrome", "Stable Channel Update for Desktop: Chrome 144.0.7559.96",
              "144.0.7559.96", (13877, 13878, 13880), ("today", -1), "high", "available",
              ("SUITE-2",), CHROME, "Chrome 144 with 14 security fixes."),
    DemoPatch("Apple", "iPadOS", "iPadOS 26.2", "iPadOS 26.2", (43511, 43520),
              ("today", -2), "high", "available", (), APPLE,
              "Fixes for WebKit and the kernel; an app may gain kernel privileges."),
    # An assessment that waits: the pilot ring is offline until its switch is replaced.
    DemoPatch("Google", "Chrome", "Stable Channel Update for Desktop: Chrome 143.0.7499.169",
              "143.0.7499.169", (13511,), ("today", -18), "critical", "assessed",
              ("SUITE-2",), CHROME, "Google is aware that an exploit for CVE-{year}-13511 "
              "exists in the wild.", "Exploited: deploy. Its test waits for SchoolBase to "
              "confirm that the MIS web client works with it."),
    DemoPatch("SchoolBase MIS", "SchoolBase client", "SchoolBase client 7.4.2 security fix",
              "SB-7.4.2", (40912,), ("today", -4), "high", "assessed", ("SVC-MIS",),
              SCHOOLBASE, "The office client could be made to run a file opened from an "
              "e-mail.", "The office PCs run the client: deploy, Northgate to test first."),
    # The two other ends of an assessment.
    DemoPatch("SchoolBase MIS", "SchoolBase server", "SchoolBase 7.4 hotfix 3 (report exports)",
              "SB-7.4-HF3", (), ("today", -10), "medium", "deferred", ("SRV-002", "SVC-MIS"),
              SCHOOLBASE, "Fixes report card exports timing out; a fix to the export log.",
              "The spring release (“Upgrade the MIS to the spring release”) includes this "
              "fix: installing it now would mean two MIS upgrades in three weeks."),
    DemoPatch("Apple", "iPadOS", "iPadOS 18.7.3 (for iPads that cannot run iPadOS 26)",
              "iPadOS 18.7.3", (43502,), ("today", -20), "medium", "not_applicable", (), APPLE,
              "The iPadOS 26.1 fixes, for older iPads.",
              "Every class iPad runs iPadOS 26 (checked in the MDM): none needs it."),
)  # fmt: skip
LAST_RUN: dict[str, Any] = {
    "title": "Security updates for staff laptops (before the standard change)",
    "description": "Install the month's Windows, Microsoft 365 and Chrome security updates: "
    "the pilot ring (ICT suite 2) first, then every staff laptop.",
    "reason": "Cyber Essentials: high and critical security updates within 14 days of release. "
    "The standard change for the monthly run was not yet approved, so this run is a normal "
    "change.",
}
DEPLOYED_FAMILY = ("deployed", "verified", "closed")


def _patches(school: School, people: dict[str, User]) -> None:
    """The vendors and their patches. Every step goes through the patches' services and their
    door (`workflow.perform`), so each patch's history is as it happened."""
    from changedesk.patches import services as patching
    from changedesk.patches.models import Patch, Source, Vendor, today_in

    olivia = people["olivia"]
    vendors = {}
    for watched in VENDORS:
        vendor = Vendor.objects.filter(school=school, name__iexact=watched.name).first()
        if vendor is None:
            vendor = patching.save_vendor(
                school,
                olivia,
                {"name": watched.name, "products": list(watched.products),
                 "website": watched.website, "notes": watched.notes},
            )  # fmt: skip
        vendors[watched.name] = vendor
        for kind, location, product in watched.sources:
            if not Source.objects.filter(vendor=vendor, location=location).exists():
                patching.save_source(
                    school,
                    olivia,
                    {"vendor": vendor, "kind": kind, "location": location, "product": product,
                     "is_active": kind != "feed"},
                )  # fmt: skip
    references = [p.reference for p in PATCHES]
    if Patch.objects.filter(school=school, reference__in=references).exists():
        return
    if Change.objects.filter(school=school, title=LAST_RUN["title"]).exists():
        return
    today = today_in(school)
    tuesday = today - timedelta(days=(today.weekday() - 1) % 7 or 7)
    anchors = {"tuesday": tuesday, "last": tuesday - timedelta(days=28), "today": today}
    # Last month's run, carried out nine days after last month's updates came (a Thursday).
    run_day = anchors["last"] + timedelta(days=9)
    by_tag = {i.identifier: i for i in ConfigurationItem.objects.filter(school=school)}
    last_run = _last_run(school, people, run_day, [by_tag["SUITE-2"]])
    this_run = _this_run(school)
    made = []
    for demo in PATCHES:
        released = anchors[demo.released[0]] + timedelta(days=demo.released[1])
        year = released.year
        patch = patching.create_patch(
            school,
            olivia,
            {
                "vendor": vendors[demo.vendor],
                "product": demo.product,
                "title": demo.title.format(month=f"{released:%Y-%m}"),
                "reference": demo.reference,
                "cves": ", ".join(f"CVE-{year}-{n}" for n in demo.cves),
                "release_date": released,
                "severity": demo.severity,
                "link": demo.link,
                "description": demo.description.format(year=year),
            },
            items=[by_tag[tag] for tag in demo.items if tag in by_tag],
        )
        run = last_run if demo.state in DEPLOYED_FAMILY else this_run
        _take_patch(patch, demo, olivia, by_tag, today, run)
        made.append((patch, demo))
    # How last month's run is told truly: its patches were deployed on the day it was
    # carried out. An RFC's recorded outcome deploys its patches dated the day the outcome
    # is recorded (`patches.rfc`), which for the demo would be today, so each is deployed
    # through the patches' door as that outcome would (`by_change`), dated the run's day and
    # naming the run's RFC, before the outcome is recorded (which then finds nothing left to
    # deploy). The patches stay on the RFC that deployed them, not on this month's.
    for patch, demo in made:
        if demo.state in DEPLOYED_FAMILY:
            comment = f"RFC {last_run.reference}: succeeded."
            data = {"deployed_on": run_day}
            _patch_step(patch, "deploy", olivia, data, comment, by_change=True)
    perform(
        last_run.pk,
        "record_outcome",
        olivia,
        comment="Pilot ring fine overnight; every staff laptop updated the next evening.",
        data={"outcome": "succeeded"},
    )
    perform(
        last_run.pk,
        "close",
        olivia,
        comment="The update console and the asset register agree.",
        data=CLOSE_REVIEW,
    )
    suite = by_tag["SUITE-2"]
    verified = [{"item": suite.pk, "result": "passed",
                 "notes": "The update console shows it installed on every PC."}]  # fmt: skip
    for patch, demo in made:
        if demo.state in ("verified", "closed"):
            _patch_step(patch, "verify", olivia, {"results": verified})
        if demo.state == "closed":
            _patch_step(patch, "close", olivia, {}, "Configuration records updated.")


def _patch_step(
    patch: Patch,
    action: str,
    actor: User,
    data: dict[str, Any],
    comment: str = "",
    *,
    by_change: bool = False,
) -> Patch:
    from changedesk.patches import workflow as patch_cycle

    return patch_cycle.perform(patch.pk, action, actor, data, comment=comment, by_change=by_change)


def _take_patch(
    patch: Patch,
    demo: DemoPatch,
    olivia: User,
    by_tag: dict[str, ConfigurationItem],
    today: date,
    run: Change | None,
) -> None:
    """Assess, test and schedule `patch` as far as the demo has it (its deployment, with the
    rest of last month's run, is `_patches`'s)."""
    if demo.state == "available":
        return
    if demo.state == "deferred":
        data = {"reason": demo.note, "defer_until": today + timedelta(days=21)}
        _patch_step(patch, "defer", olivia, data)
        return
    if demo.state == "not_applicable":
        _patch_step(patch, "not_applicable", olivia, {"reason": demo.note})
        return
    _patch_step(patch, "assess", olivia, {"severity": demo.severity}, demo.note)
    if demo.state == "assessed":
        return
    tested = [{"item": by_tag["SUITE-2"].pk, "result": "passed", "notes": PILOT}]
    _patch_step(patch, "test", olivia, {"results": tested})
    if demo.state != "tested" and run is not None:
        _patch_step(patch, "schedule", olivia, {"change": run.pk})


def _last_run(
    school: School, people: dict[str, User], day: date, items: list[ConfigurationItem]
) -> Change:
    """Last month's patch run, a normal RFC approved and carried out on `day` (its outcome is
    recorded once its patches are on it)."""
    olivia = people["olivia"]
    change = create_change(school, olivia, dict(LAST_RUN), items=items)
    perform(change.pk, "submit", olivia)
    perform(change.pk, "approve", people["ian"], comment="Within the 14 days, please.")
    update_change(
        change.pk,
        olivia,
        {
            **_plan(
                PATCH_RUN["details"],
                PATCH_RUN["impact"],
                PATCH_RUN["risk"],
                PATCH_RUN["fallback_plan"],
                _Calendar(school.timezone).slot(day, time(17, 45), 1.5),
            ),
            "peer_reviewer": people["peter"],
            "final_approver": people["fiona"],
            "implementer": olivia,
        },
    )
    perform(change.pk, "submit_plan", olivia)
    perform(change.pk, "approve", people["peter"], comment="Pilot ring first: good.")
    perform(change.pk, "approve", people["fiona"])
    return Change.objects.get(pk=change.pk)


def _this_run(school: School) -> Change | None:
    """The patch run this month's tested patches go on: the soonest still to be carried out
    of the patch run template's runs (the RFC that proposed it, planned as its first run,
    and those raised from it), so that they are deployed within their deadline. The run
    raised for next month would see a critical patch of this month's deployed late."""
    from changedesk.changes.choices import TERMINAL_STATES
    from changedesk.standard.models import Raised, Template

    template = Template.objects.filter(school=school, title=PATCH_RUN["title"]).first()
    if template is None:
        return None
    runs = [r.change for r in Raised.objects.filter(template=template).select_related("change")]
    if template.proposal is not None:
        runs.append(template.proposal)
    still = [c for c in runs if c.state not in TERMINAL_STATES and not c.outcome]
    never = datetime.max.replace(tzinfo=ZoneInfo("UTC"))
    still.sort(key=lambda c: (c.planned_start or never, c.pk))
    return still[0] if still else None
