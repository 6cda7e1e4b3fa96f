"""The change log's search at trust scale (issue 9): it ranks the newest matches only, a
bounded number of them, after every other filter, and says when more matched; the count
and the page are of those, so neither reads every match."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from changedesk.changes.filters import ChangeFilterSet
from changedesk.changes.models import Change
from changedesk.changes.services import create_change
from changedesk.configuration.filters import ItemFilterSet
from changedesk.configuration.models import ConfigurationItem
from changedesk.conftest import REQUEST
from changedesk.lib import search

pytestmark = pytest.mark.django_db

POSTGRES = connection.vendor == "postgresql"


def _raise(school, who, title, description=""):
    return create_change(school, who, {**REQUEST, "title": title, "description": description})


def _listed(client, params):
    response = client.get(reverse("changes:list"), params)
    assert response.status_code == 200
    return response


def _references(response) -> list[str]:
    return [c.reference for c in response.context["page"].object_list]


@pytest.fixture
def few(monkeypatch):
    """A search bound of 3, so that a handful of RFCs passes it."""
    monkeypatch.setattr(ChangeFilterSet, "search_limit", 3)


def test_it_ranks_the_newest_matches_and_says_more_matched(client, team, school, few):
    olivia = team["olivia"]
    oldest = _raise(school, olivia, "Firmware on the core switch")
    _raise(school, olivia, "Firmware on the edge switch")
    in_title = _raise(school, olivia, "Firmware on the firewall")
    in_body = _raise(school, olivia, "Patch the file server", "Then its firmware.")
    newest = _raise(school, olivia, "Firmware on the access points")
    _raise(school, olivia, "Printer toner")
    client.force_login(team["ian"])
    response = _listed(client, {"q": "firmware"})
    # The newest three matches, the titles first (newest first among equals).
    assert _references(response) == [newest.reference, in_title.reference, in_body.reference]
    assert response.context["page"].paginator.count == 3
    assert response.context["filter"].more_matches
    assert oldest.reference not in _references(response)
    # Fewer matches than the bound: every one, and no more to tell of.
    narrow = _listed(client, {"q": "firmware firewall"})
    assert _references(narrow) == [in_title.reference]
    assert not narrow.context["filter"].more_matches


def test_the_other_filters_choose_before_the_bound(client, team, school, few):
    olivia = team["olivia"]
    older = [_raise(school, olivia, f"Firmware {n}") for n in range(2)]
    Change.objects.filter(pk__in=[c.pk for c in older]).update(state="planning")
    for n in range(4):
        _raise(school, olivia, f"Firmware {n + 2}")
    client.force_login(team["ian"])
    # The newest three matches are drafts; those in planning are older, yet found.
    response = _listed(client, {"q": "firmware", "state": "planning"})
    assert sorted(_references(response)) == sorted(c.reference for c in older)
    assert not response.context["filter"].more_matches
    # A sort orders what the search found, instead of ranking it.
    by_title = _listed(client, {"q": "firmware", "sort": "title"})
    assert [c.title for c in by_title.context["page"].object_list] == [
        "Firmware 3",
        "Firmware 4",
        "Firmware 5",
    ]


def test_a_reference_is_found_however_many_newer_rfcs_mention_it(client, team, school, few):
    olivia = team["olivia"]
    first = _raise(school, olivia, "The first change")
    for n in range(4):
        _raise(school, olivia, f"Follow-up {n}", f"After {first.reference}.")
    client.force_login(team["ian"])
    response = _listed(client, {"q": first.reference})
    found = _references(response)
    assert found[0] == first.reference
    assert len(found) == 4  # the RFC itself, and the newest three that mention it
    assert response.context["page"].paginator.count == 4
    assert response.context["filter"].more_matches


def test_an_rfc_found_by_its_reference_and_its_words_is_counted_once(client, team, school):
    olivia = team["olivia"]
    first = _raise(school, olivia, "The first change")
    Change.objects.filter(pk=first.pk).update(description=f"Known as {first.reference}.")
    later = _raise(school, olivia, "A follow-up", f"After {first.reference}.")
    client.force_login(team["ian"])
    response = _listed(client, {"q": first.reference})
    assert _references(response) == [first.reference, later.reference]
    assert response.context["page"].paginator.count == 2


def test_the_count_and_the_page_read_only_the_matches_found(client, team, school):
    for n in range(5):
        _raise(school, team["olivia"], f"Firmware {n}")
    client.force_login(team["ian"])
    with CaptureQueriesContext(connection) as queries:
        response = _listed(client, {"q": "firmware"})
    assert response.context["page"].paginator.count == 5
    listed = [q["sql"] for q in queries.captured_queries if "changes_change" in q["sql"]]
    # One query finds the matches, newest first, at most one more than the bound; they are
    # as many as the list counts (no count asked); the page's ids (ranked) and its rows are
    # read by those ids.
    finding, ids, rows = listed
    assert f"LIMIT {search.LIMIT + 1}" in finding
    assert "ORDER BY" in finding and "rank" not in finding
    match = "search_vector @@" if POSTGRES else "LIKE"
    assert match in finding
    assert not any("COUNT(" in sql for sql in listed)
    assert ("ts_rank" if POSTGRES else "CASE WHEN") in ids and match not in ids.split("ORDER BY")[0]
    assert match not in rows
    with CaptureQueriesContext(connection) as plain:
        _listed(client, {})
    # One query more than the plain list (which counts by the tallies, where it is told).
    assert len(queries.captured_queries) <= len(plain.captured_queries) + 1


def test_a_search_without_words_finds_nothing_without_asking(client, team, school):
    _raise(school, team["olivia"], "Firmware")
    client.force_login(team["ian"])
    with CaptureQueriesContext(connection) as queries:
        response = _listed(client, {"q": "!!! ***"})
    assert _references(response) == []
    assert not any("LIMIT 201" in q["sql"] for q in queries.captured_queries)


def test_the_api_and_the_export_hold_every_match(client, team, school, few):
    # The bound is the page's: an API client paging a search, or an export, gets them all.
    made = [_raise(school, team["olivia"], f"Firmware {n}") for n in range(5)]
    client.force_login(team["ian"])
    data = client.get("/api/v1/changes/", {"q": "firmware"}).json()
    assert data["count"] == 5
    assert [c["id"] for c in data["results"]] == [c.pk for c in reversed(made)]
    export = client.get(reverse("changes:export"), {"q": "firmware"})
    lines = b"".join(export.streaming_content).decode().strip().splitlines()
    assert len(lines) == 1 + 5
    page = client.get(reverse("changes:list"), {"q": "firmware"})
    assert b"More than 3 requests for change match" in page.content


def test_unbounded_it_finds_every_match_ranked(team, school, few):
    made = [_raise(school, team["olivia"], f"Firmware {n}") for n in range(5)]
    body = _raise(school, team["olivia"], "Patch", "And its firmware.")
    visible = Change.objects.visible_to(team["ian"])
    every = ChangeFilterSet({"q": "firmware"}, queryset=visible, search_limit=None)
    assert list(every.qs) == [*reversed(made), body]
    assert not every.more_matches
    bounded = ChangeFilterSet({"q": "firmware"}, queryset=visible)
    # The newest three matches, the titles first.
    assert list(bounded.qs) == [made[4], made[3], body]
    assert bounded.more_matches


def test_newest_takes_the_list_s_own_order(team, school):
    made = [_raise(school, team["olivia"], f"Firmware {n}") for n in range(4)]
    oldest_first = Change.objects.order_by("created_at", "id")
    found = search.newest(oldest_first, "firmware", fields=("title", "description"), limit=2)
    assert list(found.rows) == made[:2]
    assert found.more
    # Words of several, in an order of another table's column: found all the same.
    by_school = Change.objects.order_by("school__name", "created_at")
    found = search.newest(by_school, "firmware 3", fields=("title", "description"), limit=2)
    assert list(found.rows) == [made[3]] and not found.more
    with pytest.raises(ValueError):
        search.newest(oldest_first, "firmware", fields=("title",), limit=0)


def test_the_items_search_is_unbounded_as_before(team, school):
    for n in range(5):
        ConfigurationItem.objects.create(school=school, name=f"Switch {n}", kind="network_device")
    visible = ConfigurationItem.objects.filter(school=school)
    assert ItemFilterSet({"q": "switch"}, queryset=visible).qs.count() == 5


def _searching(queries) -> list[str]:
    """The queries that test rows against the words (not those that only rank them)."""
    if POSTGRES:
        return [q["sql"] for q in queries.captured_queries if "@@ to_tsquery" in q["sql"]]
    return [q["sql"] for q in queries.captured_queries if "LIKE" in q["sql"].split("ORDER BY")[0]]


def test_words_often_found_together_are_sought_among_the_newest_rows_first(
    client, team, school, few, monkeypatch
):
    monkeypatch.setattr(search, "WALK", 8)
    olivia = team["olivia"]
    old = [_raise(school, olivia, f"Update the firmware on switch {n}") for n in range(2)]
    for n in range(8):
        _raise(school, olivia, f"Replace the toner in printer {n}")
    recent = [_raise(school, olivia, f"Update the firmware on panel {n}") for n in range(4)]
    client.force_login(team["ian"])
    # The newest eight rows hold four matches: the three newest and the sign of more.
    with CaptureQueriesContext(connection) as queries:
        response = _listed(client, {"q": "update firmware"})
    assert _references(response) == [c.reference for c in reversed(recent)][:3]
    assert response.context["filter"].more_matches
    assert len(_searching(queries)) == 1
    if POSTGRES:
        assert "LIMIT 8" in _searching(queries)[0]
    # Too few there: the whole list is searched, with the same answer.
    assert _references(_listed(client, {"q": "update firmware switch"})) == [
        c.reference for c in reversed(old)
    ]
    with CaptureQueriesContext(connection) as queries:
        _listed(client, {"q": "firmware panel 0"})
    assert len(_searching(queries)) == (2 if POSTGRES else 1)
    # One word, or a reference: the whole list at once.
    for q in ("firmware", recent[0].reference):
        with CaptureQueriesContext(connection) as queries:
            _listed(client, {"q": q})
        assert len(_searching(queries)) == 1, q
