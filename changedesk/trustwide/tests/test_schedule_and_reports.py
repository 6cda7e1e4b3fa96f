"""The forward schedule, the change log and the trust's report understand trust-wide
changes: `?parent=` keeps one trust-wide change's RFCs (and is kept by the page's links and
filter form), each RFC of one is marked "Part of TC-0001" (linked for the trust's people
only), and the trust's period report lists the trust-wide changes raised in the period with
where each school's RFC stands."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import override
from rest_framework.test import APIClient

from changedesk.accounts import trusts
from changedesk.accounts.choices import Role
from changedesk.accounts.services import create_school
from changedesk.changes.services import create_change
from changedesk.changes.workflow import perform
from changedesk.conftest import member
from changedesk.reports import figures
from changedesk.trustwide import services
from changedesk.trustwide.services import Placement
from changedesk.trustwide.tests.conftest import PLAN, REQUEST

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene(trust, school, other_school, tom, heads, olivia):
    """A trust-wide change planned in the trust's three schools a week ahead, a second one
    not planned, and Greenfield's own RFC planned the same day (not part of either)."""
    start = (timezone.now() + timedelta(days=7)).replace(hour=10, minute=0, microsecond=0)
    schools = [school, other_school, *trust.schools.exclude(pk__in=[school.pk, other_school.pk])]
    parent, _ = services.raise_for_schools(
        trust,
        tom,
        {**REQUEST, **PLAN},
        schools,
        Placement(start=start, end=start + timedelta(hours=1)),
    )
    second, _ = services.raise_for_schools(
        trust, tom, {**REQUEST, "title": "Turn on safe search"}, schools[:2]
    )
    own = create_change(
        school,
        olivia,
        {
            "title": "Replace the hall projector",
            "description": "The old one flickers.",
            "reason": "Assemblies.",
            "planned_start": start,
            "planned_end": start + timedelta(hours=2),
        },
    )
    return {"parent": parent, "second": second, "own": own, "start": start}


def _agenda(client, scene, **extra):
    params = {"view": "agenda", "date": scene["start"].date().isoformat(), **extra}
    return client.get(reverse("schedule:forward"), params)


def test_the_schedule_keeps_one_trust_wide_changes_rfcs(client, scene, tom, trust):
    parent = scene["parent"]
    client.force_login(tom)
    response = _agenda(client, scene, parent=parent.pk, trust=trust.slug)
    assert response.status_code == 200
    html = unescape(response.content.decode())
    children = [row.change for row in services.children(parent)]
    assert len(children) == 3
    for change in children:
        assert change.reference in html
    assert scene["own"].title not in html
    # Each marked, linked to the parent for a trust technician.
    assert html.count(f'<a href="{parent.get_absolute_url()}">Part of {parent.reference}</a>') == 3
    # The filter is shown in words and kept by the form and the page's links.
    assert f"Only the RFCs of {parent.reference} {parent.title}" in html
    assert f'name="parent" value="{parent.pk}" checked' in html
    assert f"parent={parent.pk}" in response.context["previous"]
    assert f"parent={parent.pk}" in response.context["next"]
    # Without the filter, the school's own RFC shows too, unmarked.
    everything = unescape(_agenda(client, scene).content.decode())
    assert scene["own"].title in everything and "Only the RFCs of" not in everything


def test_month_and_week_keep_the_filter(client, scene, tom, trust):
    client.force_login(tom)
    for view in ("month", "week"):
        response = _agenda(client, scene, view=view, parent=scene["parent"].pk)
        assert response.status_code == 200
        assert f"parent={scene['parent'].pk}" in response.context["next"]
        titles = unescape(response.content.decode())
        assert scene["own"].title not in titles


def test_a_schools_own_person_sees_the_mark_without_a_link(client, scene, school, olivia):
    parent = scene["parent"]
    client.force_login(olivia)
    html = unescape(_agenda(client, scene).content.decode())
    assert f'<span class="mark">Part of {parent.reference}</span>' in html
    assert parent.get_absolute_url() not in html
    # The change log marks it the same way, and filters by it.
    log = unescape(client.get(reverse("changes:list"), {"parent": parent.pk}).content.decode())
    assert f'<span class="mark">Part of {parent.reference}</span>' in log
    assert scene["own"].title not in log
    assert f'name="parent" value="{parent.pk}" checked' in log
    # Its reference, not the trust's title for it: that is for the trust's people.
    assert f"Only the RFCs of {parent.reference}<" in log.replace(" <", "<")
    assert f"Only the RFCs of {parent.reference} {parent.title}" not in log


