"""My work (`changes.queries.my_work`, the home page): each section holds exactly the RFCs
the rules say, counted and ordered, in a fixed number of queries however many sections and
schools; its links to the change log say what they list; and a change of roles, schools'
settings or delegations shows at once."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from changedesk.accounts import permissions
from changedesk.accounts.choices import APPROVER_ROLES, Role
from changedesk.accounts.models import Delegation, School, User
from changedesk.accounts.services import create_school, set_membership
from changedesk.changes import queries, workflow
from changedesk.changes.choices import OPEN_STATES, State
from changedesk.changes.models import Change
from changedesk.conftest import REQUEST, member

pytestmark = pytest.mark.django_db

ORDER_KEYS = {
    "initial": lambda c: (not c.is_emergency, c.created_at, c.pk),
    "peer": lambda c: (c.planned_start, c.created_at, c.pk),
    "final": lambda c: (c.planned_start, c.created_at, c.pk),
    "implement": lambda c: (c.planned_start, c.created_at, c.pk),
    "mine": lambda c: (c.state, c.created_at, c.pk),
    "waiting": lambda c: (c.created_at, c.pk),
}


def delegate(school: School, approver: User, deputy: User, role: str = "", days: int = 7) -> None:
    now = timezone.now()
    Delegation.objects.create(school=school, approver=approver, deputy=deputy, role=role,
                              starts_at=now - timedelta(days=30),
                              ends_at=now + timedelta(days=days))  # fmt: skip


def waits(change: Change, user: User, role: str, held: dict[int, set[str]],
          covered: list[Delegation]) -> bool:  # fmt: skip
    """Whether `change` waits on `user` in `role`, by the rules read for this one RFC."""
    rows = workflow.task_rows(role)
    named = getattr(change, f"{workflow.ROLE_FIELD[role]}_id")
    in_step = any(change.state == r.source and r.applies(change) for r in rows)
    theirs = (
        named == user.pk
        or any((d.approver_id, d.school_id) == (named, change.school_id) for d in covered)
        or (any(r.claims for r in rows) and named is None and role in held[change.school_id])
    )
    separate = (
        role == Role.ORIGINATOR
        or change.originator_id != user.pk
        or permissions.originator_may_be(role, change.school)
    )
    return in_step and theirs and separate


def expected(user: User) -> dict[str, list[int]]:
    """Each section's RFCs in order, by the rules read one RFC at a time (no SQL)."""
    user = permissions.with_roles(User.objects.get(pk=user.pk))
    held = {m.school_id: set(m.role_list) for m in user.memberships.all()}
    roles = set().union(*held.values())
    deputising = workflow.deputising(user)
    changes = list(Change.objects.filter(school__in=held).select_related("school"))
    found: dict[str, list[Change]] = {}
    for role, kind in queries.SECTIONS.items():
        covered = [d for d in deputising if role in APPROVER_ROLES and d.role in ("", role)]
        if role in roles or covered:
            found[kind.key] = [c for c in changes if waits(c, user, role, held, covered)]
    if Role.ORIGINATOR in roles:
        others = {c.pk for key, listed in found.items() if key != "mine" for c in listed}
        theirs = queries._theirs()
        found["waiting"] = [c for c in changes if c.originator_id == user.pk
                            and c.state in theirs and c.pk not in others]  # fmt: skip
    return {key: [c.pk for c in sorted(listed, key=ORDER_KEYS[key])]
            for key, listed in found.items()}  # fmt: skip


@pytest.fixture
def busy(team, school, other_school):
    """Mia in two schools (every role in one, three in the other) with three delegations
    (one ended), and RFCs in every state naming her, her colleagues and no one, in her
    schools and in a third, which she does not see."""
    rng = random.Random(9)
    third = create_school("Oakwood High", "oakwood")
    other_school.final_approver_may_be_originator = True
    other_school.save()
    mia = member("mia", school, list(Role.values))
    set_membership(mia, other_school, [Role.ORIGINATOR, Role.FINAL_APPROVER, Role.IMPLEMENTER])
    pool = [mia, team["ian"], team["fiona"], team["olivia"], team["peter"], None]
    delegate(school, team["ian"], mia)
    delegate(other_school, team["fiona"], mia, Role.FINAL_APPROVER)
    delegate(school, team["peter"], mia, days=-1)  # ended yesterday
    now = timezone.now()
    states = [*State, *OPEN_STATES, State.AWAITING_PEER_REVIEW]  # (mostly open)
    made = []
    for i in range(900):
        place = rng.choice([school, school, other_school, third])
        made.append(Change(
            school=place, number=i + 1, state=rng.choice(states),
            originator=rng.choice(pool[:5]), initial_approver=rng.choice(pool),
            peer_reviewer=rng.choice(pool), final_approver=rng.choice(pool),
            implementer=rng.choice(pool), is_emergency=rng.random() < 0.3,
            ratified=rng.random() < 0.5,
            planned_start=now + timedelta(hours=rng.randrange(48)),
            **{**REQUEST, "title": f"Change {i}"},
        ))  # fmt: skip
    made = Change.objects.bulk_create(made)
    for change in made:
        # Some at the same moment: the order then falls back on the id.
        change.created_at = now - timedelta(hours=rng.randrange(30))
    Change.objects.bulk_update(made, ["created_at"], batch_size=200)
    return mia


