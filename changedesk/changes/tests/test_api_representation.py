"""The RFC API shows each RFC exactly as DRF's own `Serializer.to_representation` would,
however `QuickRepresentation` and `ChangeSerializer.get_url` shorten the way there (issue 9):
the same keys, in the same order, with the same values, for RFCs in many states, with and
without people, windows, items and the apps' fields (a trust-wide parent), in any time zone."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from datetime import timezone as fixed_zone
from types import SimpleNamespace
from typing import Any

import pytest
from django.utils import timezone
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from changedesk.accounts.permissions import with_roles
from changedesk.changes.api import ChangeSerializer, load_for_api
from changedesk.changes.models import Change
from changedesk.changes.services import create_change
from changedesk.changes.workflow import perform
from changedesk.configuration.models import ConfigurationItem
from changedesk.conftest import REQUEST, advance
from changedesk.lib.api import AwareDateTimeField, QuickRepresentation
from changedesk.trustwide import services as trustwide


def _rfcs(team: dict[str, Any], school: Any, trust: Any, tara: Any) -> list[Change]:
    olivia = team["olivia"]
    switch = ConfigurationItem.objects.create(school=school, name="Core switch")
    server = ConfigurationItem.objects.create(school=school, name="File server")
    made = [
        create_change(school, olivia, dict(REQUEST)),
        create_change(school, olivia, {**REQUEST, "title": "Items"}, items=[server, switch]),
        create_change(
            school, olivia, {**REQUEST, "is_emergency": True, "emergency_justification": "Down"}
        ),
    ]
    states = ("awaiting_initial_approval", "planning", "awaiting_final_approval", "approved")
    for state in (*states, "implemented"):
        raised = create_change(school, olivia, {**REQUEST, "title": state})
        made.append(advance(raised, team, state))
    withdrawn = create_change(school, olivia, {**REQUEST, "title": "Withdrawn"})
    perform(withdrawn.pk, "withdraw", olivia, comment="Not needed")
    made.append(withdrawn)
    # One of a trust-wide change (Tara is a trust technician): the trust-wide app's
    # `parent` is set on it.
    parent, _ = trustwide.raise_for_schools(trust, tara, dict(REQUEST), [school])
    made.extend(c.change for c in trustwide.children(parent))
    return made


def _drf(context: dict[str, Any], row: Change) -> dict[str, Any]:
    """The RFC as DRF's own `Serializer.to_representation` shows it, by a serializer that
    shows no other row (its address built from nothing shown before)."""
    return serializers.Serializer.to_representation(ChangeSerializer(context=context), row)


def _same(quick: list[dict[str, Any]], drf: list[dict[str, Any]]) -> None:
    assert [list(shown) for shown in quick] == [list(shown) for shown in drf]  # key order
    assert json.dumps(quick) == json.dumps(drf)


@pytest.mark.parametrize("zone", ["UTC", "Europe/London", "Asia/Kolkata", "America/St_Johns"])
def test_a_page_of_rfcs_is_shown_as_drf_shows_it(team, school, trust, tara, zone) -> None:
    ids = [c.pk for c in _rfcs(team, school, trust, tara)]
    rows = list(Change.objects.filter(pk__in=ids).order_by("-pk"))
    assert len({row.state for row in rows}) >= 7
    request = Request(APIRequestFactory().get("/api/v1/changes/"))
    for who in ("olivia", "ian", "fiona"):
        actor = with_roles(team[who])
        load_for_api(rows, actor)
        context = {"request": request, "actor": actor}
        with timezone.override(zone):
            quick = list(ChangeSerializer(rows, many=True, context=context).data)
            drf = [_drf(context, row) for row in rows]
        _same(quick, drf)
        assert any(shown["allowed_actions"] for shown in quick)
        assert any(shown["parent"] for shown in quick) and any(s["items"] for s in quick)
        assert all(shown["url"] == f"http://testserver/changes/{shown['id']}/" for shown in quick)


def test_the_api_list_and_an_rfc_show_what_drf_would(team, school, trust, tara) -> None:
    ids = [c.pk for c in _rfcs(team, school, trust, tara)]
    client = APIClient()
    client.force_authenticate(team["ian"])
    listed = client.get("/api/v1/changes/?page_size=50").json()["results"]
    rows = list(Change.objects.filter(pk__in=ids))
    actor = with_roles(team["ian"])
    load_for_api(rows, actor)
    context = {"request": Request(APIRequestFactory().get("/")), "actor": actor}
    by_id = {row.pk: row for row in rows}
    _same(listed, [_drf(context, by_id[shown["id"]]) for shown in listed])
    one = client.get(f"/api/v1/changes/{ids[1]}/").json()
    _same([one], [_drf(context, by_id[ids[1]])])


class _Times(QuickRepresentation, serializers.Serializer[Any]):
    at = serializers.DateTimeField()
    aware = AwareDateTimeField()
    stated = serializers.DateTimeField(format="%Y-%m-%d %H:%M")  # not ISO 8601: DRF's way
    kept = serializers.DateTimeField(default_timezone=UTC)  # a zone of its own: DRF's way
    shout = serializers.SerializerMethodField()
    named = serializers.CharField(source="person.name", default="")  # two attributes deep
    count = serializers.FloatField(source="counted")  # a method: called, as DRF does
    missing = serializers.EmailField(required=False)  # not on the row: skipped

    def get_shout(self, row: Any) -> str:
        return f"{row.person.name}!" if row.person else "!"


def test_times_and_other_fields_are_shown_as_drf_shows_them() -> None:
    london = timezone.get_fixed_timezone(60)
    moments: list[Any] = [
        datetime(2025, 6, 1, 17, 30, tzinfo=UTC),
        datetime(2025, 1, 1, 9, 0, 5, 123456, tzinfo=fixed_zone(timedelta(hours=-3))),
        datetime(2025, 3, 30, 1, 30, tzinfo=london),
        datetime(1800, 1, 1, 12, 0, tzinfo=UTC),  # local mean time: an offset in seconds
        datetime(2025, 6, 1, 12, 0),  # naive: made aware, as DRF makes it
        "2025-06-01T12:00:00Z",
    ]
    rows = [
        SimpleNamespace(
            at=moment,
            aware=moment,
            stated=moment,
            kept=moment,
            person=SimpleNamespace(name="Ann") if n % 2 else None,
            counted=lambda n=n: n,
        )
        for n, moment in enumerate([*moments, None])
    ]
    for zone in ("UTC", "Europe/London", "Asia/Kolkata", "Australia/Lord_Howe"):
        with timezone.override(zone):
            quick = _Times(rows, many=True).data
            drf = [serializers.Serializer.to_representation(_Times(), row) for row in rows]
        _same(list(quick), drf)
    with timezone.override("Europe/London"):
        shown = _Times().to_representation(rows[3])
    assert shown["aware"] == "1800-01-01T12:00:00Z" and shown["at"].endswith("-00:01:15")
