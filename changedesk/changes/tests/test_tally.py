"""The tallies (changes/tally.py): kept by the database's triggers whatever writes the RFCs,
folded by the worker, and what the change log and the API count by when they filter by
nothing else."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Count, Sum
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from changedesk.changes import tally
from changedesk.changes.choices import State
from changedesk.changes.filters import ChangeFilterSet
from changedesk.changes.models import Change, Tally
from changedesk.changes.services import create_change
from changedesk.changes.workflow import perform
from changedesk.conftest import REQUEST, advance

pytestmark = pytest.mark.django_db


def _counted() -> dict[tuple[int, str, bool], int]:
    """What the tallies say, per key, leaving out keys that sum to nothing."""
    sums = Tally.objects.values_list("school_id", "state", "is_emergency").annotate(n=Sum("n"))
    return {(s, st, e): n for s, st, e, n in sums if n}


def _real() -> dict[tuple[int, str, bool], int]:
    rows = (
        Change.objects.order_by()
        .values_list("school_id", "state", "is_emergency")
        .annotate(n=Count("pk"))
    )
    return {(s, st, e): n for s, st, e, n in rows}


def _raise(school, who, title="Tally", **extra) -> Change:
    return create_change(school, who, {**REQUEST, "title": title, **extra})


def test_the_triggers_are_installed_after_migrate():
    assert tally.installed() == set(tally.TRIGGERS)


def test_every_write_is_tallied(team, school, other_school, oscar):
    olivia = team["olivia"]
    made = [_raise(school, olivia, f"Change {n}") for n in range(4)]
    emergency = _raise(school, olivia, "Fire", is_emergency=True, emergency_justification="Down")
    _raise(other_school, oscar, "Elsewhere")
    assert _counted() == _real()
    perform(made[0].pk, "submit", olivia)
    advance(made[1], team, State.APPROVED)
    assert _counted() == _real()
    # Whatever writes: a bulk UPDATE, a save that moves nothing.
    Change.objects.filter(pk=made[2].pk).update(state=State.WITHDRAWN)
    made[3].title = "Renamed"
    made[3].save()
    before = Tally.objects.count()
    made[3].save(update_fields=["title"])
    assert Tally.objects.count() == before  # nothing moved, nothing added
    Change.objects.filter(pk=emergency.pk).update(is_emergency=False)
    # A bulk load.
    Change.objects.bulk_create(
        Change(school=school, originator=olivia, number=900 + n, **REQUEST) for n in range(3)
    )
    assert _counted() == _real()
    assert _real()[(school.pk, State.WITHDRAWN, False)] == 1


def test_compact_folds_to_one_row_a_key(team, school):
    olivia = team["olivia"]
    for n in range(3):
        perform(_raise(school, olivia, f"Change {n}").pk, "submit", olivia)
    assert tally.unfolded() > 0
    expected = _real()
    taken = tally.compact()
    assert taken > 0
    assert tally.unfolded() == 0
    assert _counted() == expected
    rows = Tally.objects.values_list("school_id", "state", "is_emergency", "n")
    assert sorted((s, st, e) for s, st, e, _ in rows) == sorted(expected)
    # Folding again takes nothing; keys that sum to nothing leave no row.
    assert tally.compact() == 0
    Change.objects.filter(state=State.DRAFT).update(state=State.WITHDRAWN)
    tally.compact()
    assert not Tally.objects.filter(state=State.DRAFT).exists()


def test_the_worker_job_folds_only_when_rows_were_added(team, school):
    from django.utils import timezone

    from changedesk.notifications import worker

    assert worker.has_job(tally.JOB_NAME)
    _raise(school, team["olivia"])
    perform(Change.objects.get().pk, "submit", team["olivia"])
    tally._last_seen.clear()
    assert tally.run(timezone.now()) > 0
    with CaptureQueriesContext(connection) as queries:
        assert tally.run(timezone.now()) == 0
    assert len(queries) == 1  # the newest row's id, and nothing to fold


def test_install_puts_back_missing_triggers_and_counts_again(team, school):
    _raise(school, team["olivia"])
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER changes_tally_insert" + (
            " ON changes_change" if connection.vendor == "postgresql" else ""))  # fmt: skip
    _raise(school, team["olivia"], "Not tallied")
    assert _counted() != _real()
    assert tally.install() is True
    assert tally.installed() == set(tally.TRIGGERS)
    assert _counted() == _real()
    assert tally.install() is False  # all there: nothing counted again


def _filterset(data, user) -> ChangeFilterSet:
    filterset = ChangeFilterSet(data, queryset=Change.objects.visible_to(user))
    assert filterset.is_valid()
    return filterset


def test_count_for_answers_schools_states_and_kinds_only(team, school, other_school, oscar):
    olivia = team["olivia"]
    for n in range(3):
        _raise(school, olivia, f"Change {n}")
    perform(Change.objects.first().pk, "submit", olivia)
    _raise(school, olivia, "Fire", is_emergency=True, emergency_justification="Down")
    _raise(other_school, oscar, "Elsewhere")
    mine = [school.pk]
    for data in (
        {},
        {"sort": "title"},
        {"state": ["draft"]},
        {"state": ["draft", "awaiting_initial_approval"]},
        {"is_emergency": "true"},
        {"school": school.slug, "is_emergency": "false"},
        {"school": other_school.slug},  # not one of hers: none
    ):
        filterset = _filterset(data, olivia)
        assert tally.count_for(filterset, mine) == filterset.qs.count(), data
    # Every school, for a superuser.
    assert tally.count_for(_filterset({}, olivia), None) == Change.objects.count()
    for data in ({"q": "Fire"}, {"originator": "olivia"}, {"created_after": "2020-01-01"}):
        assert tally.count_for(_filterset(data, olivia), mine) is None, data


def _count_queries(client, url, params) -> tuple[list[str], object]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    return [q["sql"] for q in queries.captured_queries], response


def test_the_change_log_and_the_api_count_by_the_tallies(client, team, school):
    olivia = team["olivia"]
    for n in range(30):
        _raise(school, olivia, f"Change {n}")
    perform(Change.objects.first().pk, "submit", olivia)
    client.force_login(team["ian"])
    sql, response = _count_queries(client, reverse("changes:list"), {"state": "draft"})
    assert response.context["page"].paginator.count == 29
    assert not any("COUNT(" in s and "changes_change" in s for s in sql)
    assert any("changes_tally" in s for s in sql)
    sql, response = _count_queries(client, "/api/v1/changes/", {"state": "draft"})
    assert response.json()["count"] == 29
    assert not any("COUNT(" in s and "changes_change" in s for s in sql)
    # A search counts its matches itself.
    sql, response = _count_queries(client, reverse("changes:list"), {"q": "Change 1"})
    assert not any("changes_tally" in s for s in sql)
    searched = _filterset({"q": "Change 1"}, team["ian"]).qs.count()
    assert response.context["page"].paginator.count == searched > 0
