"""The demo school's release management: a published policy with its windows, a library
with a piece out (and one overdue), licences (one over-allocated, one expiring), three build
procedures, installations and a summer release in progress. Each area seeds its own part,
in an order where each finds what it needs (by name): `seed` is called by `site.demo`."""

from __future__ import annotations

from changedesk.accounts.models import School, User
from changedesk.releases.demo import builds, library, licences, policy, releases


def seed(school: School, people: dict[str, User]) -> None:
    """Made once: each part looks for what it made before and leaves it as it is."""
    policy.seed(school, people)
    licences.seed(school, people)
    library.seed(school, people)
    builds.seed(school, people)
    releases.seed(school, people)