def test_a_school_that_left_the_trust_no_longer_names_its_trust_wide_change(
    client, scene, school, olivia, trust
):
    parent = scene["parent"]
    member("greta", school, [Role.SCHOOL_ADMIN])  # a school leaves with an administrator
    trusts.remove_school(school)
    client.force_login(olivia)
    for url in (reverse("schedule:forward"), reverse("changes:list")):
        html = unescape(client.get(url, {"parent": parent.pk, "view": "agenda"}).content.decode())
        # (Its own RFC, raised as part of it, keeps its title: it is the school's.)
        assert f"Only the RFCs of {parent.reference}" not in html
        assert f"Part of {parent.reference}" not in html
        assert "a trust-wide change none of your schools is part of" in html


def test_a_trust_wide_change_none_of_your_schools_is_in_is_not_named(client, scene, school, olivia):
    other = trusts.create_trust("Southway Trust", "southway")
    seaview = create_school("Seaview Primary", "seaview")
    trusts.add_school(other, seaview)
    member("ivy", seaview, [Role.INITIAL_APPROVER])
    sam = member("sam", seaview, [Role.ORIGINATOR])
    from changedesk.accounts.choices import TrustRole

    trusts.set_trust_roles(other, sam, [TrustRole.TRUST_TECHNICIAN])
    theirs, _ = services.raise_for_schools(
        other, sam, {**REQUEST, "title": "Southway's secret"}, [seaview]
    )
    client.force_login(olivia)
    for url in (reverse("schedule:forward"), reverse("changes:list")):
        html = unescape(client.get(url, {"parent": theirs.pk, "view": "agenda"}).content.decode())
        assert "Southway's secret" not in html
        assert "a trust-wide change none of your schools is part of" in html


@pytest.mark.parametrize("value", ["twelve", "1.5", "-1", str(2**63)])
def test_a_parent_that_cannot_be_read_filters_nothing(client, scene, tom, value):
    client.force_login(tom)
    response = _agenda(client, scene, parent=value)
    assert response.status_code == 200
    assert scene["own"].title in unescape(response.content.decode())
    assert "parent=" not in response.context["next"]
    log = client.get(reverse("changes:list"), {"parent": value})
    assert "Only the RFCs of" not in unescape(log.content.decode())


def test_the_parent_page_links_to_its_rfcs_on_the_schedule(client, scene, tom, trust):
    parent = scene["parent"]
    client.force_login(tom)
    html = unescape(client.get(parent.get_absolute_url()).content.decode())
    day = timezone.localtime(scene["start"]).date().isoformat()
    link = f"/schedule/?view=agenda&trust={trust.slug}&parent={parent.pk}&date={day}"
    assert link in html
    # Not planned yet: the agenda from today.
    second = unescape(client.get(scene["second"].get_absolute_url()).content.decode())
    assert f'/schedule/?view=agenda&trust={trust.slug}&parent={scene["second"].pk}"' in second


def test_the_marks_are_welsh_on_welsh_pages(client, scene, olivia):
    olivia.language = "cy"
    olivia.save()
    client.force_login(olivia)
    with override("cy"):
        html = unescape(_agenda(client, scene).content.decode())
    assert f"Rhan o {scene['parent'].reference}" in html


def test_the_trusts_report_lists_the_trust_wide_changes_raised(client, scene, tom, trust):
    parent, second = scene["parent"], scene["second"]
    first = services.children(parent)[0]
    perform(first.change_id, "submit", tom)
    client.force_login(tom)
    month = timezone.localdate().replace(day=1).isoformat()
    response = client.get(reverse("reports:period"), {"trust": trust.slug, "start": month})
    assert response.status_code == 200
    html = unescape(response.content.decode())
    assert "Trust-wide changes raised" in html
    assert f"{parent.reference}</span> {parent.title}" in html
    assert "2 draft, 1 awaiting initial approval" in html
    api = APIClient()
    api.force_authenticate(tom)
    body = api.get("/api/v1/reports/", {"trust": trust.slug, "start": month}).json()
    listed = body["trust_wide"]
    assert listed["more"] == 0
    assert [c["reference"] for c in listed["changes"]] == [parent.reference, second.reference]
    assert listed["changes"][0]["schools"] == 3
    assert listed["changes"][0]["states"] == [
        {"state": "draft", "label": "Draft", "count": 2},
        {"state": "awaiting_initial_approval", "label": "Awaiting initial approval", "count": 1},
    ]
    # A month with none: said so. A school's own report has no such list.
    earlier = (timezone.localdate().replace(day=1) - timedelta(days=40)).isoformat()
    none = client.get(reverse("reports:period"), {"trust": trust.slug, "start": earlier})
    assert "None raised in this period." in unescape(none.content.decode())
    together = figures.report_many(list(trust.schools.all()), "month", timezone.localdate())
    assert "trust_wide" not in together


def test_marks_cost_no_query_where_no_school_is_in_a_trust(
    school, olivia, django_assert_num_queries
):
    from changedesk.changes import extensions
    from changedesk.changes.models import Change

    made = create_change(school, olivia, {"title": "T", "description": "d", "reason": "r"})
    page = list(Change.objects.select_related("school").filter(pk=made.pk))
    with django_assert_num_queries(0):
        assert extensions.marks(olivia, page) == {}
