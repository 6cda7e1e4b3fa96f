"""The pages of the site, and the scene they show: the demo school (`changedesk demo`)
with what the demo leaves out (a committee meeting and its minutes, a published notice, a
calendar feed, a delegation, a trust-wide change), seen by Dana, who runs the school's ICT
paperwork (school administrator, originator, final approver and communicator), and a few
by Tom, a teacher who only reads.

Shared by the tests that visit every page: on a phone in a real browser (`test_phone`) and
in Welsh (`test_welsh_pages`, which needs no browser).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.utils import timezone

from changedesk.accounts.choices import Role, TrustRole
from changedesk.accounts.models import Delegation, School, User
from changedesk.accounts.services import create_user, set_membership
from changedesk.changes.models import Change
from changedesk.changes.services import create_change, update_change
from changedesk.committee import services as committee
from changedesk.communication import services as communication
from changedesk.configuration.models import ConfigurationItem
from changedesk.conftest import REQUEST
from changedesk.schedule.models import CalendarPeriod, FeedKind, PeriodKind
from changedesk.schedule.services import create_feed_token
from changedesk.site.demo import PASSWORD, SCHOOL_SLUG, build_demo


def build_place() -> dict[str, Any]:
    """The demo school, and what the demo leaves out: returns the names the paths use."""
    build_demo()
    school = School.objects.get(slug=SCHOOL_SLUG)
    people = {u.username: u for u in User.objects.filter(memberships__school=school)}
    dana = create_user(
        "dana",
        email="dana@greenfield.example",
        password=PASSWORD,
        first_name="Dana",
        last_name="Drummond-Whitaker",
        job_title="Deputy headteacher and ICT lead",
        check_password=False,
    )
    roles = [
        Role.SCHOOL_ADMIN,
        Role.ORIGINATOR,
        Role.FINAL_APPROVER,
        Role.COMMUNICATOR,
        Role.RELEASE_MANAGER,
    ]
    set_membership(dana, school, roles)

    def rfc(title: str) -> Change:
        return Change.objects.get(school=school, title__startswith=title)

    # The Windows update, still in planning, with its items, gets a window in the exams
    # during the teaching day: its page and the calendar have conflicts to show.
    windows = rfc("Windows 11")
    exams = CalendarPeriod.objects.get(school=school, kind=PeriodKind.EXAM)
    day = exams.starts_at.astimezone(school.zone).date() + timedelta(days=1)
    start = datetime.combine(day, time(10, 0), tzinfo=school.zone)
    update_change(
        windows.pk,
        people["olivia"],
        {
            "risk": "Medium: a PC may need its update applied again by hand.",
            "fallback_plan": "Roll back to 23H2 from the recovery partition.",
            "planned_start": start,
            "planned_end": start + timedelta(hours=3),
        },
    )

    # A meeting of the committee that has decided on one RFC and deferred another.
    meeting = committee.create_meeting(
        school,
        dana,
        {
            "title": "Change advisory committee, autumn term",
            "held_at": timezone.now() - timedelta(hours=2),
            "chair": people["fiona"],
            "minutes": "Apologies from Peter Patel. The trust's new web filter was discussed.",
        },
    )
    committee.build_agenda(meeting.pk, dana)
    committee.record_attendance(meeting.pk, dana, [people["ian"], people["fiona"], dana])
    for item in meeting.items.select_related("change"):
        if item.change.title.startswith("Roll out the new office printer"):
            committee.decide(item.pk, dana, "approve", "Agreed: plan it for the half-term.")
        elif item.change.title.startswith("Upgrade the MIS"):
            committee.decide(item.pk, dana, "deferred", "Waiting for Northgate's dates.")

    # The approved switch replacement is told to the school; a general notice is drafted.
    switch = rfc("Replace the ICT suite 2 network switch")
    notice, _ = communication.draft_from_change(switch.pk, dana)
    communication.update_notice(notice.pk, dana, {"what_to_do": "Book ICT suite 1 instead."})
    communication.publish_notice(notice.pk, dana)
    general = communication.create_notice(
        school,
        dana,
        {
            "title": "New passwords for the staff Wi-Fi after the holidays",
            "what": "Every member of staff gets a new Wi-Fi password by e-mail.",
            "what_to_do": "Sign in again on your laptop and phone.",
        },
    )

    create_feed_token(dana, FeedKind.SCHOOL, school)
    create_feed_token(dana, FeedKind.PERSON)
    now = timezone.now()
    Delegation.objects.create(
        school=school,
        approver=people["fiona"],
        deputy=people["ian"],
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=6),
        reason="At the headteachers' conference in Harrogate",
    )
    # The demo's schools in a trust, which Dana administers with a technician beside her.
    from changedesk.accounts import trusts
    from changedesk.schedule import trust_calendar

    # (The demo's own trust when it has one, which the other demo schools then join.)
    trust = school.trust or trusts.create_trust("Northfield Learning Trust", "northfield")
    for each in School.objects.filter(trust__isnull=True).order_by("pk"):
        trusts.add_school(trust, each)
    trusts.set_trust_roles(trust, dana, [TrustRole.TRUST_ADMIN, TrustRole.TRUST_TECHNICIAN])
    trusts.set_trust_roles(trust, people["peter"], [TrustRole.TRUST_PEER_REVIEWER])
    trust_calendar.create_period(
        trust,
        dana,
        {
            "kind": "holiday",
            "name": "Trust INSET and October half term",
            "starts_at": timezone.now() + timedelta(days=40),
            "ends_at": timezone.now() + timedelta(days=47),
        },
    )

    # A change raised for the trust's schools (trustwide): the demo's, or one Dana raises.
    from changedesk.trustwide.models import ParentChange

    parent = ParentChange.objects.filter(trust=trust).first() or _raise_for_the_trust(trust, dana)

    item = ConfigurationItem.objects.get(school=school, identifier="SUITE-2")
    from changedesk.patches.models import Patch, Vendor
    from changedesk.releases import models as releases

    build = releases.Build.objects.get(school=school, name="Curriculum laptop image 2027")
    return {
        "software": releases.Software.objects.filter(school=school).order_by("id").first().pk,
        "licence": releases.Licence.objects.get(school=school, product__startswith="Minecraft").pk,
        "build": build.pk,
        "version": build.approved_version.number,
        "installation": releases.Installation.objects.get(school=school, state="in_progress").pk,
        "release": releases.Release.objects.filter(school=school, state="build").first().pk,
        "install_request": releases.InstallRequest.objects.filter(school=school).first().pk,
        "vendor": Vendor.objects.get(school=school, name="Microsoft").pk,
        "patch": Patch.objects.filter(school=school, state="assessed").order_by("id").first().pk,
        "tested_patch": Patch.objects.filter(school=school, state="tested").first().pk,
        "school": school.slug,
        "trust": trust.slug,
        "parent": parent.pk,
        "trust_person": people["peter"].pk,
        "rfc": windows.pk,
        # Only its originator edits an RFC: one of Dana's own, for the edit form.
        "own": create_change(school, dana, dict(REQUEST, title="Dana's own draft")).pk,
        "approved": switch.pk,
        "waiting": rfc("Upgrade the MIS").pk,
        "item": item.pk,
        "meeting": meeting.pk,
        "notice": notice.pk,
        "general": general.pk,
        "period": exams.pk,
        "member": people["olivia"].pk,
        "day": day.isoformat(),
    }


def _raise_for_the_trust(trust: Any, dana: User) -> Any:
    """A change Dana raises for all the trust's schools, each in its next safe slot."""
    from changedesk.trustwide import services as trustwide

    parent, _ = trustwide.raise_for_schools(
        trust,
        dana,
        {
            "title": "Block a phishing domain at every school's firewall",
            "description": "Add a deny rule for the domain on each school's firewall.",
            "reason": "Staff were sent a convincing phishing e-mail from it.",
        },
        trustwide.schools_of(trust, None),
        trustwide.Placement(minutes=60),
    )
    trustwide.act_on_many(parent, dana, "submit", trustwide.children(parent))
    return parent


