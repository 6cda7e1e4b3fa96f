"""Shared test fixtures: a school with a named persona in every FITS role, built through
the same services the CLI and the member pages use, so they cannot drift from the rules.

Personas at Greenfield Primary (peer review on):
  olivia  originator and implementer (the technician)
  ian     initial approver (the ICT co-ordinator)
  peter   peer reviewer (the trust's network manager)
  fiona   final approver (the headteacher)
  ivan    implementer only (a supplier's engineer)
  sam     school administrator
  oscar   originator at Hillside Academy, a different school (the outsider)
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.utils import timezone

from changedesk.accounts.choices import Role
from changedesk.accounts.models import School, User
from changedesk.accounts.services import create_school, create_user, set_membership
from changedesk.changes.models import Change
from changedesk.changes.services import create_change
from changedesk.changes.workflow import perform

PASSWORD = "correct horse battery staple"


def pytest_configure(config: pytest.Config) -> None:
    """Plain HTTP for the test servers: the security middleware reads these once, when the
    (session-wide) live server starts, before any per-test `settings` override."""
    from django.conf import settings

    settings.SECURE_SSL_REDIRECT = False
    settings.SECURE_HSTS_SECONDS = 0
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False


def pytest_collection_finish(session: pytest.Session) -> None:
    """A test module that imports the WSGI application (the schema fuzz tests) settles the
    collector as a web worker's is (lib/heap.py): give the test process Python's back."""
    from changedesk.lib import heap

    heap.unsettle()


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium for the browser tests (see changedesk/tests/browser.py)."""
    from playwright.sync_api import sync_playwright

    from changedesk.tests.browser import launch

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(autouse=True)
def _fast_tests(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _fresh_memos():
    """What a process keeps under the version of its data (a test database's rolled-back
    rows give their ids again, which a running instance never does) starts empty."""
    from changedesk.standard import promotion

    promotion._often_done.cache_clear()


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language: a request in Welsh leaves Welsh active in
    the thread that made it (the test's), which a later test would otherwise inherit."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture
def midday():
    """Runs the test from noon (UTC) of today, the clock ticking on: for a test that asks a
    once-a-day job again "a few minutes later" and expects the same day. Run near midnight,
    a few minutes later is the school's next day, and the job rightly acts again."""
    noon = datetime.combine(timezone.now().date(), time(12), tzinfo=UTC)
    with time_machine.travel(noon, tick=True):
        yield noon


@pytest.fixture(autouse=True)
def _history_anchors(settings, tmp_path, monkeypatch):
    """Each test has its own data directory (so its own history anchors file), and the
    worker's daily anchor job runs only where a test runs it (changes/anchors.py), so that
    its digest mail does not join the mail other tests count."""
    from changedesk.notifications import worker

    settings.DATA_DIR = tmp_path
    monkeypatch.delitem(worker._jobs, "history_anchors", raising=False)


def _person(username: str, first: str, last: str, title: str = "") -> User:
    return create_user(
        username,
        email=f"{username}@greenfield.example",
        password=PASSWORD,
        first_name=first,
        last_name=last,
        job_title=title,
        check_password=False,
    )


def member(username: str, school: School, roles: list[str]) -> User:
    """Someone else at `school` with `roles` (e.g. a second originator), named after the
    username: `member("orla", school, [Role.ORIGINATOR])` is Orla Example."""
    user = _person(username, username.capitalize(), "Example")
    set_membership(user, school, roles)
    return user


@pytest.fixture
def root(db) -> User:
    """An operator: a superuser who is a member of no school."""
    user = create_user("root", email="root@example.org", password=None, first_name="Rita")
    user.is_superuser = True
    user.save()
    return user


@pytest.fixture
def school(db) -> School:
    return create_school("Greenfield Primary", "greenfield")


@pytest.fixture
def other_school(db) -> School:
    return create_school("Hillside Academy", "hillside")


@pytest.fixture
def olivia(school) -> User:
    user = _person("olivia", "Olivia", "Okafor", "ICT technician")
    set_membership(user, school, [Role.ORIGINATOR, Role.IMPLEMENTER])
    return user


@pytest.fixture
def ian(school) -> User:
    user = _person("ian", "Ian", "Ingram", "ICT co-ordinator")
    set_membership(user, school, [Role.INITIAL_APPROVER])
    return user


@pytest.fixture
def peter(school) -> User:
    user = _person("peter", "Peter", "Patel", "Network manager")
    set_membership(user, school, [Role.PEER_REVIEWER])
    return user


@pytest.fixture
def fiona(school) -> User:
    user = _person("fiona", "Fiona", "Fraser", "Headteacher")
    set_membership(user, school, [Role.FINAL_APPROVER])
    return user


@pytest.fixture
def ivan(school) -> User:
    user = _person("ivan", "Ivan", "Ivanov", "Supplier engineer")
    set_membership(user, school, [Role.IMPLEMENTER])
    return user


@pytest.fixture
def sam(school) -> User:
    user = _person("sam", "Sam", "Singh", "School business manager")
    set_membership(user, school, [Role.SCHOOL_ADMIN])
    return user


@pytest.fixture
def oscar(other_school) -> User:
    user = _person("oscar", "Oscar", "Owen", "Technician at Hillside")
    set_membership(user, other_school, [Role.ORIGINATOR, Role.IMPLEMENTER])
    return user


@pytest.fixture
def trust(school, other_school):
    """Greenfield and Hillside in one trust (accounts/trusts.py)."""
    from changedesk.accounts import trusts

    made = trusts.create_trust("Northfield Learning Trust", "northfield")
    trusts.add_school(made, school)
    trusts.add_school(made, other_school)
    return made


@pytest.fixture
def tara(trust) -> User:
    """The trust's ICT lead: its administrator and a trust technician."""
    from changedesk.accounts import trusts
    from changedesk.accounts.choices import TrustRole

    person = _person("tara", "Tara", "Thomas", "Trust ICT lead")
    trusts.set_trust_roles(trust, person, [TrustRole.TRUST_ADMIN, TrustRole.TRUST_TECHNICIAN])
    return person


@pytest.fixture
def team(olivia, ian, peter, fiona, ivan, sam) -> dict[str, User]:
    return {u.username: u for u in (olivia, ian, peter, fiona, ivan, sam)}


REQUEST = {
    "title": "Replace the ICT suite 2 switch",
    "description": "Swap the failing 24-port switch in ICT suite 2 for the spare.",
    "reason": "Pupils lose their network drives several times a lesson.",
}


def plan_data() -> dict:
    start = (timezone.now() + timedelta(days=7)).replace(hour=18, minute=0, second=0, microsecond=0)
    return {
        "details": "1. Label cables. 2. Swap switch. 3. Restore config. 4. Test each PC.",
        "impact": "ICT suite 2 offline for an hour after school.",
        "risk": "Low; if the spare is faulty the suite stays offline until Monday.",
        "fallback_plan": "Refit the old switch and restore its saved configuration.",
        "planned_start": start,
        "planned_end": start + timedelta(hours=1),
    }


@pytest.fixture
def draft(team, school) -> Change:
    return create_change(school, team["olivia"], dict(REQUEST))


def advance(change: Change, team: dict[str, User], to: str) -> Change:
    """Take `change` along the normal FITS path until it reaches state `to`."""
    from changedesk.changes.services import update_change

    steps = [
        ("draft", lambda c: perform(c.pk, "submit", team["olivia"])),
        ("awaiting_initial_approval", lambda c: perform(c.pk, "approve", team["ian"])),
        (
            "planning",
            lambda c: (
                update_change(c.pk, team["olivia"], plan_data()),
                perform(c.pk, "submit_plan", team["olivia"]),
            )[-1],
        ),
        ("awaiting_peer_review", lambda c: perform(c.pk, "approve", team["peter"])),
        ("awaiting_final_approval", lambda c: perform(c.pk, "approve", team["fiona"])),
        (
            "approved",
            lambda c: perform(
                c.pk, "record_outcome", team["olivia"], data={"outcome": "succeeded"}
            ),
        ),
        (
            "implemented",
            lambda c: perform(
                c.pk,
                "close",
                team["olivia"],
                data={"records_updated": True, "caused_incidents": False, "users_informed": True},
            ),
        ),
    ]
    for state, step in steps:
        change.refresh_from_db()
        if change.state == to:
            return change
        if change.state == state:
            step(change)
    change.refresh_from_db()
    assert change.state == to, f"could not reach {to}; stuck at {change.state}"
    return change
