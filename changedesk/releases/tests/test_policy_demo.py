"""The demo's release policy: version 2 in force with three windows to come, version 1
superseded, both published by peter; seeding again changes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine

from changedesk.accounts.choices import Role
from changedesk.accounts.services import set_membership
from changedesk.releases.demo import policy as demo
from changedesk.releases.models import ReleasePolicy
from changedesk.releases.services import policy as services

pytestmark = pytest.mark.django_db


def test_the_demo_policy(school, peter):
    set_membership(peter, school, [Role.PEER_REVIEWER, Role.RELEASE_MANAGER])
    with time_machine.travel(datetime(2026, 12, 3, 12, tzinfo=UTC), tick=False):
        demo.seed(school, {"peter": peter})
        demo.seed(school, {"peter": peter})
    versions = list(ReleasePolicy.objects.filter(school=school).order_by("version"))
    assert [(v.version, v.state) for v in versions] == [(1, "superseded"), (2, "published")]
    assert all(v.published_by == peter for v in versions)
    current = services.current(school)
    assert "Software is upgraded department by department, never the whole school at once." in (
        current.rule_list
    )
    shown = services.shown_windows(current, school)
    assert [(w["name"], w["first"], w["last"]) for w in shown] == [
        ("Easter holidays", date(2027, 3, 22), date(2027, 4, 2)),
        ("Summer holidays", date(2027, 7, 22), date(2027, 8, 31)),
        ("October half term", date(2027, 10, 25), date(2027, 10, 29)),
    ]
    assert [w.name for w in versions[0].windows.all()] == ["Summer holidays"]


def test_the_windows_come_from_today():
    # In May, Easter is over: next year's; the summer and October are this year's.
    rows = demo.windows_from(date(2027, 5, 1))
    assert [(w["name"], w["first_day"].year) for w in rows] == [
        ("Summer holidays", 2027),
        ("October half term", 2027),
        ("Easter holidays", 2028),
    ]
    assert demo.easter(2028) == date(2028, 4, 16)
