"""`changedesk demo`: the demo school (see `changedesk.site.demo`), and how to sign in."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.urls import NoReverseMatch, reverse

from changedesk.changes.models import Change
from changedesk.lib.management import base
from changedesk.lib.management.base import PROG
from changedesk.site.demo import SCHOOL_NAME, SCHOOL_SLUG, build_demo


class Command(base.Command):
    help = "build the demo school Greenfield Primary (idempotent)"
    description = (
        "Build the demo school, its people in every FITS role and an RFC in every state, and "
        "print the sign-ins. Running it again creates nothing new. The demo password is "
        "published: do not run this on a live instance."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        # `make run` builds the demo before `serve` migrates: a fresh machine has no tables yet.
        call_command("migrate", interactive=False, verbosity=0)
        # Served over HTTPS is what a live instance looks like (`make run` serves plain HTTP).
        if settings.SESSION_COOKIE_SECURE:
            self.stderr.write(
                f"{PROG}: warning: the demo password is published; "
                "remove the demo people before going live.",
                self.style.WARNING,
            )
        sign_ins = build_demo()
        count = Change.objects.filter(school__slug=SCHOOL_SLUG).count()
        self.stdout.write(f"Demo school: {SCHOOL_NAME} ({SCHOOL_SLUG}), {count} RFCs.")
        self.stdout.write(f"Sign in at {_login_url()} as any of:")
        width = max(len(username) for username, _, _ in sign_ins)
        for username, password, roles in sign_ins:
            self.stdout.write(f"  {username:<{width}}  password {password}  ({roles})")


def _login_url() -> str:
    try:
        path = reverse("accounts:login")
    except NoReverseMatch:
        path = "/"
    return f"{settings.SITE_URL}{path}"
