"""The demo school has two standard change templates: the patch run, approved through the
RFC that proposed it, with this month's run raised from it; and a draft."""

from __future__ import annotations

import pytest

from changedesk.changes.models import Change
from changedesk.site.demo import LAMP, PATCH_RUN, build_demo
from changedesk.standard.models import Template

pytestmark = pytest.mark.django_db


def test_the_demo_has_an_approved_template_a_draft_and_a_standard_change():
    build_demo()
    build_demo()  # again: nothing new
    patch_run = Template.objects.get(title=PATCH_RUN["title"])
    assert patch_run.state == "approved" and patch_run.approved_digest == patch_run.digest()
    assert patch_run.proposal is not None and patch_run.proposal.state == "approved"
    raised = Change.objects.get(is_standard=True)
    assert raised.state == "approved" and raised.title == PATCH_RUN["title"]
    assert raised.events.filter(kind="raise_standard").count() == 1
    assert Template.objects.get(title=LAMP["title"]).state == "draft"
    assert Template.objects.count() == 2
