"""What the lists load and how they show it, made cheaper at trust scale (issue 9): the
serializers' quick representation, the rows a list points at taken from those loaded
already, and a person's roles read once per request."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from changedesk.accounts.models import Membership, Role, User
from changedesk.accounts.permissions import with_roles
from changedesk.changes.api import ChangeSerializer, load_item_ids
from changedesk.changes.models import Change
from changedesk.changes.services import create_change
from changedesk.configuration.models import ConfigurationItem
from changedesk.conftest import REQUEST, advance, member
from changedesk.lib.api import QuickRepresentation
from changedesk.lib.loading import attach


def _rfcs(team, school) -> list[Change]:
    """RFCs with what a list shows in its several shapes: none, some and all of the people
    and windows set, items and none, an emergency."""
    olivia = team["olivia"]
    switch = ConfigurationItem.objects.create(school=school, name="Core switch")
    server = ConfigurationItem.objects.create(school=school, name="File server")
    plain = create_change(school, olivia, dict(REQUEST))
    with_items = create_change(
        school, olivia, {**REQUEST, "title": "Items"}, items=[server, switch]
    )
    emergency = create_change(
        school, olivia, {**REQUEST, "is_emergency": True, "emergency_justification": "Outage"}
    )
    planned = advance(
        create_change(school, olivia, {**REQUEST, "title": "Planned"}), team, "approved"
    )
    return [plain, with_items, emergency, planned]


def test_the_quick_representation_shows_each_rfc_as_drf_does(team, school) -> None:
    rows = list(Change.objects.filter(pk__in=[c.pk for c in _rfcs(team, school)]).order_by("pk"))
    attach(rows, "school", "originator", "initial_approver", "peer_reviewer",
           "final_approver", "implementer")  # fmt: skip
    load_item_ids(rows)
    request = Request(APIRequestFactory().get("/api/v1/changes/"))
    context = {"request": request, "actor": with_roles(team["ian"])}
    serializer = ChangeSerializer(context=context)
    for row in rows:
        quick = serializer.to_representation(row)
        drf = serializers.ModelSerializer.to_representation(serializer, row)
        assert quick == drf
        assert list(quick) == list(drf)  # the same fields, in the same order
    shown = ChangeSerializer(rows, many=True, context=context).data
    assert shown[1]["items"] == sorted(shown[1]["items"]) and len(shown[1]["items"]) == 2
    assert shown[2]["is_emergency"] is True and shown[0]["planned_start"] is None
    assert shown[3]["state"] == "approved" and shown[3]["planned_start"] is not None


class _Named(QuickRepresentation, serializers.Serializer):
    """A serializer with a field of each kind the quick path reads itself, and others."""

    title = serializers.CharField()
    number = serializers.IntegerField()
    is_emergency = serializers.BooleanField()
    state = serializers.ChoiceField(choices=[("draft", "Draft")])
    school = serializers.CharField(source="school.name")  # two attributes deep: DRF's way
    shout = serializers.SerializerMethodField()

    def get_shout(self, change: Change) -> str:
        return change.title.upper()


def test_the_quick_representation_reads_only_plain_columns_itself(draft) -> None:
    serializer = _Named()
    assert serializer.to_representation(draft) == serializers.Serializer.to_representation(
        serializer, draft
    )
    plan = {name: attribute for name, _, attribute, _ in serializer.__dict__["_quick_plan"]}
    assert plan == {"title": "title", "number": "number", "is_emergency": "is_emergency",
                    "state": "state", "school": None, "shout": None}  # fmt: skip


def test_attach_takes_the_rows_it_is_given_and_asks_only_for_the_others(
    team, school, other_school, oscar
) -> None:
    mine = create_change(school, team["olivia"], dict(REQUEST))
    theirs = create_change(other_school, oscar, dict(REQUEST))
    rows = list(Change.objects.filter(pk__in=[mine.pk, theirs.pk]).order_by("pk"))
    with CaptureQueriesContext(connection) as queries:
        attach(rows, "school", known=[school])
    assert len(queries) == 1 and f"{other_school.pk}" in queries[0]["sql"]
    assert rows[0].school is school and rows[1].school == other_school
    rows = list(Change.objects.filter(pk=mine.pk))
    with CaptureQueriesContext(connection) as queries:
        attach(rows, "school", known=[school])
    assert len(queries) == 0 and rows[0].school is school


def test_the_api_list_asks_no_school_its_caller_was_loaded_with(team, school) -> None:
    create_change(school, team["olivia"], dict(REQUEST))
    client = APIClient()
    client.force_authenticate(team["olivia"])
    with CaptureQueriesContext(connection) as queries:
        answer = client.get("/api/v1/changes/")
    assert answer.status_code == 200 and answer.json()["results"][0]["school"] == school.slug
    # The schools came with the caller's memberships (joined), not asked for again.
    assert not [q for q in queries if 'FROM "accounts_school"' in q["sql"]]
    assert [q for q in queries if 'JOIN "accounts_school"' in q["sql"]]


def test_roles_are_read_once_and_follow_the_memberships_loaded(school, other_school) -> None:
    person = member("rosa", school, [Role.ORIGINATOR])
    Membership.objects.create(user=person, school=other_school).set_roles([Role.VIEWER])
    loaded = with_roles(User.objects.get(pk=person.pk))
    with CaptureQueriesContext(connection) as queries:
        assert loaded.roles_in(school) == {Role.ORIGINATOR}
        assert loaded.roles_in(other_school) == {Role.VIEWER}
        loaded.roles_in(school).add("spoilt")  # a copy: the table is not changed
        assert loaded.roles_in(school) == {Role.ORIGINATOR}
    assert len(queries) == 0
    # New roles, and the memberships loaded again: the new roles are read.
    person.memberships.get(school=school).set_roles([Role.ORIGINATOR, Role.IMPLEMENTER])
    reloaded = with_roles(User.objects.get(pk=person.pk))
    assert reloaded.roles_in(school) == {Role.ORIGINATOR, Role.IMPLEMENTER}
    # Without memberships loaded, each answer is asked of the database.
    plain = User.objects.get(pk=person.pk)
    assert plain.roles_in(school) == {Role.ORIGINATOR, Role.IMPLEMENTER}
