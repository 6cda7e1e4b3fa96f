"""Issue 13's journey, end to end, in a real browser (Chromium): a trust's ICT lead, new to
changedesk, signs in with "Microsoft" (the real OpenID Connect provider of the sign-in
tests standing in for Entra ID; her account is found by her verified e-mail address),
raises one firewall change for all twelve of the trust's schools, and sees each placed in
its own safe slot (schools with exams or a freeze get a later one). Eleven headteachers
approve (one of them the head of a Welsh-medium school, who works in Welsh) and one
rejects; the change's matrix then shows eleven approved and one rejected, and her My work
shows the change as one row. Last, the trust imports the change log it kept before
changedesk, a spreadsheet naming each row's school.

The scenery (the trust, its schools, their people and calendars) and the repetitive steps
where a browser adds nothing (the initial approvals, submitting the plans, nine of the
approvals) are service calls; the steps a person takes go through the browser.

Needs Debian's Chromium at /usr/bin/chromium and the OpenID Connect provider (`npm ci` in
changedesk/signin/tests/oidc); skipped without them unless CI requires them.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from changedesk.accounts import trusts
from changedesk.accounts.choices import Role, TrustRole
from changedesk.accounts.models import School, User
from changedesk.accounts.services import create_school, create_user
from changedesk.changes.choices import Action, State
from changedesk.changes.models import Change
from changedesk.changes.workflow import perform
from changedesk.conftest import PASSWORD, member
from changedesk.schedule.models import CalendarPeriod, PeriodKind
from changedesk.schedule.slots import find_safe_slots
from changedesk.signin import provider
from changedesk.signin.services import update_trust_rules
from changedesk.signin.tests import oidc_provider
from changedesk.tests.browser import DESKTOP, check_accessibility, require_chromium, sign_in
from changedesk.trustwide import services
from changedesk.trustwide.models import ParentChange

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

require_chromium()

SCHOOLS = [
    "Ashgrove Primary", "Beechwood Primary", "Castle Hill Academy", "Dale View Primary",
    "Elmfield Junior", "Fernside Infants", "Glenmoor High", "Hawthorn Primary",
    "Ivy Lane Primary", "Juniper Academy", "Kestrel Primary", "Ysgol Bryn Derw",
]  # fmt: skip
WELSH = "Ysgol Bryn Derw"
REJECTS = "Castle Hill Academy"
# Schools with exams, and with a change freeze, where the first slot the others get falls.
EXAMS = {"Beechwood Primary", "Glenmoor High", "Juniper Academy"}
FREEZE = {"Dale View Primary", "Kestrel Primary"}

CHANGE = {
    "title": "Block inbound RDP at every school's firewall",
    "description": "Add a deny rule for TCP 3389 from the internet on each school's firewall.",
    "reason": "The trust's insurer requires it; two schools' logs show scans of the port.",
    "details": "1. Back up the firewall's config. 2. Add the deny rule. 3. Test from outside.",
    "impact": "None expected: no one connects to a school by RDP from outside.",
    "risk": "Low: a mistyped rule could block the school's internet for a few minutes.",
    "fallback_plan": "Restore the saved configuration.",
}

# The change log the trust kept before changedesk: one sheet, a School column.
OLD_LOG = "\n".join(
    [
        "School,Ref,Title,Date raised,Status",
        "Ashgrove Primary,TRUST-101,Replace the core switch,04/09/2023,Closed",
        "Ysgol Bryn Derw,TRUST-102,New Wi-Fi controller,11/09/2023,Closed",
        "juniper-academy,TRUST-103,Move the MIS to the cloud,02/10/2023,Withdrawn",
    ]
).encode()


@pytest.fixture(scope="module")
def issuer(live_server):
    yield from oidc_provider.start(f"{live_server.url}/signin/oidc/callback/")


@pytest.fixture
def microsoft(settings, issuer):
    settings.OIDC_ENABLED = True
    settings.OIDC_ISSUER = issuer
    settings.OIDC_RP_CLIENT_ID = oidc_provider.CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = oidc_provider.CLIENT_SECRET
    settings.OIDC_PROVIDER_NAME = "Microsoft"
    settings.AUTHENTICATION_BACKENDS = [
        *settings.AUTHENTICATION_BACKENDS,
        "changedesk.signin.oidc.OIDCBackend",
    ]
    provider.forget()
    yield issuer
    provider.forget()


def slug_of(name: str) -> str:
    return name.lower().replace(" ", "-")


@pytest.fixture
def oakfield(db):
    """Oakfield Trust: twelve schools (one Welsh-medium), each with its own initial
    approver and headteacher; some with exams or a freeze where the first slot falls; and
    Tess, its ICT lead (administrator and technician), who has never signed in."""
    trust = trusts.create_trust("Oakfield Trust", "oakfield")
    schools: dict[str, School] = {}
    people: dict[str, dict[str, User]] = {}
    for name in SCHOOLS:
        school = create_school(name, slug_of(name), peer_review_enabled=False)
        trusts.add_school(trust, school)
        schools[name] = school
        short = slug_of(name).split("-")[0]
        people[name] = {
            "initial": member(f"ict_{short}", school, [Role.INITIAL_APPROVER]),
            "head": member(f"head_{short}", school, [Role.FINAL_APPROVER]),
        }
    welsh = schools[WELSH]
    welsh.language = "cy"
    welsh.save()
    tess = create_user(
        "tess",
        email="tess@oakfield.example",
        password=None,
        first_name="Tess",
        last_name="Tudor",
        check_password=False,
    )
    trusts.set_trust_roles(trust, tess, [TrustRole.TRUST_ADMIN, TrustRole.TRUST_TECHNICIAN])
    update_trust_rules(trust, tess, domains=["oakfield.example"])

    # Where an hour's change would go at a school with nothing in its calendar: the exams
    # and the freeze cover it, so those schools' slots are later (the freeze the longer).
    plain = find_safe_slots(schools[SCHOOLS[0]], timedelta(hours=1), [], count=1).slots[0]
    for name in EXAMS | FREEZE:
        exams = name in EXAMS
        CalendarPeriod.objects.create(
            school=schools[name],
            kind=PeriodKind.EXAM if exams else PeriodKind.FREEZE,
            name="Mock exams" if exams else "Census week freeze",
            starts_at=plain[0] - timedelta(hours=2),
            ends_at=plain[0] + timedelta(days=2 if exams else 5),
        )
    return {"trust": trust, "schools": schools, "people": people, "tess": tess, "plain": plain}


def test_the_trust_wide_journey(browser, live_server, microsoft, oakfield, settings):
    base = live_server.url
    trust, people = oakfield["trust"], oakfield["people"]
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        # --- Tess signs in with Microsoft: her account is found by her e-mail address. ---
        page.goto(f"{base}/accounts/login/")
        page.get_by_role("link", name="Sign in with Microsoft").click()
        page.wait_for_url(f"{microsoft}/**")
        page.locator("input[name=login]").fill("tess@oakfield.example")
        page.locator("input[name=password]").fill("her Entra ID password")
        page.locator("button[type=submit]").click()
        page.wait_for_url(lambda url: url.startswith(base) and "/accounts/login/" not in url)
        assert User.objects.filter(email__iexact="tess@oakfield.example").count() == 1

        # --- She raises one change for all twelve schools, each in its own safe slot. ---
        page.goto(f"{base}/trust-changes/")
        page.get_by_role("link", name="Raise a change for many schools").click()
        page.get_by_label("All the trust's schools").check()
        page.get_by_label("Name").fill(CHANGE["title"])
        page.get_by_label("Brief description").fill(CHANGE["description"])
        page.get_by_label("Reason for the change").fill(CHANGE["reason"])
        page.get_by_label("Full details of the change").fill(CHANGE["details"])
        page.get_by_label("Impact on ICT services and users").fill(CHANGE["impact"])
        page.get_by_label("Risk of failure and impact of failure").fill(CHANGE["risk"])
        page.get_by_label("Fallback plan").fill(CHANGE["fallback_plan"])
        page.get_by_label("Each school's next safe slot").check()
        page.get_by_label("How long it takes (minutes)").fill("60")
        page.get_by_role("button", name="Raise it").click()
        page.get_by_text("TC-0001 is raised in 12 schools.").wait_for()
        parent = ParentChange.objects.get()
        assert page.url == f"{base}{parent.get_absolute_url()}"

        # Each school's window, as the matrix shows it: those with exams or a freeze later.
        windows = {
            name: page.locator(f"#school-{slug_of(name)} td[data-label=Window]").inner_text()
            for name in SCHOOLS
        }
        changes = {c.school.name: c for c in Change.objects.select_related("school")}
        assert set(changes) == set(SCHOOLS)
        plain = oakfield["plain"]
        for name, change in changes.items():
            assert change.state == State.AWAITING_INITIAL_APPROVAL
            start = change.planned_start
            assert change.planned_end - start == timedelta(hours=1)
            if name in EXAMS | FREEZE:
                period = CalendarPeriod.objects.get(school=change.school)
                assert start >= period.ends_at, name
            else:
                # (A step later, should the clock have passed one since the scene was made.)
                assert plain[0] <= start < period_end(oakfield, EXAMS), name
        assert len(set(windows.values())) == 3, windows
        starts = {kind: {changes[n].planned_start for n in names}
                  for kind, names in (("plain", set(SCHOOLS) - EXAMS - FREEZE),
                                      ("exams", EXAMS), ("freeze", FREEZE))}  # fmt: skip
        assert all(len(found) == 1 for found in starts.values()), starts
        ((plain_start,), (exams_start,), (freeze_start,)) = starts.values()
        assert plain_start < exams_start < freeze_start
        check_accessibility(page)

        # --- Each school's ICT co-ordinator agrees it may be planned; the plan, given when
        # it was raised, goes to each head (service calls: nothing to see here). ---
        for name, change in changes.items():
            perform(change.pk, Action.APPROVE, people[name]["initial"])
        tess = User.objects.get(username="tess")
        results = services.act_on_many(parent, tess, Action.SUBMIT_PLAN, services.children(parent))
        assert all(r.ok for r in results), [r.message for r in results if not r.ok]

        # --- The head of Ysgol Bryn Derw works in Welsh: her My work and the RFC page. ---
        head = people[WELSH]["head"]
        head.set_password(PASSWORD)
        head.save()
        welsh = sign_in(browser, base, head.username)
        try:
            assert welsh.locator("html").get_attribute("lang") == "cy"
            welsh.get_by_role("heading", name="Fy ngwaith", exact=True).wait_for()
            card = welsh.get_by_role("link", name=f"{changes[WELSH].reference} {CHANGE['title']}")
            card.click()
            welsh.wait_for_url(f"{base}{changes[WELSH].get_absolute_url()}")
            assert "Yn aros am gymeradwyaeth derfynol" in welsh.content()
            welsh.get_by_role("button", name="Cymeradwyo", exact=True).click()
            welsh.locator("main .state", has_text="Wedi'i gymeradwyo").first.wait_for()
        finally:
            welsh.context.close()

        # --- Castle Hill's head rejects it, saying why. ---
        head = people[REJECTS]["head"]
        head.set_password(PASSWORD)
        head.save()
        rejecting = sign_in(browser, base, head.username)
        try:
            rejecting.goto(f"{base}{changes[REJECTS].get_absolute_url()}")
            rejecting.get_by_label("Comment").fill(
                "Our firewall is the council's: they must make the change, not the trust."
            )
            # A decision that cannot be undone asks "are you sure?" first.
            asked: list[str] = []
            rejecting.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
            rejecting.get_by_role("button", name="Reject", exact=True).click()
            rejecting.locator("main .state", has_text="Rejected").first.wait_for()
            assert asked == ["Reject: are you sure? This cannot be undone."]
        finally:
            rejecting.context.close()

        # --- The other ten heads approve (service calls: the same step ten times). ---
        for name, change in changes.items():
            if name not in (WELSH, REJECTS):
                perform(change.pk, Action.APPROVE, people[name]["head"])

        # --- The matrix: eleven approved, one rejected. ---
        page.goto(f"{base}{parent.get_absolute_url()}")
        states = {
            name: page.locator(f"#school-{slug_of(name)} td[data-label=State]").inner_text()
            for name in SCHOOLS
        }
        onwards = ("Approved", "Implemented", "Closed")
        assert sum(s.startswith(onwards) for s in states.values()) == 11, states
        assert states[REJECTS].startswith("Rejected"), states
        assert "Now: 11 approved, 1 rejected." in page.locator("main").inner_text()
        check_accessibility(page)

        # Her My work: the twelve RFCs are one row, linking to the change.
        page.goto(f"{base}/")
        row = page.locator(".work-group").filter(has_text="TC-0001")
        assert row.count() >= 1
        assert "12 schools" in row.first.inner_text()
        check_accessibility(page)
        row.first.get_by_role("link", name=f"TC-0001 {CHANGE['title']}").click()
        page.wait_for_url(f"{base}{parent.get_absolute_url()}")

        # --- The trust imports the change log it kept before changedesk. ---
        import_old_log(page, base, trust, tmp_upload(settings))
        imported = Change.objects.filter(title__in=["Replace the core switch",
                                                    "New Wi-Fi controller",
                                                    "Move the MIS to the cloud"])  # fmt: skip
        assert {(c.school.name, c.title) for c in imported} == {
            ("Ashgrove Primary", "Replace the core switch"),
            (WELSH, "New Wi-Fi controller"),
            ("Juniper Academy", "Move the MIS to the cloud"),
        }
    finally:
        context.close()


def period_end(oakfield, names: set[str]):
    school = oakfield["schools"][sorted(names)[0]]
    return CalendarPeriod.objects.get(school=school).ends_at


def tmp_upload(settings):
    path = settings.DATA_DIR / "oakfield-change-log.csv"
    path.write_bytes(OLD_LOG)
    return path


def import_old_log(page, base: str, trust, upload) -> None:
    """Through the trust's change log import: upload, check the rows, import them."""
    page.goto(f"{base}{reverse('spreadsheets:trust_upload', args=[trust.slug])}")
    page.locator("#id_file").set_input_files(str(upload))
    page.get_by_role("button", name="Upload").click()
    page.get_by_role("button", name="Check the rows").click()
    page.get_by_role("button", name="Import 3 RFCs").click()
    page.get_by_role("heading", name=f"Imported into {trust.name}").wait_for()
