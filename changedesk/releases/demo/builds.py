"""The demo's builds (see `releases.demo`)."""

from changedesk.accounts.models import School, User


def seed(school: School, people: dict[str, User]) -> None:
    return None
