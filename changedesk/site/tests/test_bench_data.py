"""`changedesk bench-data`: a realistic data set, made fast, whose history verifies and whose
pages load (on SQLite here; on PostgreSQL with DATABASE_URL, where it is written with COPY)."""

from __future__ import annotations

import io
from collections import Counter
from datetime import date

import pytest
from django.core.management import call_command
from django.db.models import Count, Max, Min
from django.urls import reverse

from changedesk.accounts.choices import Role
from changedesk.accounts.models import Membership, School, User
from changedesk.changes.choices import State
from changedesk.changes.history import verify_all
from changedesk.changes.models import Change, ChangeEvent, ChangeItem
from changedesk.changes.services import create_change
from changedesk.changes.workflow import perform
from changedesk.configuration.models import ConfigurationItem
from changedesk.schedule.models import CalendarPeriod, PeriodKind
from changedesk.site.benchdata import (
    _CHANGE_COLUMNS,
    WRITTEN,
    BenchDataRefused,
    _filler,
    generate,
    school_sizes,
    ten_school_ranks,
)

pytestmark = pytest.mark.django_db

SCHOOLS, CHANGES = 12, 400
TODAY = date(2026, 6, 1)


@pytest.fixture
def bench():
    return generate(SCHOOLS, CHANGES, seed=3, today=TODAY)


def test_makes_what_it_says(bench):
    assert School.objects.filter(slug__startswith="bench-").count() == SCHOOLS
    assert Change.objects.count() == CHANGES == bench.counts["RFCs"]
    assert ChangeEvent.objects.count() == bench.counts["history events"]
    assert ChangeItem.objects.count() == bench.counts["item links"]
    # About seven events and nearly two items per RFC.
    assert 5 * CHANGES < bench.counts["history events"] < 9 * CHANGES
    assert 1.2 * CHANGES < bench.counts["item links"] < 2.4 * CHANGES
    # Every school has its calendar (an exam period and a freeze each year), items and people.
    for school in School.objects.annotate(
        n_items=Count("items", distinct=True), periods=Count("calendar_periods", distinct=True)
    ):
        assert school.n_items >= 12
        assert school.periods >= 6 * 14
        kinds = set(
            CalendarPeriod.objects.filter(school=school).values_list("kind", flat=True).distinct()
        )
        assert kinds == set(PeriodKind.values)
        held = set(Membership.objects.filter(school=school).values_list("roles__role", flat=True))
        assert set(Role.values) <= held
    assert not User.objects.filter(is_superuser=True).exists()


def test_every_state_mostly_closed_some_emergencies(bench):
    states = Counter(Change.objects.values_list("state", flat=True))
    assert states[State.CLOSED] > 0.6 * CHANGES
    assert len(states) >= 8
    emergencies = Change.objects.filter(is_emergency=True).count()
    assert 0 < emergencies < 0.1 * CHANGES
    # Past planning means a planned window; an old RFC is over, a recent one may wait.
    past_planning = Change.objects.filter(
        state__in=[State.AWAITING_FINAL_APPROVAL, State.APPROVED, State.IMPLEMENTED, State.CLOSED]
    )
    assert not past_planning.filter(planned_start__isnull=True).exists()
    assert not past_planning.filter(final_approver__isnull=True).exists()
    spread = Change.objects.aggregate(first=Min("created_at"), last=Max("created_at"))
    assert (spread["last"] - spread["first"]).days > 4 * 365
    assert spread["last"].date() < TODAY


def test_school_sizes_are_skewed():
    sizes = school_sizes(200, 500_000)
    assert sum(sizes) == 500_000
    assert sizes == sorted(sizes, reverse=True)
    assert sizes[0] > 40 * sizes[-1] > 0
    assert sizes[0] > 10 * sizes[100]
    assert sum(school_sizes(5, 3)) == 3
    assert len(ten_school_ranks(200)) == 10
    assert {0, 2, 4} <= set(ten_school_ranks(200))


def test_skew_in_the_database(bench):
    counts = list(
        Change.objects.values("school")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .values_list("n", flat=True)
    )
    assert len(counts) == SCHOOLS
    assert counts[0] > 3 * counts[-1]


def test_the_two_people_to_measure_with(bench):
    one = User.objects.get(username=bench.one_school_user)
    ten = User.objects.get(username=bench.ten_school_user)
    assert one.memberships.count() == 1
    assert ten.memberships.count() == 10
    biggest = School.objects.annotate(n=Count("changes")).order_by("-n")[:3]
    assert set(biggest) & {m.school for m in ten.memberships.all()}
    for membership in ten.memberships.all():
        assert {Role.ORIGINATOR, Role.INITIAL_APPROVER, Role.FINAL_APPROVER} <= set(
            membership.role_list
        )
    # Named on RFCs in their schools, as the workflow would.
    assert Change.objects.filter(originator=ten).exists()
    assert Change.objects.filter(initial_approver=ten).exists()
    assert one.check_password(bench.password)


