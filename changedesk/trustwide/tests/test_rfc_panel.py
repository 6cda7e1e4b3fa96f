"""What the trust-wide panel on a school's RFC page costs: one query, or none at all for
an RFC whose school is in no trust."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext

from changedesk.changes.models import Change
from changedesk.trustwide import rfc
from changedesk.trustwide.models import Child
from changedesk.trustwide.tests.test_permissions import parent, people  # noqa: F401 (fixtures)


def _context(rf, user, change):
    request = rf.get("/")
    request.user = user
    change = Change.objects.select_related("school").get(pk=change.pk)
    with CaptureQueriesContext(connection) as queries:
        found = rfc._panel(request, change)
    return found, len(queries)


def test_an_rfc_of_a_school_in_no_trust_reads_nothing(rf, team, draft):
    assert _context(rf, team["olivia"], draft) == (None, 0)


def test_a_schools_rfc_part_of_one_reads_it_in_one_query(rf, people, parent):  # noqa: F811
    child = Child.objects.get(parent=parent, school__slug="greenfield")
    for who, sees in (("root", True), ("ada", True), ("tom", True), ("head", False)):
        found, queries = _context(rf, people[who], child.change)
        assert queries == 1
        assert found is not None and found["parent"] == parent
        assert found["schools"] == 3 and bool(found["may_see"]) is sees
    found, queries = _context(rf, AnonymousUser(), child.change)
    assert queries == 1 and found is not None and not found["may_see"]


def test_an_rfc_in_a_trust_but_part_of_none_shows_none(rf, people, parent, team, school):  # noqa: F811
    from changedesk.changes.services import create_change
    from changedesk.conftest import REQUEST

    own = create_change(school, team["olivia"], dict(REQUEST))
    assert _context(rf, team["olivia"], own) == (None, 1)
