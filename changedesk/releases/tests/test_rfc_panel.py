"""The release panel on the RFC page: a release planned says when."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from changedesk.releases.services import releases as services
from changedesk.releases.tests.releases_factories import make_release

LONDON = ZoneInfo("Europe/London")


def test_the_rfc_page_says_when_its_release_is_planned(client, school, rachel, draft, fiona):
    release = make_release(
        school,
        rachel,
        "Autumn refresh",
        planned_start=datetime(2027, 8, 2, 9, tzinfo=LONDON),
        planned_end=datetime(2027, 8, 6, 17, tzinfo=LONDON),
    )
    services.add_change(release.pk, rachel, draft)
    client.force_login(fiona)
    text = client.get(draft.get_absolute_url()).content.decode()
    assert f'Part of release <a href="{release.get_absolute_url()}">Autumn refresh</a>' in text
    assert "planned from 2 Aug 2027 09:00 to 6 Aug 2027 17:00." in text
