"""The seam's `groupings` (changes/extensions.py), with a made-up app: My work gathers the
cards of one group the person may see into one entry where the first of them is, leaves
every other card as it was, and asks the app once a page (not at all when no card is in a
group). trustwide/tests/test_my_work.py shows the real one, a trust-wide change."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from changedesk.changes import extensions
from changedesk.changes.choices import State
from changedesk.changes.extensions import Extension, Group, Grouping
from changedesk.changes.models import Change
from changedesk.changes.queries import Card, GroupEntry
from changedesk.conftest import REQUEST

pytestmark = pytest.mark.django_db

asked: list[set] = []
# The groups the made-up app knows of and shows (an RFC titled otherwise is in none it shows,
# e.g. "Hidden": one the person may not see).
KNOWN = {"Alpha"} | {f"Change {n}" for n in range(6)}


def by_title(user, keys: set) -> dict:
    """The groups of these keys (titles) the app shows, in one query."""
    asked.append(set(keys))
    members: dict[str, set[int]] = {}
    states: dict[str, dict[str, int]] = {}
    rows = Change.objects.filter(title__in=sorted(keys & KNOWN))
    for pk, title, state in rows.values_list("pk", "title", "state"):
        members.setdefault(title, set()).add(pk)
        counts = states.setdefault(title, {})
        counts[state] = counts.get(state, 0) + 1
    return {
        key: Group(
            key,
            f"G-{key}",
            f"The {key} group",
            f"/groups/{key}/",
            f"{len(members[key])} RFCs",
            tuple(states[key].items()),
            frozenset(members[key]),
        )
        for key in members
    }


@pytest.fixture
def grouped():
    # The key, read with the cards: the RFC's title.
    extensions.register(Extension(app="grouper", groupings=(Grouping("title", by_title),)))
    asked.clear()
    yield
    extensions.unregister("grouper")


def raise_drafts(olivia, school, *titles: str) -> list[Change]:
    return Change.objects.bulk_create(
        Change(school=school, number=n + 1, originator=olivia, state=State.DRAFT,
               **{**REQUEST, "title": title})
        for n, title in enumerate(titles)
    )  # fmt: skip


def test_cards_of_a_group_are_gathered_and_others_stay_cards(client, olivia, school, grouped):
    made = raise_drafts(olivia, school, "Solo", "Alpha", "Hidden", "Alpha")
    client.force_login(olivia)
    page = client.get(reverse("changes:my_work"))
    (mine,) = [s for s in page.context["sections"] if s.key == "mine"]
    assert [c.pk for c in mine.changes] == [c.pk for c in made]
    solo, alpha, hidden = mine.entries
    assert isinstance(solo, Card) and solo.pk == made[0].pk
    assert isinstance(alpha, GroupEntry)
    assert [c.pk for c in alpha.cards] == [made[1].pk, made[3].pk]
    assert alpha.states == [("Draft", "draft", 2)]
    assert isinstance(hidden, Card) and hidden.pk == made[2].pk
    assert asked == [{"Solo", "Alpha", "Hidden"}]
    body = page.content.decode()
    assert '<a class="card-title" href="/groups/Alpha/"><span class="ref">G-Alpha</span>' in body
    assert "2 of its RFCs here" in body


def test_a_grouping_costs_one_query_and_none_without_cards(client, olivia, school, grouped):
    client.force_login(olivia)
    url = reverse("changes:my_work")
    client.get(url)
    with CaptureQueriesContext(connection) as empty:
        client.get(url)
    assert asked == []  # no card: the app is not asked
    raise_drafts(olivia, school, *(f"Change {n}" for n in range(6)))
    with CaptureQueriesContext(connection) as full:
        client.get(url)
    assert len(full) == len(empty) + 2  # the cards', and the app's one
