"""The demo's library: eight pieces, one out with olivia, one overdue with ivan, one back,
linked to the licence log by product; made once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from changedesk.accounts.choices import Role
from changedesk.accounts.services import set_membership
from changedesk.releases.demo import library
from changedesk.releases.models import Checkout, Licence, Software
from changedesk.releases.services import library as services

pytestmark = pytest.mark.django_db


def test_the_demo_library(school, peter, olivia, ivan):
    set_membership(peter, school, [Role.PEER_REVIEWER, Role.RELEASE_MANAGER])
    office = Licence.objects.create(school=school, product="Microsoft Office LTSC 2024")
    people = {"peter": peter, "olivia": olivia, "ivan": ivan}
    library.seed(school, people)
    library.seed(school, people)  # made once
    assert Software.objects.filter(school=school).count() == 8
    assert Software.objects.get(title__startswith="Microsoft Office").licence == office
    assert Software.objects.get(title="Scratch Desktop").checksum.startswith("sha256:")
    today = services.today_in(school)
    out = {c.taken_by.username: c for c in Checkout.objects.out()}
    assert set(out) == {"olivia", "ivan"}
    assert out["olivia"].due_back == today + timedelta(days=7) and out["olivia"].purpose
    assert out["ivan"].due_back == today - timedelta(days=3)
    back = Checkout.objects.get(returned_at__isnull=False)
    assert back.taken_by == olivia and back.returned_at < back.taken_at + timedelta(days=7)
