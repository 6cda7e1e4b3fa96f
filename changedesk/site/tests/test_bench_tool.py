"""The page benchmark (`make bench`, changedesk/site/bench.py) runs: its measuring, at a tiny
size and two rounds on the test database, asks every endpoint with an answer of 200 and
reports a row for each, so that the tool cannot rot while the pages change."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.sessions.models import Session
from django.urls import NoReverseMatch, reverse

from changedesk.accounts.models import User
from changedesk.changes.models import Change
from changedesk.site import bench
from changedesk.site.benchdata import generate

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    generate(3, 60, seed=5, today=date(2026, 6, 1))
    return [(u, User.objects.get(username=u)) for u in ("bench-one", "bench-ten")]


def test_measures_every_endpoint(people):
    before = Change.objects.count()
    results = bench.measure(people, rounds=2, warmup=1, export_rows=20)
    for label, user in people:
        planned = [e.name for e in bench.plan(user, export_rows=20)]
        rows = [r for r in results if r.user == label]
        assert [r.name for r in rows] == ["floor", *planned]
        for row in rows:
            assert row.statuses == [200], (row.name, row.statuses, row.error)
            assert row.median_ms > 0
            assert row.queries > 0 or row.kind == bench.CALL, row.name
            # The floor before each endpoint and after the last, in each round.
            assert row.samples == (2 * (len(planned) + 1) if row.kind == bench.FLOOR else 2)
        names = " ".join(planned)
        for wanted in ("My work", "state=closed", "sort=title", "q=", "CSV export", "RFC page",
                       "schedule month", "schedule agenda", "API list", "API detail",
                       "conflict check", "next safe slots"):  # fmt: skip
            assert wanted in names
        export = next(r for r in rows if r.kind == bench.EXPORT)
        assert export.rows and export.peak_kb is not None and export.small_rows
    # A line of the table per row, and the query counts compared between sizes.
    assert len(bench.table(results)) >= len(results) + 1
    assert len(bench.markdown(60, results)) == 2 + len(results) // len(people)
    grown = [bench.Result(**{**vars(r), "queries": r.queries + 30}) for r in results]
    assert any(grew for _, grew in bench.query_differences({10: results, 1000: grown}))
    assert bench.query_differences({10: results, 1000: results}) == []
    # What it wrote (the sessions) is rolled back.
    assert Change.objects.count() == before
    assert not Session.objects.exists()


def test_the_floor_is_not_in_the_products_urls():
    with pytest.raises(NoReverseMatch):
        reverse("bench-floor")


def test_judges_the_bounds():
    def result(kind, p95, ratio=1.0, statuses=(200,)):
        return bench.Result("u", "x", kind, "", p95, p95, ratio, ratio, 3, "3", list(statuses), 2,
                            bench._bound(kind))  # fmt: skip

    assert bench._judge(result(bench.PAGE, 49.0, 9.0)) == []
    assert bench._judge(result(bench.PAGE, 51.0, 9.0)) == ["p95 over 50 ms"]
    assert bench._judge(result(bench.API, 20.0, 11.0)) == ["p95 over 10x the floor"]
    assert bench._judge(result(bench.CALL, 11.0)) == ["p95 over 10 ms"]
    assert bench._judge(result(bench.EXPORT, 900.0)) == []
    assert bench._judge(result(bench.PAGE, 5.0, statuses=(200, 500))) == ["answered [200, 500]"]


def test_on_sqlite_pages_are_held_to_50_ms_alone():
    def result(p95: float, ratio: float) -> bench.Result:
        return bench.Result("u", "page", bench.PAGE, "/", p95, p95, ratio, ratio, 5, "5", [200],
                            10, bench._bound(bench.PAGE, against_floor=False))  # fmt: skip

    assert bench._bound(bench.PAGE, against_floor=False) == "<= 50 ms"
    assert bench._judge(result(30.0, 15.0), against_floor=False) == []
    assert bench._judge(result(30.0, 15.0)) == ["p95 over 10x the floor"]
    assert bench._judge(result(51.0, 15.0), against_floor=False) == ["p95 over 50 ms"]