# (name, path): the menu's pages, and the pages under them.
PAGES: list[tuple[str, str]] = [
    ("My work", "/"),
    ("change log", "/changes/"),
    ("RFC page", "/changes/{rfc}/"),
    ("RFC page, awaiting the go-ahead", "/changes/{waiting}/"),
    ("RFC page, approved", "/changes/{approved}/"),
    ("RFC edit form", "/changes/{own}/edit/"),
    ("RFC print", "/changes/{rfc}/print/"),
    ("new RFC form", "/changes/new/"),
    ("schedule, month", "/schedule/?view=month&date={day}"),
    ("schedule, week", "/schedule/?view=week&date={day}"),
    ("schedule, agenda", "/schedule/?view=agenda&date={day}"),
    ("schedule, print", "/schedule/print/?view=agenda&date={day}"),
    ("calendars", "/schedule/calendar/"),
    ("calendar", "/schedule/calendar/{school}/"),
    ("calendar period form", "/schedule/calendar/{school}/periods/{period}/"),
    ("calendar import", "/schedule/calendar/{school}/import/"),
    ("slot finder", "/schedule/slots/"),
    ("slot finder, for an RFC", "/schedule/slots/?change={rfc}"),
    ("feeds", "/schedule/feeds/"),
    ("items", "/items/"),
    ("item page", "/items/{item}/"),
    ("item form", "/items/{item}/edit/"),
    ("items import", "/items/import/{school}/"),
    ("notices", "/notices/"),
    ("notice board", "/notices/{school}/"),
    ("notice management", "/notices/{school}/manage/"),
    ("notice", "/notices/{school}/{notice}/"),
    ("notice form", "/notices/{school}/{notice}/edit/"),
    ("new notice form", "/notices/{school}/new/"),
    ("notice settings", "/notices/{school}/settings/"),
    ("committee", "/committee/"),
    ("meetings", "/committee/{school}/"),
    ("meeting", "/committee/{school}/{meeting}/"),
    ("meeting form", "/committee/{school}/{meeting}/edit/"),
    ("minutes", "/committee/{school}/{meeting}/minutes/"),
    ("attendees", "/committee/{school}/{meeting}/attendees/"),
    ("committee settings", "/committee/{school}/settings/"),
    ("schools", "/accounts/schools/"),
    ("school page", "/accounts/schools/{school}/"),
    ("school settings", "/accounts/schools/{school}/settings/"),
    ("member form", "/accounts/schools/{school}/members/{member}/"),
    ("add a member", "/accounts/schools/{school}/members/add/"),
    ("delegations", "/accounts/schools/{school}/delegations/"),
    ("signing-in rules", "/signin/schools/{school}/"),
    ("trust signing-in rules", "/signin/trusts/{trust}/"),
    ("trusts", "/accounts/trusts/"),
    ("trust page", "/accounts/trusts/{trust}/"),
    ("add a school to the trust", "/accounts/trusts/{trust}/schools/add/"),
    ("give trust roles", "/accounts/trusts/{trust}/people/add/"),
    ("trust roles form", "/accounts/trusts/{trust}/people/{trust_person}/"),
    ("spreadsheets", "/spreadsheets/"),
    ("change log import", "/spreadsheets/import/{school}/"),
    ("trust change log import", "/spreadsheets/trusts/{trust}/import/"),
    ("trust calendar", "/schedule/calendar/trust/{trust}/"),
    ("trust-wide changes", "/trust-changes/"),
    ("raise a trust-wide change", "/trust-changes/new/{trust}/"),
    ("trust-wide change", "/trust-changes/{parent}/"),
    ("trust calendar period form", "/schedule/calendar/trust/{trust}/periods/new/"),
    ("trust report", "/reports/?trust={trust}"),
    ("trust compliance", "/getting-started/trusts/{trust}/compliance/"),
    ("patch board", "/patches/"),
    ("patch list", "/patches/all/"),
    ("new patch form", "/patches/new/"),
    ("patch import", "/patches/import/"),
    ("patch run", "/patches/run/"),
    ("patch page, assessed", "/patches/{patch}/"),
    ("patch page, tested", "/patches/{tested_patch}/"),
    ("patch form", "/patches/{patch}/edit/"),
    ("vendors", "/patches/vendors/"),
    ("vendor page", "/patches/vendors/{vendor}/"),
    ("new vendor form", "/patches/vendors/new/"),
    ("patch compliance", "/patches/compliance/"),
    ("patch compliance statement", "/patches/compliance/{school}/statement/"),
    ("patch deadlines", "/patches/policy/{school}/"),
    ("an item's patches", "/patches/items/{item}/"),
    ("release overview", "/releases/"),
    ("releases", "/releases/all/"),
    ("new release form", "/releases/new/"),
    ("release page", "/releases/{release}/"),
    ("release form", "/releases/{release}/edit/"),
    ("release figures", "/releases/figures/"),
    ("install requests", "/releases/requests/"),
    ("install request form", "/releases/requests/new/"),
    ("install request", "/releases/requests/{install_request}/"),
    ("release policy", "/releases/policy/"),
    ("release policy form", "/releases/policy/edit/"),
    ("release policy print", "/releases/policy/print/"),
    ("software library", "/releases/library/"),
    ("library piece", "/releases/library/{software}/"),
    ("library piece form", "/releases/library/{software}/edit/"),
    ("new library piece form", "/releases/library/new/"),
    ("in/out book", "/releases/library/out/"),
    ("builds", "/releases/builds/"),
    ("services without a build procedure", "/releases/builds/undocumented/"),
    ("build page", "/releases/builds/{build}/"),
    ("build procedure version", "/releases/builds/{build}/versions/{version}/"),
    ("build procedure print", "/releases/builds/{build}/print/"),
    ("new build form", "/releases/builds/new/"),
    ("start an installation", "/releases/builds/{build}/install/"),
    ("installations", "/releases/installations/"),
    ("install build checklist", "/releases/installations/{installation}/"),
    ("licence log", "/releases/licences/"),
    ("licence page", "/releases/licences/{licence}/"),
    ("licence form", "/releases/licences/{licence}/edit/"),
    ("licence import", "/releases/licences/import/"),
    ("getting started", "/getting-started/"),
    ("roles with guidance", "/getting-started/roles/"),
    ("training", "/getting-started/training/"),
    ("training overview", "/getting-started/training/overview/"),
    ("pilot", "/getting-started/pilot/"),
    ("materials", "/getting-started/materials/"),
    ("blank RFC", "/getting-started/materials/blank-rfc/"),
    ("role cards", "/getting-started/materials/role-cards/"),
    ("review checklist", "/getting-started/review/"),
    ("report", "/reports/"),
    ("report archive", "/reports/archive/"),
    ("profile", "/accounts/me/"),
    ("API docs", "/api/v1/docs/"),
]

# What a teacher who only reads sees: the tables without an edit link in them.
READER_PAGES: list[tuple[str, str]] = [
    ("calendar, as a reader", "/schedule/calendar/{school}/"),
    ("school page, as a reader", "/accounts/schools/{school}/"),
    ("items, as a reader", "/items/"),
    ("schedule, agenda, as a reader", "/schedule/?view=agenda&date={day}"),
    ("release overview, as a reader", "/releases/"),
    ("licence log, as a reader", "/releases/licences/"),
    ("software library, as a reader", "/releases/library/"),
    ("build page, as a reader", "/releases/builds/{build}/"),
]
