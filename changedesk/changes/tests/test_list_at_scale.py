"""The change log's queries as they must stay at trust scale (issue 9): paged ids first,
scoped by a list of school ids, no SELECT DISTINCT, no people joined to filter, days as
ranges an index serves, search ranked (full-text on PostgreSQL), the CSV streamed."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from changedesk.accounts.choices import Role
from changedesk.accounts.services import create_school, set_membership
from changedesk.changes.filters import ChangeFilterSet
from changedesk.changes.models import Change
from changedesk.changes.services import create_change
from changedesk.conftest import REQUEST, member
from changedesk.lib import paging

pytestmark = pytest.mark.django_db

POSTGRES = connection.vendor == "postgresql"


def _raise(school, who, title, description="", **extra):
    return create_change(school, who, {**REQUEST, "title": title, "description": description,
                                       **extra})  # fmt: skip


def _list_sql(client, params) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("changes:list"), params)
    assert response.status_code == 200
    return [q["sql"] for q in queries.captured_queries if "changes_change" in q["sql"]]


def _references(response) -> list[str]:
    return [c.reference for c in response.context["page"].object_list]


def test_the_page_lists_in_order_ids_first(client, team, school):
    made = [_raise(school, team["olivia"], f"Change {i}") for i in range(30)]
    client.force_login(team["ian"])
    first = client.get(reverse("changes:list"))
    assert _references(first) == [c.reference for c in reversed(made)][:25]
    second = client.get(reverse("changes:list"), {"page": 2})
    assert _references(second) == [c.reference for c in reversed(made)][25:]
    assert second.context["page"].paginator.count == 30
    sql = _list_sql(client, {"sort": "title"})
    # The ids are chosen without joining anyone; the 25 rows are loaded by id.
    ids_query = next(s for s in sql if "LIMIT" in s)
    assert "accounts_user" not in ids_query
    assert "JOIN" not in ids_query
    assert "accounts_membership" not in " ".join(sql)


def test_the_state_filter_makes_no_distinct(client, team, school):
    _raise(school, team["olivia"], "Draft one")
    client.force_login(team["ian"])
    sql = _list_sql(client, {"state": ["draft", "closed"]})
    assert sql and not any("DISTINCT" in s for s in sql)


def test_people_filters_compare_ids_without_joining_people(client, team, school):
    mine = _raise(school, team["olivia"], "Olivia's")
    client.force_login(team["ian"])
    for params in ({"person": "olivia"}, {"originator": "olivia"}, {"school": school.slug}):
        response = client.get(reverse("changes:list"), params)
        assert _references(response) == [mine.reference]
        ids_query = next(s for s in _list_sql(client, params) if "LIMIT" in s)
        assert "JOIN" not in ids_query
    nobody = client.get(reverse("changes:list"), {"person": "nobody"})
    assert _references(nobody) == []


def test_days_are_compared_as_the_school_day_in_the_time_zone(client, team, school, settings):
    settings.TIME_ZONE = "Europe/London"
    london = ZoneInfo("Europe/London")
    late = _raise(school, team["olivia"], "Late on the 1st of July")
    early = _raise(school, team["olivia"], "Early on the 2nd of July")
    # 23:30 on 1 July in London is 22:30 UTC; 00:30 on 2 July is 23:30 UTC on the 1st.
    Change.objects.filter(pk=late.pk).update(created_at=datetime(2025, 7, 1, 23, 30, tzinfo=london))
    Change.objects.filter(pk=early.pk).update(created_at=datetime(2025, 7, 2, 0, 30, tzinfo=london))
    client.force_login(team["ian"])

    def listed(**params):
        return sorted(_references(client.get(reverse("changes:list"), params)))

    assert listed(created_after="2025-07-02") == [early.reference]
    assert listed(created_before="2025-07-01") == [late.reference]
    assert listed(created_after="2025-07-01", created_before="2025-07-02") == sorted(
        [late.reference, early.reference]
    )
    # The calendar's ends are no error: everything with a value is on or before the last day.
    assert listed(created_before="9999-12-31") == sorted([late.reference, early.reference])
    assert listed(created_after="0001-01-01") == sorted([late.reference, early.reference])
    sql = _list_sql(client, {"created_after": "2025-07-02"})
    assert not any("django_datetime_cast_date" in s or "AT TIME ZONE" in s for s in sql)


def test_search_ranks_the_best_first_and_finds_the_start_of_words(client, team, school):
    body = _raise(school, team["olivia"], "Replace the switch", "Then the firewall rules.")
    title = _raise(school, team["olivia"], "Firewall rules for the guest network")
    _raise(school, team["olivia"], "Printer toner")
    client.force_login(team["ian"])
    found = _references(client.get(reverse("changes:list"), {"q": "firewall"}))
    assert found == [title.reference, body.reference]
    assert _references(client.get(reverse("changes:list"), {"q": "firew"})) == found
    # Every word must match.
    both = _references(client.get(reverse("changes:list"), {"q": "firewall guest"}))
    assert both == [title.reference]
    # A reference is found, and first.
    by_reference = _references(client.get(reverse("changes:list"), {"q": body.reference}))
    assert by_reference[0] == body.reference
    # Punctuation is only text, never the query language.
    odd = client.get(reverse("changes:list"), {"q": "fire & ! (wall:* | ')"})
    assert odd.status_code == 200


@pytest.mark.skipif(not POSTGRES, reason="full-text search is PostgreSQL's")
def test_search_on_postgresql_is_full_text_on_an_index(client, team, school):
    patched = _raise(school, team["olivia"], "Patched the servers")
    client.force_login(team["ian"])
    # English stemming: "patches" finds "patched"; a stop word alone finds nothing.
    assert _references(client.get(reverse("changes:list"), {"q": "patches"})) == [patched.reference]
    assert _references(client.get(reverse("changes:list"), {"q": "the"})) == []
    sql = _list_sql(client, {"q": "patches"})
    assert any("search_vector @@ to_tsquery" in s for s in sql)
    assert not any("LIKE" in s.upper() for s in sql)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'changes_change' "
            "AND indexdef LIKE '%%gin (search_vector)%%'"
        )
        assert cursor.fetchone()


def test_the_api_list_is_paged_ids_first(client, team, school):
    made = [_raise(school, team["olivia"], f"Change {i}") for i in range(3)]
    client.force_login(team["ian"])
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/changes/", {"page_size": 2})
    assert response.status_code == 200
    data = response.json()
    assert data["count"] == 3
    assert [c["id"] for c in data["results"]] == [c.pk for c in reversed(made)][:2]
    ids_query = next(
        q["sql"] for q in queries.captured_queries if "LIMIT" in q["sql"] and "changes_change"
        in q["sql"]
    )  # fmt: skip
    assert "JOIN" not in ids_query


def test_rows_of_keeps_the_order_given(team, school):
    made = [_raise(school, team["olivia"], f"Change {i}") for i in range(4)]
    ids = [made[2].pk, made[0].pk, made[3].pk, 999_999]
    rows = paging.rows_of(Change.objects.select_related("school"), ids)
    assert [r.pk for r in rows] == ids[:3]
    assert paging.rows_of(Change.objects.all(), []) == []


def test_the_export_streams_every_column_in_chunks(client, team, school, monkeypatch):
    from changedesk.changes import views

    monkeypatch.setattr(views, "EXPORT_CHUNK", 2)
    made = [_raise(school, team["olivia"], f"=Change {i}", 'A, "quoted"\nline') for i in range(5)]
    client.force_login(team["ian"])
    response = client.get(reverse("changes:export"))
    parts = list(response.streaming_content)
    assert len(parts) >= 3  # written as it is read, not built whole
    rows = list(csv.DictReader(io.StringIO(b"".join(parts).decode())))
    assert [r["reference"] for r in rows] == [c.qualified_reference for c in reversed(made)]
    first = rows[0]
    change = made[-1]
    assert first["title"] == "'=Change 4"
    assert first["description"] == 'A, "quoted"\nline'
    assert first["school"] == school.name
    assert first["originator"] == "olivia"
    assert first["initial_approver"] == (change.initial_approver.username
                                         if change.initial_approver else "")  # fmt: skip
    assert first["emergency"] == "no"
    assert first["created_at"] == change.created_at.isoformat()


def test_the_log_of_a_ten_school_person_costs_the_same_queries_as_of_one(
    client, team, school, django_assert_max_num_queries
):
    person = team["ian"]
    for n in range(10):
        other = create_school(f"School {n}", f"school-{n}")
        member(f"tech{n}", other, [Role.ORIGINATOR])
        set_membership(person, other, [Role.INITIAL_APPROVER])
    for i in range(30):
        _raise(school, team["olivia"], f"Change {i}")
    client.force_login(person)
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("changes:list"))
    with django_assert_max_num_queries(len(one.captured_queries)):
        client.get(reverse("changes:list"), {"state": "draft", "sort": "-start", "page": 2})


def test_my_work_shows_the_first_of_each_section_and_links_to_the_rest(client, team, school):
    from changedesk.changes.queries import LIMIT

    for i in range(LIMIT + 3):
        _raise(school, team["olivia"], f"Draft {i}")
    client.force_login(team["olivia"])
    response = client.get(reverse("changes:my_work"))
    mine = next(s for s in response.context["sections"] if s.key == "mine")
    assert len(mine.changes) == LIMIT
    assert mine.total == LIMIT + 3
    body = response.content.decode()
    assert f"See all {LIMIT + 3} in the change log" in body
    # The section is the originator's RFCs in her steps: the change log's filter is exactly it.
    link = "/changes/?originator=olivia&amp;state=draft&amp;state=implemented&amp;state=planning"
    assert link in body
    listed = client.get(link.replace("&amp;", "&"))
    assert listed.context["page"].paginator.count == LIMIT + 3


def test_a_person_of_several_schools_is_paged_school_by_school_in_the_same_order(team, school):
    """On PostgreSQL the change log of a person of several schools is merged from each
    school's first rows (lib.paging.MergedIds): every sort, every page, the same ids in the
    same order as one query over all the schools."""
    from changedesk.changes.filters import SORTS
    from changedesk.lib.paging import MergedIds, ids_of

    person = team["ian"]
    others = [create_school(f"{name} School", f"{name.lower()}-school")
              for name in ("Ash", "Zephyr")]  # fmt: skip
    for other in others:
        tech = member(f"tech-{other.slug}", other, [Role.ORIGINATOR])
        set_membership(person, other, [Role.INITIAL_APPROVER])
        for i in range(7):
            _raise(other, tech, f"{'BCA'[i % 3]} change {i}")
    for i in range(9):
        made = _raise(school, team["olivia"], f"{'CAB'[i % 3]} change {i}")
        if i % 2:
            Change.objects.filter(pk=made.pk).update(
                planned_start=made.created_at, state="planning"
            )
    # Ties (the same time in two schools) are broken by id, as in one query.
    same_time = datetime(2025, 1, 1, tzinfo=ZoneInfo("UTC"))
    Change.objects.filter(pk__in=list(Change.objects.values_list("pk", flat=True)[:4])).update(
        created_at=same_time
    )
    schools = sorted([school.pk, *(o.pk for o in others)])
    visible = Change.objects.visible_to(person)
    for order in [*SORTS.values(), None]:
        for listed in (visible, visible.filter(state="planning")):
            queryset = listed.order_by(*order) if order else listed
            merged = MergedIds.of(queryset, schools)
            assert isinstance(merged, MergedIds) == POSTGRES
            if not POSTGRES:
                continue
            assert merged.count() == queryset.count()
            for window in (slice(0, 5), slice(5, 10), slice(20, 30), slice(3, None)):
                assert merged[window] == list(ids_of(queryset)[window]), (order, window)
    # One school's list sorted by reference is sorted by number, without the school's name.
    mine = Change.objects.filter(school=school).order_by(*SORTS["-reference"])
    plain = MergedIds.of(mine, [school.pk])
    assert list(plain) == list(ids_of(mine)) and "accounts_school" not in str(plain.query)
    # A search's order (its rank) and a single school are paged as one query.
    searched = ChangeFilterSet({"q": "change"}, queryset=visible).qs
    assert not isinstance(MergedIds.of(searched, schools), MergedIds)
    assert not isinstance(MergedIds.of(visible, [school.pk]), MergedIds)


@pytest.mark.parametrize("size", ["0", "-1", "abc", "null", "2.5", "\u0663"])
def test_a_page_size_the_api_cannot_read_is_a_field_error(client, team, size):
    client.force_login(team["ian"])
    response = client.get("/api/v1/changes/", {"page_size": size})
    assert response.status_code == 400
    assert response.json()["page_size"] == ["Give a whole number from 1 to 200."]


def test_a_page_size_beyond_the_most_is_the_most(client, team, school):
    for i in range(3):
        _raise(school, team["olivia"], f"Change {i}")
    client.force_login(team["ian"])
    response = client.get("/api/v1/changes/", {"page_size": "100000"})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 3


def test_attach_loads_what_rows_point_at_a_query_per_table(team, school, other_school, oscar):
    from changedesk.lib.loading import attach

    olivia, ian = team["olivia"], team["ian"]
    _raise(school, olivia, "One", initial_approver=ian)
    _raise(school, olivia, "Two")
    _raise(other_school, oscar, "Three")
    rows = list(Change.objects.order_by("pk"))
    with CaptureQueriesContext(connection) as queries:
        attach(rows, "school", "originator", "initial_approver", "implementer")
    # The people in one query, the schools in another; nothing joined.
    assert len(queries) == 2
    assert all("JOIN" not in q["sql"] for q in queries.captured_queries)
    with CaptureQueriesContext(connection) as queries:
        seen = [(c.school.slug, c.originator.username, c.initial_approver, c.implementer)
                for c in rows]  # fmt: skip
    assert len(queries) == 0
    expected = [
        (c.school.slug, c.originator.username, c.initial_approver, c.implementer)
        for c in Change.objects.select_related(
            "school", "originator", "initial_approver", "implementer"
        ).order_by("pk")
    ]
    assert seen == expected
    assert seen[0][2] == ian
    # What a row holds already is kept; nothing left to load costs no query.
    with CaptureQueriesContext(connection) as queries:
        attach(rows, "school", "originator")
        attach([], "school")
    assert len(queries) == 0


def test_the_api_list_joins_no_people(client, team, school):
    for n in range(3):
        _raise(school, team["olivia"], f"Change {n}", initial_approver=team["ian"])
    client.force_login(team["ian"])
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/changes/")
    assert response.status_code == 200
    assert [r["initial_approver"] for r in response.json()["results"]] == ["ian"] * 3
    rows = [q["sql"] for q in queries.captured_queries if 'FROM "changes_change"' in q["sql"]]
    assert rows and all("accounts_user" not in sql for sql in rows)


@pytest.mark.parametrize(
    ("number", "shown", "count", "queries"),
    [
        (None, ["Change 1", "Change 2"], 5, 1),  # the rows with their count
        ("2", ["Change 3", "Change 4"], 5, 1),
        ("3", ["Change 5"], 5, 1),  # the last page, short
        ("9", ["Change 5"], 5, 3),  # past the end: counted, and the last page read, apart
        ("a page", ["Change 1", "Change 2"], 5, 1),  # as Paginator.get_page reads it
        ("-1", ["Change 5"], 5, 2),  # the last page, as Paginator.get_page reads it
    ],
)
@pytest.mark.parametrize("load", [False, True])
def test_a_page_read_together_with_its_count(team, school, number, shown, count, queries, load):
    """Without `load` the page's rows come with the count; with it, their ids do, and the
    rows are loaded after them (a query more)."""
    for n in range(5):
        _raise(school, team["olivia"], f"Change {n + 1}")
    listed = Change.objects.filter(school=school).order_by("created_at", "id")
    loading = Change.objects.only("id", "title") if load else None
    with CaptureQueriesContext(connection) as asked:
        found = paging.page(listed, number, 2, load=loading, together=True)
    assert [c.title for c in found.object_list] == shown
    assert found.paginator.count == count and len(asked) == queries + load
    assert "COUNT(*) OVER ()" in asked[0]["sql"]
    assert all(isinstance(c, Change) for c in found.object_list)
    # The same page as paging them apart gives.
    apart = paging.page(listed, number, 2)
    assert [c.pk for c in apart.object_list] == [c.pk for c in found.object_list]
    assert apart.number == found.number


def test_an_empty_list_read_together_with_its_count_is_one_query(team, school):
    with CaptureQueriesContext(connection) as asked:
        found = paging.page(Change.objects.filter(school=school), "1", 2, together=True)
    assert list(found.object_list) == [] and found.paginator.count == 0 and len(asked) == 1


def test_an_empty_list_of_someone_of_several_schools(client, team, school, other_school):
    """Paged school by school (on PostgreSQL), an empty list is an empty page, not a 500."""
    from rest_framework.test import APIClient

    set_membership(team["olivia"], other_school, [Role.ORIGINATOR])
    _raise(school, team["olivia"], "Only one")
    client.force_login(team["olivia"])
    page = client.get("/changes/?person=nobody")
    assert page.status_code == 200 and "No requests for change match" in page.content.decode()
    api = APIClient()
    api.force_authenticate(team["olivia"])
    answer = api.get("/api/v1/changes/?person=nobody")
    assert answer.status_code == 200 and answer.json()["count"] == 0