def test_each_section_holds_what_the_rules_say_in_order(client, busy):
    client.force_login(busy)
    response = client.get(reverse("changes:my_work"))
    assert response.status_code == 200
    sections = {s.key: s for s in response.context["sections"]}
    wanted = expected(busy)
    assert set(sections) == set(wanted) == set(ORDER_KEYS)
    for key, ids in wanted.items():
        assert sections[key].total == len(ids), key
        assert [c.pk for c in sections[key].changes] == ids[: queries.LIMIT], key
    assert all(sections[key].more for key in sections), "each section is longer than a page"
    assert response.context["waiting"] == sum(len(ids) for k, ids in wanted.items()
                                              if k != "waiting")  # fmt: skip


def test_a_card_shows_the_rfc_its_school_and_who_raised_it(client, busy):
    client.force_login(busy)
    response = client.get(reverse("changes:my_work"))
    card = next(s for s in response.context["sections"] if s.key == "initial").changes[0]
    change = Change.objects.select_related("school", "originator").get(pk=card.pk)
    assert (card.url, card.reference, card.title, card.state, card.is_emergency) == (
        change.get_absolute_url(), change.reference, change.title, change.state,
        change.is_emergency)  # fmt: skip
    assert (card.school_name, card.originator_name, card.planned_start) == (
        change.school.name, change.originator.display_name, change.planned_start)  # fmt: skip
    assert card.get_state_display() == change.get_state_display()
    body = response.content.decode()
    assert f'href="{change.get_absolute_url()}"><span class="ref">{change.reference}</span>' in body
    assert f"raised by {change.originator.display_name}" in body


def test_my_work_costs_the_same_few_queries_for_ten_schools_as_for_one(
    client, busy, django_assert_max_num_queries
):
    client.force_login(busy)
    client.get(reverse("changes:my_work"))
    # The session, the user, their memberships with their roles (one query), their
    # delegations, the sections' one query and the cards'.
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("changes:my_work"))
    assert len(one) == 6
    for n in range(8):
        place = create_school(f"School {n}", f"school-{n}")
        set_membership(busy, place, list(Role.values))
        delegate(place, member(f"head{n}", place, [Role.FINAL_APPROVER]), busy)
    with django_assert_max_num_queries(len(one)):
        page = client.get(reverse("changes:my_work"))
    assert len(page.context["memberships"]) == 10


def test_a_change_of_roles_settings_or_delegations_shows_at_once(client, team, school, draft):
    olivia = team["olivia"]
    Change.objects.filter(pk=draft.pk).update(state=State.AWAITING_FINAL_APPROVAL,
                                              final_approver=olivia)  # fmt: skip
    client.force_login(olivia)

    def keys() -> list[str]:
        return [s.key for s in client.get(reverse("changes:my_work")).context["sections"]]

    def final() -> int:
        page = client.get(reverse("changes:my_work"))
        return next(s.total for s in page.context["sections"] if s.key == "final")

    assert keys() == ["implement", "mine", "waiting"]
    set_membership(olivia, school, [Role.ORIGINATOR, Role.IMPLEMENTER, Role.FINAL_APPROVER])
    assert keys() == ["final", "implement", "mine", "waiting"]
    assert final() == 0  # her own RFC: the school does not allow it
    school.final_approver_may_be_originator = True
    school.save()
    assert final() == 1
    set_membership(olivia, school, [Role.ORIGINATOR])
    assert keys() == ["mine", "waiting"]
    delegate(school, team["fiona"], olivia, Role.FINAL_APPROVER)
    assert keys() == ["final", "mine", "waiting"]


def test_a_link_says_all_only_when_the_change_log_lists_exactly_the_section(client, team, school):
    olivia = team["olivia"]
    Change.objects.bulk_create(
        Change(school=school, number=i + 1, originator=olivia if i < 14 else team["ian"],
               state=State.DRAFT if i < 14 else State.APPROVED, **REQUEST)
        for i in range(30)
    )  # fmt: skip
    client.force_login(olivia)
    page = client.get(reverse("changes:my_work"))
    sections = {s.key: s for s in page.context["sections"]}
    body = page.content.decode()
    mine, implement = sections["mine"], sections["implement"]
    assert (mine.total, mine.exact) == (14, True)
    assert "See all 14 in the change log" in body
    listed = client.get(mine.link)
    assert listed.context["page"].paginator.count == mine.total
    # No one is named to carry the approved ones out: the change log's filter of the people
    # named does not find them, so the page gives no number for it.
    assert (implement.total, implement.exact) == (16, False)
    assert "See all 16" not in body
    assert (
        f'<a href="{implement.link.replace("&", "&amp;")}">Open the change log for these steps</a>'
        in body
    )
    assert "not those no one has taken on yet" in body
    assert client.get(implement.link).context["page"].paginator.count == 0


def test_the_sections_compare_schools_as_values_so_no_school_index_is_read(client, busy):
    """At 500,000 RFCs PostgreSQL read the school index beside the (state, person) one when
    given `school_id IN (...)`: 122,000 entries for ten schools, 4-6 ms a section."""
    client.force_login(busy)
    client.get(reverse("changes:my_work"))
    with CaptureQueriesContext(connection) as page:
        client.get(reverse("changes:my_work"))
    (sections,) = [q["sql"] for q in page.captured_queries if "UNION ALL" in q["sql"]]
    assert sections.count("UNION ALL") == 5
    assert '"school_id" IN' not in sections
    assert '"school_id" + ' in sections