def test_every_foreign_key_holds(bench):
    """On PostgreSQL the row-by-row checks may be left out: the rows must not need them."""
    for model in WRITTEN:
        for f in model._meta.concrete_fields:
            if not f.many_to_one:
                continue
            target = f.related_model._base_manager.values("pk")
            dangling = (
                model._base_manager.exclude(**{f"{f.attname}__isnull": True})
                .exclude(**{f"{f.attname}__in": target})
                .count()
            )
            assert dangling == 0, f"{model._meta.label}.{f.name}"


def test_history_verifies(bench):
    assert list(verify_all()) == []


def test_history_is_consistent_with_each_rfc(bench):
    last = {}
    first = {}
    counts = Counter()
    for change_id, sequence, kind, to_state, at in ChangeEvent.objects.order_by(
        "change", "sequence"
    ).values_list("change_id", "sequence", "kind", "to_state", "created_at"):
        counts[change_id] += 1
        if sequence == 1:
            first[change_id] = (kind, at)
        last[change_id] = (to_state, at)
    for change in Change.objects.all():
        assert first[change.pk] == ("create", change.created_at)
        assert last[change.pk] == (change.state, change.updated_at)
        assert change.version == counts[change.pk]
    # Separation of duties: never the peer reviewer of one's own RFC.
    assert not Change.objects.filter(peer_reviewer=models_f("originator")).exists()


def models_f(name: str):
    from django.db.models import F

    return F(name)


def test_numbers_are_unique_per_school_and_follow_creation(bench):
    for school in School.objects.all():
        numbers = list(
            Change.objects.filter(school=school)
            .order_by("created_at", "id")
            .values_list("number", flat=True)
        )
        assert numbers == list(range(1, len(numbers) + 1))


def test_items_are_of_the_rfcs_school(bench):
    assert not ChangeItem.objects.exclude(item__school=models_f("change__school")).exists()
    assert not ChangeItem.objects.filter(item__is_active=False).exists()
    assert ConfigurationItem.objects.filter(is_active=False).exists()


def test_pages_load_for_the_ten_school_user(bench, client):
    ten = User.objects.get(username=bench.ten_school_user)
    assert client.login(username=ten.username, password=bench.password)
    for name in ("changes:list", "changes:my_work"):
        assert client.get(reverse(name)).status_code == 200
    assert client.get(reverse("changes:list"), {"state": "closed"}).status_code == 200
    schools = [m.school_id for m in ten.memberships.all()]
    for state in State.values:
        change = Change.objects.filter(school__in=schools, state=state).first()
        if change:
            assert client.get(change.get_absolute_url()).status_code == 200, state


def test_the_product_carries_on_from_it(bench):
    """New RFCs take the next id and number (the sequences were set past the rows), and
    their history chains on."""
    one = User.objects.get(username=bench.one_school_user)
    school = one.memberships.get().school
    last = Change.objects.filter(school=school).aggregate(n=Max("number"))["n"]
    approver = User.objects.get(username=f"{school.slug}-ictco1")
    change = create_change(
        school,
        one,
        {"title": "After", "description": "d", "reason": "r", "initial_approver": approver},
    )
    assert change.number == last + 1
    assert change.pk > Change.objects.exclude(pk=change.pk).aggregate(n=Max("pk"))["n"]
    perform(change.pk, "submit", one)
    assert list(verify_all()) == []


def test_same_seed_same_data():
    generate(2, 30, seed=5, today=TODAY, prefix="a")
    generate(2, 30, seed=5, today=TODAY, prefix="b")

    def shape(prefix):
        return list(
            Change.objects.filter(school__slug__startswith=f"{prefix}-")
            .order_by("school__slug", "number")
            .values_list("number", "state", "title", "is_emergency", "created_at", "planned_start")
        )

    assert shape("a") == shape("b")


def test_a_column_added_since_is_filled_with_its_default():
    given = tuple(c for c in _CHANGE_COLUMNS if c not in ("outcome", "version"))
    # `is_standard` (standard changes, issue 10) came after the generator: filled too.
    assert _filler(Change, given) == (("is_standard", "outcome", "version"), (False, "", 1))
    assert _filler(Change, _CHANGE_COLUMNS) == (("is_standard",), (False,))


def test_refuses_to_make_its_schools_twice(bench):
    with pytest.raises(BenchDataRefused, match="exist already"):
        generate(2, 10, today=TODAY)
    assert Change.objects.count() == CHANGES


def test_the_command(capsys):
    out = io.StringIO()
    call_command(
        "bench-data", "--schools", "3", "--changes", "40", "--today", "2026-06-01", stdout=out
    )
    text = out.getvalue()
    assert "Made 3 schools" in text
    assert "40 RFCs" in text
    assert "bench-one" in text and "bench-ten" in text and "changedesk-bench" in text
    assert Change.objects.count() == 40
