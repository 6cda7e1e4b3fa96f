"""My work understands trust-wide changes (issue 13): a trust technician's cards of one
trust-wide change are gathered into one row (the parent, its schools, their RFCs' states,
a link to its page, the RFCs themselves behind a disclosure), RFCs of no parent show as
before, a school's own people keep their school's RFC as a card, and the page costs one
query more with trust-wide changes on it, however many schools each has."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from changedesk.accounts import trusts
from changedesk.accounts.choices import Role
from changedesk.accounts.models import School
from changedesk.accounts.services import create_school
from changedesk.changes.choices import Action, State
from changedesk.changes.queries import Card, GroupEntry
from changedesk.changes.services import create_change
from changedesk.changes.workflow import perform
from changedesk.conftest import member
from changedesk.trustwide import services
from changedesk.trustwide.models import ParentChange
from changedesk.trustwide.tests.conftest import REQUEST

pytestmark = pytest.mark.django_db


def raised(trust, tom, schools: list[School], title: str = REQUEST["title"]) -> ParentChange:
    parent, _ = services.raise_for_schools(trust, tom, {**REQUEST, "title": title}, schools)
    services.act_on_many(parent, tom, Action.SUBMIT, services.children(parent))
    return parent


def sections(client, user) -> dict:
    client.force_login(user)
    page = client.get(reverse("changes:my_work"))
    assert page.status_code == 200
    return {s.key: s for s in page.context["sections"]}


def test_a_trust_technician_sees_one_row_per_trust_wide_change(
    client, trust, heads, tom, school, other_school, third_school
):
    parent = raised(trust, tom, [school, other_school, third_school])
    # Moved on at one school: the row counts its RFCs by state.
    first = services.children(parent)[0]
    perform(first.change_id, Action.APPROVE, heads[first.school.slug]["initial"])
    alone = create_change(school, tom, {**REQUEST, "title": "Renew the web filter licence"})
    perform(alone.pk, Action.SUBMIT, tom)

    found = sections(client, tom)
    waiting = found["waiting"]
    assert waiting.total == 3  # the two still waiting of the parent's, and the lone one
    group, card = waiting.entries
    assert isinstance(group, GroupEntry) and isinstance(card, Card)
    assert card.pk == alone.pk
    assert group.group.reference == "TC-0001"
    assert group.group.url == parent.get_absolute_url()
    assert group.group.size == "3 schools"
    assert [(label, n) for label, _, n in group.states] == [
        ("Awaiting initial approval", 2),
        ("Planning", 1),
    ]
    assert {c.pk for c in group.cards} == {
        c.change_id for c in services.children(parent) if c.change.state != State.PLANNING
    }
    # Planning is the originator's own step: that school's RFC is in "My requests", a row
    # of its own there.
    (mine,) = found["mine"].entries
    assert isinstance(mine, GroupEntry) and [c.pk for c in mine.cards] == [first.change_id]

    body = client.get(reverse("changes:my_work")).content.decode()
    assert f'href="{parent.get_absolute_url()}"><span class="ref">TC-0001</span>' in body
    assert "3 schools" in body
    assert "2 of its RFCs here" in body
    assert f'href="{alone.get_absolute_url()}"' in body


def test_a_schools_own_people_keep_their_schools_rfc_as_a_card(
    client, trust, heads, tom, school, other_school
):
    parent = raised(trust, tom, [school, other_school])
    ian = heads[school.slug]["initial"]
    (initial,) = [s for s in sections(client, ian).values() if s.key == "initial"]
    (entry,) = initial.entries
    assert isinstance(entry, Card)
    assert entry.pk == services.children(parent, [school.slug])[0].change_id
    body = client.get(reverse("changes:my_work")).content.decode()
    assert "TC-0001" not in body


def test_a_school_that_left_the_trust_drops_out_of_the_row(
    client, trust, heads, tom, school, other_school, third_school
):
    raised(trust, tom, [school, other_school, third_school])
    member("llanfair_admin", third_school, [Role.SCHOOL_ADMIN])
    trusts.remove_school(third_school)
    (group,) = sections(client, tom)["waiting"].entries
    assert group.group.size == "2 schools"
    assert {c.school_name for c in group.cards} == {school.name, other_school.name}


def test_my_work_costs_one_query_more_with_trust_wide_changes_however_many_schools(
    client, trust, tom, school, other_school
):
    schools = [school, other_school]
    for n in range(4):
        made = create_school(f"School {n}", f"school-{n}")
        trusts.add_school(trust, made)
        schools.append(made)
    for each in schools:
        member(f"init-{each.slug}", each, [Role.INITIAL_APPROVER])
    alone = create_change(school, tom, dict(REQUEST))
    client.force_login(tom)
    url = reverse("changes:my_work")

    def count() -> int:
        client.get(url)
        with CaptureQueriesContext(connection) as page:
            client.get(url)
        return len(page)

    without = count()
    assert without == 6  # as My work's own budget (changes/tests/test_my_work.py)
    two = raised(trust, tom, schools[:2], "Two schools")
    with_two = count()
    services.act_on_many(two, tom, Action.WITHDRAW, services.children(two))
    six = raised(trust, tom, schools, "Six schools")
    with_six = count()
    assert with_two == with_six == without + 1
    found = sections(client, tom)
    (group,) = found["waiting"].entries
    (card,) = found["mine"].entries
    assert (group.group.reference, group.group.size, len(group.cards)) == (
        six.reference,
        "6 schools",
        6,
    )
    assert card.pk == alone.pk
